"""What goes back to pretext: the backbone as safetensors in its architecture's own names
(`pretext embed --init`, `pretext train --init`), and a pretext run folder with the embeddings
of the map's items (`pretext --run`), whose weights carry pretext's own names."""
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file

from evaluate import embed


def backbone_tensors(net):
    """The encoder's state_dict as written: torchvision / timm / pretext names, BatchNorm's
    num_batches_tracked counters included (load_state_dict(strict=True) on the architecture
    with its classifier removed accepts the file)."""
    return {k: v.detach().cpu().contiguous() for k, v in net.encoder.state_dict().items()}


def write_backbone(net, path):
    save_file(backbone_tensors(net), path)


def pretext_tensors(module):
    """Every weight under pretext's names (encoder.*, head.*, predictor.*), float32, without
    the BatchNorm counters pretext does not keep."""
    out = {}
    for part in ("encoder", "head", "predictor"):
        sub = getattr(module, part, None)
        if sub is None:
            continue
        for k, v in sub.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out[f"{part}.{k}"] = v.detach().cpu().float().contiguous()
    return out


def write_pretext_run(folder, net, teacher, splits, run_config, data_path, step, losses, split_dir, device):
    """A run folder pretext opens (`pretext --run FOLDER`): config, weights, the map's embeddings."""
    os.makedirs(folder, exist_ok=True)
    config = dict(run_config)
    config["step"] = step
    config["train_seconds"] = None
    config["phase"] = None
    config["dataset"] = dict(config["dataset"], source=os.path.abspath(data_path))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_file(pretext_tensors(net), os.path.join(folder, "checkpoint.safetensors"))
    if teacher is not None:
        save_file(pretext_tensors(teacher), os.path.join(folder, "teacher.safetensors"))
    indices = np.load(os.path.join(split_dir, "map.npy"))
    items = splits.all_items()[torch.from_numpy(indices)]
    np.save(os.path.join(folder, "embeddings.npy"), embed(net, items, device).numpy().astype(np.float32))
    np.save(os.path.join(folder, "indices.npy"), indices.astype(np.int64))
    labels = splits.all_labels()
    if labels is not None:
        np.save(os.path.join(folder, "labels.npy"), labels[torch.from_numpy(indices)].numpy().astype(np.int64))
    with open(os.path.join(folder, "metrics.json"), "w") as f:
        json.dump({"history": [], "losses": [[s, float(l)] for s, l in losses]}, f)
