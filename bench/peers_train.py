#!/usr/bin/env python3
"""PyTorch CPU reference for `pretext bench train`.

Builds the same models as src/bench/train.rs (the plain reference CNN and MLP encoder, each with
the 128->128->64 projector), trains them with SimCLR NT-Xent and AdamW at the same batch size
and thread count, and prints images/s (each view counts as one image) and peak memory.

torch is installed into bench/.venv on first use (PyPI by package name). When that is not
possible the script prints "skipped: <reason>" and exits 0, so the Rust benchmark still runs.

    python3 bench/peers_train.py [--json] [--steps 20] [--warmup 3] [--batch 256] [--threads 2]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def skipped(reason, as_json):
    if as_json:
        print(json.dumps({"skipped": reason}))
    else:
        print(f"skipped: {reason}")
    sys.exit(0)


def ensure_torch(as_json):
    """Re-run this script under the venv's interpreter, creating it and installing torch first."""
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        return
    if not os.path.exists(VENV_PY):
        log(f"creating {VENV} and installing torch from PyPI (one time, large download)...")
        r = subprocess.run([sys.executable, "-m", "venv", VENV], stdout=sys.stderr)
        if r.returncode != 0:
            skipped("could not create a virtualenv (python3 -m venv failed)", as_json)
    check = subprocess.run([VENV_PY, "-c", "import torch"], capture_output=True)
    if check.returncode != 0:
        r = subprocess.run([VENV_PY, "-m", "pip", "install", "--quiet", "torch", "numpy"], stdout=sys.stderr)
        if r.returncode != 0:
            skipped("pip could not install torch into bench/.venv", as_json)
    os.execv(VENV_PY, [VENV_PY, os.path.abspath(__file__)] + sys.argv[1:])


def vm_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run_one(model_name, args):
    """One model in this (fresh) process, so its peak RSS is its own."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    def bn_mlp(sizes):
        # Linear -> BatchNorm -> ReLU hidden layers, linear output (ssl::encoder::Mlp).
        layers = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
        return layers + [nn.Linear(sizes[-2], sizes[-1])]

    joint = False  # both views in one forward pass (what the project's trainer does)
    if model_name == "cnn":
        # The plain reference CNN: conv 1->32->64->128, 3x3, pad 1, ReLU, 2x2 max-pool after each.
        encoder = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1152, 128),
        )
        projector = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64))
        shape = (args.batch, 1, 28, 28)
    elif model_name == "mlp":
        encoder = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 128),
        )
        projector = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64))
        shape = (args.batch, 784)
    elif model_name == "cnn-bn":
        # The project's default image model (ssl::encoder): conv (no bias) -> BN -> ReLU ->
        # 2x2 max-pool, widths 32/64/128, flattened 1152-d embedding, head 1152->512->128.
        blocks = []
        for c, o in [(1, 32), (32, 64), (64, 128)]:
            blocks += [nn.Conv2d(c, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]
        encoder = nn.Sequential(*blocks, nn.Flatten())
        projector = nn.Sequential(*bn_mlp([1152, 512, 128]))
        shape, joint = (args.batch, 1, 28, 28), True
    elif model_name == "mlp-bn":
        # The project's table model on 784 columns: 784->256->256->128, head 128->256->128.
        encoder = nn.Sequential(*bn_mlp([784, 256, 256, 128]))
        projector = nn.Sequential(*bn_mlp([128, 256, 128]))
        shape, joint = (args.batch, 784), True
    else:
        raise SystemExit(f"unknown model {model_name}")
    model = nn.Sequential(encoder, projector)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)

    def nt_xent(z1, z2, tau=0.5):
        # Chen et al. 2020 (SimCLR): each view's positive is the other view of the same item.
        z = F.normalize(torch.cat([z1, z2]), dim=1)
        n = z1.shape[0]
        sim = z @ z.t() / tau
        sim.fill_diagonal_(float("-inf"))
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        return F.cross_entropy(sim, target)

    g = torch.Generator().manual_seed(1)
    views = [(torch.rand(shape, generator=g), torch.rand(shape, generator=g)) for _ in range(4)]
    rss_before = vm_kib("VmRSS")
    import resource

    def step(i):
        x1, x2 = views[i % len(views)]
        if joint:
            z = model(torch.cat([x1, x2]))
            loss = nt_xent(z[: args.batch], z[args.batch :])
        else:
            loss = nt_xent(model(x1), model(x2))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(args.warmup):
        step(i)
    def cpu():
        u = resource.getrusage(resource.RUSAGE_SELF)
        return u.ru_utime + u.ru_stime

    t0, c0 = time.perf_counter(), cpu()
    for i in range(args.steps):
        loss = step(i)
    secs, cpu_secs = time.perf_counter() - t0, cpu() - c0
    return {
        "model": model_name,
        "images_per_s": 2 * args.batch * args.steps / secs,
        "step_ms": 1000 * secs / args.steps,
        "cpu_ms": 1000 * cpu_secs / args.steps,
        "peak_rss_mib": vm_kib("VmHWM") / 1024,
        "baseline_rss_mib": rss_before / 1024,
        "final_loss": loss,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", default="cnn,mlp,cnn-bn,mlp-bn", help="comma-separated: cnn, mlp, cnn-bn, mlp-bn")
    p.add_argument("--only", help=argparse.SUPPRESS)  # internal: run one model in this process
    args = p.parse_args()

    if args.only:
        print(json.dumps(run_one(args.only, args)))
        return
    ensure_torch(args.json)
    import torch

    results = []
    for m in args.models.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--only", m, "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--batch", str(args.batch), "--threads", str(args.threads)]
        # PyTorch's OpenMP threads spin while waiting by default: fastest on an idle machine,
        # but on a shared one the spinning starves the other threads (measured 5x slower
        # under load). Each model runs with both wait policies and the faster one counts,
        # so the reference is never understated.
        best = None
        for policy in [None, "PASSIVE"]:
            env = dict(os.environ)
            if policy:
                env["OMP_WAIT_POLICY"] = policy
            r = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if r.returncode != 0:
                skipped(f"torch run of {m} failed: {r.stderr.strip().splitlines()[-1:]}", args.json)
            row = json.loads(r.stdout.strip().splitlines()[-1])
            row["omp_wait_policy"] = policy or env.get("OMP_WAIT_POLICY", "default")
            if best is None or row["images_per_s"] > best["images_per_s"]:
                best = row
        results.append(best)
    out = {"torch": torch.__version__, "threads": args.threads, "batch": args.batch, "results": results}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"PyTorch {out['torch']} CPU, {args.threads} threads, batch {args.batch} (x2 views)")
        print(f"{'model':<7} {'images/s':>10} {'ms/step':>9} {'cpu ms':>8} {'peak MiB':>9} {'base MiB':>9}  OMP wait")
        for r in results:
            print(f"{r['model']:<7} {r['images_per_s']:>10.0f} {r['step_ms']:>9.1f} {r['cpu_ms']:>8.0f} "
                  f"{r['peak_rss_mib']:>9.0f} {r['baseline_rss_mib']:>9.0f}  {r['omp_wait_policy']}")


if __name__ == "__main__":
    main()
