"""The PyTorch round trip of `pretext export-torch`, measured on the bundled Fashion-MNIST sample.

1. DDP: a run exported, its project trained by two CPU processes under Lightning's DDP (gloo)
   for a fixed number of steps; the Lightning checkpoint opened by `pretext embed --init`; the
   kNN accuracy pretext measures of it against the one the project printed (goal: within 0.002).
   The backbone safetensors and the run folder the project wrote are opened by pretext too
   (`pretext embed --init`, `pretext eval`, `pretext train --init`).
2. Same recipe, same start: for SimCLR, VICReg and BYOL, `pretext train` for a few epochs, then
   the run exported with --from-start (its seeded step-0 weights) and the project trained for
   the same steps in one process; both kNN accuracies (goal: within 0.01) and both loss curves
   (assets/torch_roundtrip_loss.png).

Usage (from the repository root, after `cargo build --release`):
    bench/.venv/bin/python bench/torch_roundtrip.py [--epochs 3] [--ddp-steps 60] [--work /tmp/torch_roundtrip]
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRETEXT = os.path.join(ROOT, "target", "release", "pretext")
SAMPLE = os.path.join(ROOT, "sample_data", "fashion-mnist")
PYTHON = sys.executable


def run(cmd, cwd=None):
    print("$", " ".join(cmd), flush=True)
    started = time.time()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-4000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return done.stdout, time.time() - started


def json_of(stdout):
    """The JSON object pretext prints with --json (on stdout)."""
    return json.loads(stdout[stdout.index("{"):stdout.rindex("}") + 1])


def pretext_eval_json(run_dir):
    out, _ = run([PRETEXT, "eval", "--run", run_dir, "--json"])
    return json_of(out)


def ddp_roundtrip(work, steps):
    base = os.path.join(work, "ddp-base")
    run([PRETEXT, "embed", "--data", SAMPLE, "--out", base])
    project = os.path.join(work, "ddp-project")
    run([PRETEXT, "export-torch", base, "--out", project, "--force"])
    out_dir = os.path.join(work, "ddp-out")
    shutil.rmtree(out_dir, ignore_errors=True)
    log, seconds = run([PYTHON, "train.py", "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp",
                        "--max-steps", str(steps), "--checkpoint-every", str(steps), "--out", out_dir], cwd=project)
    printed = json.load(open(os.path.join(out_dir, "knn.json")))["knn_accuracy"]
    results = {"steps": steps, "processes": 2, "train_seconds": round(seconds, 1), "project_knn": printed}
    for name, init in [("ckpt", os.path.join(out_dir, "checkpoints", "last.ckpt")),
                       ("safetensors", os.path.join(out_dir, "backbone.safetensors"))]:
        taken, _ = run([PRETEXT, "embed", "--data", SAMPLE, "--init", init, "--out", os.path.join(work, f"taken-{name}"), "--json"])
        results[f"pretext_knn_{name}"] = json_of(taken)["knn_accuracy"]
    results["pretext_knn_run_folder"] = pretext_eval_json(os.path.join(out_dir, "run"))["knn_accuracy"]
    # Continue in pretext from the cluster's checkpoint (a few steps).
    run([PRETEXT, "train", "--data", SAMPLE, "--init", os.path.join(out_dir, "checkpoints", "last.ckpt"),
         "--epochs", "0.1", "--out", os.path.join(work, "continued")])
    results["pretext_train_init_ckpt"] = "ok"
    return results


def same_start(work, objective, epochs):
    pre = os.path.join(work, f"pretext-{objective}")
    _, pretext_seconds = run([PRETEXT, "train", "--data", SAMPLE, "--objective", objective, "--epochs", str(epochs),
                              "--eval-every", "100000", "--out", pre])
    project = os.path.join(work, f"project-{objective}")
    run([PRETEXT, "export-torch", pre, "--out", project, "--force", "--from-start"])
    out_dir = os.path.join(work, f"out-{objective}")
    shutil.rmtree(out_dir, ignore_errors=True)
    _, torch_seconds = run([PYTHON, "train.py", "--accelerator", "cpu", "--devices", "1", "--out", out_dir,
                            "--checkpoint-every", "100000"], cwd=project)
    ours = json.load(open(os.path.join(pre, "evaluation.json")))
    theirs = json.load(open(os.path.join(out_dir, "knn.json")))
    pretext_losses = json.load(open(os.path.join(pre, "metrics.json")))["losses"]
    with open(os.path.join(out_dir, "losses.csv")) as f:
        torch_losses = [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(f)]
    return {"objective": objective, "steps": theirs["step"], "pretext_knn": ours["knn_accuracy"], "project_knn": theirs["knn_accuracy"],
            "pretext_seconds": round(pretext_seconds, 1), "project_seconds": round(torch_seconds, 1),
            "pretext_losses": pretext_losses, "project_losses": torch_losses}


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.4))
    for ax, r in zip(axes, rows):
        ax.plot(*zip(*r["pretext_losses"]), label=f"pretext (kNN {r['pretext_knn']:.3f})", lw=1.2)
        ax.plot(*zip(*r["project_losses"]), label=f"PyTorch project (kNN {r['project_knn']:.3f})", lw=1.2, alpha=0.8)
        ax.set_title(f"{r['objective']}: same start, {r['steps']} steps")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=float, default=3.0, help="epochs of each same-start comparison (31 steps each)")
    p.add_argument("--ddp-steps", type=int, default=60)
    p.add_argument("--objectives", default="simclr,vicreg,byol")
    p.add_argument("--work", default="/tmp/torch_roundtrip")
    p.add_argument("--skip-ddp", action="store_true")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    started = time.time()
    report = {}
    if not args.skip_ddp:
        report["ddp"] = ddp_roundtrip(args.work, args.ddp_steps)
        d = report["ddp"]
        print(f"\nDDP (2 CPU processes, gloo), {d['steps']} steps in {d['train_seconds']} s: project kNN {d['project_knn']:.4f}; "
              f"pretext kNN of its .ckpt {d['pretext_knn_ckpt']:.4f}, of backbone.safetensors {d['pretext_knn_safetensors']:.4f}, "
              f"of its run folder {d['pretext_knn_run_folder']:.4f}", flush=True)
    rows = [same_start(args.work, o, args.epochs) for o in args.objectives.split(",")]
    report["same_start"] = [{k: v for k, v in r.items() if not k.endswith("_losses")} for r in rows]
    print("\n| objective | steps | pretext kNN | project kNN | difference | pretext s | project s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['objective']} | {r['steps']} | {r['pretext_knn']:.4f} | {r['project_knn']:.4f} | "
              f"{abs(r['pretext_knn'] - r['project_knn']):.4f} | {r['pretext_seconds']} | {r['project_seconds']} |")
    plot(rows, os.path.join(ROOT, "assets", "torch_roundtrip_loss.png"))
    report["seconds"] = round(time.time() - started, 1)
    with open(os.path.join(args.work, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"\nwhole bench: {report['seconds']} s; report in {os.path.join(args.work, 'report.json')}")


if __name__ == "__main__":
    main()
