#!/usr/bin/env python3
"""{{TITLE}}

Written by `pretext export-torch` from the run in {{RUN_DIR}}: the same recipe (encoder,
objective, views, AdamW with warm-up then cosine, batch size, seed) as a PyTorch Lightning
program that trains on one CPU, one GPU, or many GPUs over many machines (DDP).

    python train.py --max-steps 200                              # one process
    python train.py --accelerator cpu --devices 2 --strategy ddp # two processes (gloo)
    torchrun --nnodes 2 --nproc-per-node 8 ... train.py --accelerator gpu --devices 8 --num-nodes 2

It writes, under --out: checkpoints/*.ckpt (Lightning), backbone.safetensors (the encoder in
its architecture's own names), knn.json (pretext's kNN protocol) and run/, a pretext run
folder: `pretext --run OUT/run` explores the embedding space this program learned.
"""
import argparse
import json
import math
import os

import lightning as L
import torch
from safetensors.torch import load_file

from data import Splits, TrainingItems
from evaluate import evaluate
from models import SslNet
from objectives import build_objective
from takeback import write_backbone, write_pretext_run

HERE = os.path.dirname(os.path.abspath(__file__))
SPLIT_DIR = os.path.join(HERE, "split")

# Every setting of the pretext run, flattened ("augment.crop_min_scale"). README.md lists the
# ones this program does not reproduce and why.
RECIPE = {{RECIPE}}

# The data the run was trained on, as pretext read it.
DATASET = {{DATASET}}

# Steps the run had trained when it was exported (the default length when it trained for a
# time budget instead of epochs).
RUN_STEPS = {{RUN_STEPS}}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=DATASET["source"], help="the dataset (default: where the run read it)")
    p.add_argument("--out", default="outputs", help="folder for checkpoints, weights, embeddings")
    p.add_argument("--accelerator", choices=["cpu", "gpu", "auto"], default="auto")
    p.add_argument("--devices", type=int, default=1, help="processes per machine (GPUs, or CPU processes)")
    p.add_argument("--num-nodes", type=int, default=1, help="machines")
    p.add_argument("--strategy", default=None, help="Lightning strategy (default: ddp for more than one process)")
    p.add_argument("--batch-size-per-device", type=int, default=None,
                   help="items per process and step (default: the run's batch split over the processes); "
                        "the learning rate scales with the global batch")
    p.add_argument("--max-steps", type=int, default=None, help="steps (default: the run's epochs at this global batch)")
    p.add_argument("--checkpoint-every", type=int, default=500, help="write a Lightning checkpoint every N steps")
    p.add_argument("--start", default=os.path.join(HERE, "weights", "start.safetensors"),
                   help="weights to start from, in pretext's names ('none': PyTorch's own initialisation)")
    p.add_argument("--workers", type=int, default=None, help="data loader workers per process (default: 0 on CPU, 4 on GPU)")
    p.add_argument("--precision", default="32-true", help="Lightning precision (pretext trains in float32)")
    p.add_argument("--no-sync-batchnorm", action="store_true", help="per-process BatchNorm statistics under DDP on GPUs (CPU processes always keep their own)")
    p.add_argument("--no-eval", action="store_true", help="skip the kNN evaluation at the end")
    return p.parse_args()


def warmup_cosine(total_steps):
    """pretext's schedule: linear warm-up over a tenth of the steps (1 to 100), then cosine
    decay over the whole phase (the cosine's clock starts at step 0, as pretext's does)."""
    warmup = min(max(total_steps // 10, 1), 100)

    def factor(done):
        if done < warmup:
            return (done + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(done / total_steps, 1.0)))

    return factor


class PretextModule(L.LightningModule):
    def __init__(self, net, objective, lr, total_steps):
        super().__init__()
        self.net = net
        self.objective = objective
        self.lr = lr
        self.total_steps = total_steps
        self.losses = []

    def training_step(self, batch, _):
        loss = self.objective.loss(self.net, batch)
        self.losses.append((self.global_step + 1, loss.item()))
        self.log("loss", loss, prog_bar=True)
        return loss

    def on_train_batch_end(self, *_):
        if hasattr(self.objective, "after_step"):
            self.objective.after_step(self.net, self.global_step - 1)

    def configure_optimizers(self):
        params = [p for p in self.net.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=RECIPE["weight_decay"])
        sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(self.total_steps))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def load_start(net, path):
    """pretext-named weights into the net: every tensor of each part must fit."""
    tensors = load_file(path)
    for part in ("encoder", "head", "predictor"):
        sub = getattr(net, part, None)
        if sub is None:
            continue
        mine = {k[len(part) + 1:]: v for k, v in tensors.items() if k.startswith(part + ".")}
        missing, unexpected = sub.load_state_dict(mine, strict=False)
        missing = [m for m in missing if not m.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise SystemExit(f"{path} does not fit the {part}: missing {missing[:4]}, unexpected {unexpected[:4]}")


def freeze(net, stages):
    prefixes = [p for stage in net.stage_prefixes()[:stages] for p in stage]
    for name, p in net.encoder.named_parameters():
        if any(name.startswith(x) for x in prefixes):
            p.requires_grad_(False)


def main():
    args = parse_args()
    L.seed_everything(RECIPE["seed"], workers=True)
    accelerator = args.accelerator if args.accelerator != "auto" else ("gpu" if torch.cuda.is_available() else "cpu")
    world = args.devices * args.num_nodes
    if accelerator == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // args.devices))
    splits = Splits(args.data, DATASET, SPLIT_DIR)
    run_batch = min(RECIPE["batch_size"], len(splits.train))
    per_device = args.batch_size_per_device or max(2, run_batch // world)
    global_batch = per_device * world
    per_epoch = max(len(splits.train) // global_batch, 1)
    total = args.max_steps or (math.ceil(RECIPE["epochs"] * per_epoch) if RECIPE["epochs"] > 0 else RUN_STEPS)
    # Linear scaling rule: the run's peak learning rate at the run's batch, scaled by the global batch.
    lr = RECIPE["learning_rate"] * global_batch / run_batch

    net = SslNet(RECIPE, DATASET, predictor=RECIPE["objective"] == "byol")
    if args.start != "none" and os.path.isfile(args.start):
        load_start(net, args.start)
    if RECIPE["freeze"]:
        freeze(net, RECIPE["freeze"])
    objective = build_objective(RECIPE, net, total)
    teacher_start = os.path.join(os.path.dirname(args.start), "teacher.safetensors")
    if hasattr(objective, "teacher") and args.start != "none" and os.path.isfile(teacher_start):
        load_start(objective.teacher.net, teacher_start)
    module = PretextModule(net, objective, lr, total)

    workers = args.workers if args.workers is not None else (0 if accelerator == "cpu" else 4)
    loader = torch.utils.data.DataLoader(
        TrainingItems(splits, RECIPE, RECIPE["objective"]), batch_size=per_device, shuffle=True, drop_last=True,
        num_workers=workers, persistent_workers=workers > 0, generator=torch.Generator().manual_seed(RECIPE["seed"]))
    os.makedirs(args.out, exist_ok=True)
    checkpoints = L.pytorch.callbacks.ModelCheckpoint(
        dirpath=os.path.join(args.out, "checkpoints"), filename="step-{step:06d}", auto_insert_metric_name=False,
        every_n_train_steps=args.checkpoint_every,
        save_top_k=-1, save_last=True)
    strategy = args.strategy or ("ddp" if world > 1 else "auto")
    trainer = L.Trainer(accelerator=accelerator, devices=args.devices, num_nodes=args.num_nodes, strategy=strategy,
                        max_steps=total, max_epochs=-1, precision=args.precision, callbacks=[checkpoints],
                        # PyTorch's SyncBatchNorm runs on GPUs only: CPU processes keep their own statistics.
                        sync_batchnorm=world > 1 and accelerator == "gpu" and not args.no_sync_batchnorm, logger=False,
                        enable_model_summary=False, use_distributed_sampler=True)
    if trainer.is_global_zero:
        print(f"{RECIPE['objective']} with the {RECIPE['encoder']} encoder: {total} steps, {world} process(es) x "
              f"{per_device} items = global batch {global_batch}, peak lr {lr:.3g}")
    trainer.fit(module, loader)
    if not trainer.is_global_zero:
        return
    device = torch.device("cuda" if accelerator == "gpu" else "cpu")
    net = module.net.to(device)
    write_backbone(net, os.path.join(args.out, "backbone.safetensors"))
    with open(os.path.join(args.out, "losses.csv"), "w") as f:
        f.write("step,loss\n" + "".join(f"{s},{l}\n" for s, l in module.losses))
    teacher = getattr(objective, "teacher", None)
    with open(os.path.join(HERE, "pretext_run.json")) as f:
        run_config = json.load(f)
    write_pretext_run(os.path.join(args.out, "run"), net, teacher.net if teacher is not None else None, splits,
                      run_config, args.data, trainer.global_step, module.losses, SPLIT_DIR, device)
    if not args.no_eval:
        result = evaluate(net, splits, SPLIT_DIR, device)
        if result is not None:
            result["step"] = trainer.global_step
            with open(os.path.join(args.out, "knn.json"), "w") as f:
                json.dump(result, f, indent=2)
            print(f"kNN accuracy (pretext's protocol: k = 20, cosine, exp(sim / 0.07) votes; "
                  f"{result['train_items']} train, {result['test_items']} test items): {result['knn_accuracy']:.4f}")
    print(f"written to {args.out}: checkpoints/, backbone.safetensors, run/ (pretext --run {os.path.join(args.out, 'run')})")


if __name__ == "__main__":
    main()
