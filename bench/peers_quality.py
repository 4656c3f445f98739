#!/usr/bin/env python3
"""PyTorch quality reference for `pretext bench quality`: SimCLR on Fashion-MNIST for a fixed
number of minutes with pretext's default image recipe, then the same kNN evaluation.

The recipe, matching pretext's defaults (src/ssl/config.rs, src/data/augment.rs):
- encoder: three blocks of 3x3 conv (no bias) -> BatchNorm -> ReLU -> 2x2 max-pool, widths
  32/64/128; the embedding is the flattened 1,152-d output; head 1152 -> 512 (BN, ReLU) -> 128;
  both views go through the model in one batch (BatchNorm sees 2 x 256 images);
- init: PyTorch's defaults (pretext redraws its weights from the same distributions);
- views: random resized crop with side scale in [0.4, 1] and log-uniform aspect ratio in
  [3/4, 4/3], bilinear, edges clamped; horizontal flip p=0.5; brightness +-0.4 and contrast
  x[0.6, 1.4] around the image mean; Gaussian noise sigma 0.05; clamped to [0, 1];
- loss: NT-Xent, temperature 0.5, batch 256, each epoch a fresh permutation, last partial
  batch dropped;
- AdamW lr 2e-3, weight decay 1e-4; linear warm-up over 100 steps, then cosine decay over the
  time budget (progress = elapsed / budget), as pretext's trainer does with --minutes;
- evaluation: weighted kNN (k=20, T=0.07, cosine, DINO's vote) of the 10,000 test images
  against the 60,000 train images, on the backbone embedding in eval mode.

The clock starts after the data is loaded and the model built, and counts training steps only.

    python3 bench/peers_quality.py --minutes 10 [--threads 2] [--data DIR] [--json]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmnist import read_idx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")


def skipped(reason, as_json):
    print(json.dumps({"skipped": reason}) if as_json else f"skipped: {reason}")
    sys.exit(0)


def ensure_torch(as_json):
    """Re-run under bench/.venv, creating it and installing torch and numpy first."""
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        return
    if not os.path.exists(VENV_PY):
        print(f"creating {VENV} and installing torch (one time, large download)...", file=sys.stderr)
        if subprocess.run([sys.executable, "-m", "venv", VENV], stdout=sys.stderr).returncode != 0:
            skipped("could not create a virtualenv", as_json)
    if subprocess.run([VENV_PY, "-c", "import torch, numpy"], capture_output=True).returncode != 0:
        if subprocess.run([VENV_PY, "-m", "pip", "install", "--quiet", "torch", "numpy"], stdout=sys.stderr).returncode != 0:
            skipped("pip could not install torch into bench/.venv", as_json)
    os.execv(VENV_PY, [VENV_PY, os.path.abspath(__file__)] + sys.argv[1:])


def views(x, g, torch, F):
    """One augmented view of each image in x (n x 1 x 28 x 28, values in [0, 1])."""
    n = x.shape[0]
    scale = 0.4 + 0.6 * torch.rand(n, generator=g)
    log_ratio = math.log(0.75) + (math.log(4 / 3) - math.log(0.75)) * torch.rand(n, generator=g)
    ratio = torch.exp(log_ratio).sqrt()
    sx = (scale * ratio).clamp(max=1.0)  # crop width / image width
    sy = (scale / ratio).clamp(max=1.0)
    x0 = (1 - sx) * torch.rand(n, generator=g)  # crop origin as a fraction of the side
    y0 = (1 - sy) * torch.rand(n, generator=g)
    flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    # grid_sample (align_corners=False) reads normalised x_in = sx * u + (sx + 2 x0 - 1) for an
    # output at normalised u; a flip mirrors u. Border padding clamps like pretext's sampler.
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = sx * flip
    theta[:, 0, 2] = sx + 2 * x0 - 1
    theta[:, 1, 1] = sy
    theta[:, 1, 2] = sy + 2 * y0 - 1
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    brightness = (torch.rand(n, 1, 1, 1, generator=g) * 2 - 1) * 0.4
    contrast = 0.6 + 0.8 * torch.rand(n, 1, 1, 1, generator=g)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * contrast + mean + brightness + 0.05 * torch.randn(out.shape, generator=g)
    return out.clamp(0.0, 1.0)


def build_model(nn):
    blocks = []
    for c, o in [(1, 32), (32, 64), (64, 128)]:
        blocks += [nn.Conv2d(c, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]
    encoder = nn.Sequential(*blocks, nn.Flatten())
    head = nn.Sequential(nn.Linear(1152, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 128))
    return encoder, head


def knn_accuracy(train, train_labels, test, test_labels, torch, k=20, temperature=0.07):
    train = torch.nn.functional.normalize(train, dim=1)
    test = torch.nn.functional.normalize(test, dim=1)
    classes = int(train_labels.max()) + 1
    hits = 0
    for start in range(0, test.shape[0], 1000):
        sim = test[start:start + 1000] @ train.t()
        top, idx = sim.topk(k, dim=1)
        votes = torch.zeros(top.shape[0], classes, dtype=torch.float64)
        votes.scatter_add_(1, train_labels[idx], torch.exp(top.double() / temperature))
        hits += int((votes.argmax(dim=1) == test_labels[start:start + 1000]).sum())
    return hits / test.shape[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    ensure_torch(args.json)
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    load = lambda name: read_idx(os.path.join(args.data, name))
    x_train = torch.from_numpy(load("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0).unsqueeze(1)
    y_train = torch.from_numpy(load("train-labels-idx1-ubyte.gz").astype(np.int64))
    x_test = torch.from_numpy(load("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0).unsqueeze(1)
    y_test = torch.from_numpy(load("t10k-labels-idx1-ubyte.gz").astype(np.int64))

    encoder, head = build_model(nn)
    params = list(encoder.parameters()) + list(head.parameters())
    base_lr, warmup, tau = 2e-3, 100, 0.5
    opt = torch.optim.AdamW(params, lr=base_lr, weight_decay=1e-4)
    budget = args.minutes * 60.0
    n, batch = x_train.shape[0], args.batch
    per_epoch = n // batch
    target = torch.cat([torch.arange(batch, 2 * batch), torch.arange(0, batch)])
    encoder.train()
    head.train()
    step, order, started = 0, None, time.perf_counter()
    while True:
        elapsed = time.perf_counter() - started
        if elapsed >= budget:
            break
        if step % per_epoch == 0:
            order = torch.randperm(n, generator=g)
        items = order[(step % per_epoch) * batch:(step % per_epoch + 1) * batch]
        x = x_train[items]
        both = torch.cat([views(x, g, torch, F), views(x, g, torch, F)])
        lr = base_lr * ((step + 1) / warmup if step < warmup else 0.5 * (1 + math.cos(math.pi * min(elapsed / budget, 1.0))))
        for group in opt.param_groups:
            group["lr"] = lr
        z = F.normalize(head(encoder(both)), dim=1)
        sim = z @ z.t() / tau
        sim.fill_diagonal_(float("-inf"))
        loss = F.cross_entropy(sim, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
    train_seconds = time.perf_counter() - started

    encoder.eval()
    with torch.no_grad():
        embed = lambda x: torch.cat([encoder(x[i:i + 1000]) for i in range(0, x.shape[0], 1000)])
        acc = knn_accuracy(embed(x_train), y_train, embed(x_test), y_test, torch)
    out = {"torch": torch.__version__, "threads": args.threads, "minutes": args.minutes, "steps": step,
           "train_seconds": train_seconds, "knn_accuracy": acc, "final_loss": loss.item()}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"PyTorch {out['torch']}, {args.threads} threads: {step} steps in {train_seconds:.0f} s, "
              f"kNN accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
