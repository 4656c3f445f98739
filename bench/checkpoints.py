"""Checkpoint parity with PyTorch: every backbone pretext ports, in every layout it reads.

For each architecture, a model with seeded random weights (BatchNorm running statistics
randomised too, so eval-mode BatchNorm is exercised) is saved by PyTorch in each layout:
a bare torchvision/timm state dict (.pth), safetensors, a Lightning .ckpt as lightly and
solo-learn write it (weights under `state_dict`, the backbone under `backbone.`, a projection
head and a momentum copy beside it), and DataParallel's `module.` prefix (.pt). pretext
embeds the same float32 inputs from each file (examples/checkpoint_parity.rs) and the
embeddings are compared with PyTorch's: max |diff| / max |value| must stay under 1e-4.
pretext then writes the weights back (the example's export, `pretext export-weights`' code
path); PyTorch loads them with load_state_dict(strict=True) and must reproduce its embeddings.

    bench/.venv/bin/python bench/checkpoints.py   # after cargo build --release --examples
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import timm
import torchvision
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "target", "release", "examples", "checkpoint_parity")
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
TOLERANCE = 1e-4


def randomise(model, seed):
    """Random normalisation layers on top of PyTorch's own (seeded) initialisation."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
                m.num_batches_tracked.fill_(7)
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
    return model.eval()


def resnet(depth, cifar):
    model = {18: torchvision.models.resnet18, 50: torchvision.models.resnet50}[depth]()
    if cifar:
        model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        model.maxpool = nn.Identity()
    model.fc = nn.Identity()
    return model


def vit(name, side, patch, pool):
    return timm.create_model(name, pretrained=False, num_classes=0, img_size=side, patch_size=patch, global_pool=pool)


# (pretext encoder, builder, channels of pretext's input, side, patch, pool)
CASES = [
    ("resnet18", lambda: resnet(18, False), 3, 64, None, None),
    ("resnet18", lambda: resnet(18, False), 3, 224, None, None),  # the ImageNet checkpoints' size
    ("resnet50", lambda: resnet(50, False), 3, 64, None, None),
    ("resnet18-cifar", lambda: resnet(18, True), 3, 32, None, None),
    ("resnet18-cifar", lambda: resnet(18, True), 1, 28, None, None),  # grey input, repeated to RGB
    ("resnet50-cifar", lambda: resnet(50, True), 3, 32, None, None),
    ("vit-tiny", lambda: vit("vit_tiny_patch16_224", 32, 4, "token"), 3, 32, 4, "cls"),
    ("vit-tiny", lambda: vit("vit_tiny_patch16_224", 32, 4, "avg"), 3, 32, 4, "mean"),
    ("vit-tiny", lambda: vit("vit_tiny_patch16_224", 224, 16, "token"), 3, 224, 16, "cls"),
    ("vit-small", lambda: vit("vit_small_patch16_224", 64, 8, "token"), 3, 64, 8, "cls"),
]


def layouts(state, tmp, tag):
    """The files PyTorch users write, each holding `state` in its own layout."""
    files = []
    path = os.path.join(tmp, f"{tag}.pth")
    torch.save(state, path)
    files.append(("state dict .pth", path))
    path = os.path.join(tmp, f"{tag}.safetensors")
    save_file({k: v.contiguous() for k, v in state.items()}, path)
    files.append(("safetensors", path))
    head = {"projection_head.layers.0.weight": torch.randn(8, 4), "projection_head.layers.0.bias": torch.randn(8)}
    lightning = {"state_dict": {**{f"backbone.{k}": v for k, v in state.items()}, **head}, "epoch": 3, "global_step": 120}
    path = os.path.join(tmp, f"{tag}-lightly.ckpt")
    torch.save(lightning, path)
    files.append(("Lightning .ckpt, backbone. (lightly)", path))
    solo = {"state_dict": {**{f"backbone.{k}": v for k, v in state.items()}, **{f"momentum_backbone.{k}": v + 1 for k, v in state.items() if v.is_floating_point()}}}
    path = os.path.join(tmp, f"{tag}-solo.ckpt")
    torch.save(solo, path)
    files.append(("Lightning .ckpt + momentum copy (solo-learn)", path))
    path = os.path.join(tmp, f"{tag}-dp.pt")
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    files.append(("DataParallel module. .pt", path))
    return files


def pretext_embed(encoder, ckpt, x, channels, side, patch, pool, tmp):
    inp, out = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    np.save(inp, x.reshape(x.shape[0], -1).astype(np.float32))
    cmd = [EXAMPLE, encoder, ckpt, inp, str(channels), str(side), str(side), out]
    if patch:
        cmd += [str(patch), pool]
    subprocess.run(cmd, check=True, capture_output=True)
    return np.load(out)


def relative(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def main():
    if not os.path.exists(EXAMPLE):
        sys.exit("build the example first: cargo build --release --examples")
    torch.manual_seed(0)
    torch.set_num_threads(2)
    rows = []
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (encoder, build, channels, side, patch, pool) in enumerate(CASES):
            torch.manual_seed(100 + i)
            model = randomise(build(), seed=100 + i)
            x = torch.rand(6, channels, side, side, generator=torch.Generator().manual_seed(i))
            with torch.no_grad():
                ref = model(((x.expand(-1, 3, -1, -1) if channels == 1 else x) - MEAN) / STD).numpy()
            state = model.state_dict()
            what = f"{encoder} {channels}x{side}x{side}" + (f" patch {patch} {pool}" if patch else "")
            for layout, path in layouts(state, tmp, f"case{i}"):
                got = pretext_embed(encoder, path, x.numpy(), channels, side, patch, pool, tmp)
                err = relative(got, ref)
                worst = max(worst, err)
                rows.append((what, layout, ref.shape[1], err))
            # pretext's export, loaded strict by PyTorch.
            exported = os.path.join(tmp, f"case{i}-export.safetensors")
            env = dict(os.environ, PRETEXT_PARITY_EXPORT=exported)
            inp, out = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
            np.save(inp, x.numpy().reshape(6, -1).astype(np.float32))
            cmd = [EXAMPLE, encoder, os.path.join(tmp, f"case{i}.safetensors"), inp, str(channels), str(side), str(side), out]
            if patch:
                cmd += [str(patch), pool]
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            from safetensors.torch import load_file
            fresh = build().eval()
            fresh.load_state_dict(load_file(exported), strict=True)
            with torch.no_grad():
                back = fresh(((x.expand(-1, 3, -1, -1) if channels == 1 else x) - MEAN) / STD).numpy()
            err = relative(back, ref)
            worst = max(worst, err)
            rows.append((what, "pretext export -> PyTorch strict", ref.shape[1], err))
    print(f"{'backbone':34} {'layout':46} {'dim':>5} {'max|diff|/max|value|':>22}")
    for what, layout, dim, err in rows:
        print(f"{what:34} {layout:46} {dim:>5} {err:>22.2e}{'' if err <= TOLERANCE else '  FAIL'}")
    print(f"worst {worst:.2e} (tolerance {TOLERANCE:.0e}); torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__}")
    sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
