"""The run's data, read as pretext reads it, and the views each objective trains on.

pretext numbers the items of a dataset "train split first, then test split". The export wrote
that order into split/: train.npy and test.npy hold, for each of pretext's train and test
items, its position in the source's own order (an IDX file's rows, train file first; a
folder's images, classes and files sorted by name; a table's rows). Reading the source in that
order and indexing it with these arrays gives exactly pretext's items and splits.
"""
import csv
import gzip
import os
import struct

import numpy as np
import torch

from augment import image_transform, table_view, masked_view

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def _open(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_idx(path):
    """An unsigned-byte IDX array (MNIST's format: magic 0 0 8 ndim, big-endian dims, bytes)."""
    with _open(path) as f:
        zero, dtype, ndim = struct.unpack(">HBB", f.read(4))
        if zero != 0 or dtype != 0x08:
            raise ValueError(f"{path}: not an unsigned-byte IDX file")
        dims = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def _find(folder, stem):
    for name in sorted(os.listdir(folder)):
        if name.startswith(stem) and (name == stem or name == stem + ".gz" or name.startswith(stem + ".")):
            return os.path.join(folder, name)
    return None


def read_idx_folder(folder):
    """Images in [0, 1] (N, 1, H, W) and labels: the train file's rows, then the t10k file's."""
    images, labels = [], []
    for prefix in ("train", "t10k"):
        img = _find(folder, f"{prefix}-images-idx3-ubyte")
        if img is None:
            continue
        x = read_idx(img).astype(np.float32) / 255.0
        images.append(x[:, None, :, :])
        lab = _find(folder, f"{prefix}-labels-idx1-ubyte")
        labels.append(read_idx(lab).astype(np.int64) if lab else None)
    if not images:
        raise ValueError(f"{folder}: no train-/t10k-images-idx3-ubyte files")
    y = None if any(l is None for l in labels) else np.concatenate(labels)
    return np.concatenate(images), y


def read_image_folder(folder, side, channels):
    """One image per file in <class>/ sub-folders (sorted), resized to side × side."""
    from PIL import Image

    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    files = []
    for c, name in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(folder, name))):
            if f.lower().endswith(IMAGE_EXTENSIONS):
                files.append((os.path.join(folder, name, f), c))
    if not classes:
        files = [(os.path.join(folder, f), -1) for f in sorted(os.listdir(folder)) if f.lower().endswith(IMAGE_EXTENSIONS)]
    images, labels = [], []
    for path, c in files:
        try:
            img = Image.open(path)
            img = img.convert("L" if channels == 1 else "RGB")
        except OSError:
            continue  # pretext skips unreadable files too
        if img.size != (side, side):
            img = img.resize((side, side), Image.BILINEAR)
        a = np.asarray(img, dtype=np.float32) / 255.0
        images.append(a[None] if channels == 1 else a.transpose(2, 0, 1))
        labels.append(c)
    y = np.array(labels, dtype=np.int64) if classes else None
    return np.stack(images), y


def _encode_labels(raw, class_names):
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index.get(str(v).strip(), -1) for v in raw], dtype=np.int64)


def read_csv_table(path, columns, label_column, class_names):
    """The feature columns pretext trained on, in its column order, and the labels."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    positions = [header.index(c) for c in columns]
    x = np.array([[float(r[p]) for p in positions] for r in rows[1:]], dtype=np.float32)
    labels = None
    if label_column is None:
        label_column = next((h for h in header if h.lower() in ("label", "class", "target")), None)
    if label_column is not None and class_names:
        li = header.index(label_column)
        labels = _encode_labels([r[li].strip() for r in rows[1:]], class_names)
    return x, labels


def read_parquet_table(path, columns, label_column, class_names):
    """Numeric feature columns of a Parquet table (pyarrow), in the run's column order."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    x = np.stack([table.column(c).to_numpy().astype(np.float32) for c in columns], axis=1)
    labels = None
    if label_column and class_names:
        labels = _encode_labels(table.column(label_column).to_pylist(), class_names)
    return x, labels


def read_npy_table(path, labels_path):
    x = np.load(path).astype(np.float32)
    if labels_path is None:
        stem = os.path.splitext(path)[0]
        for candidate in (stem + "_labels.npy", os.path.join(os.path.dirname(path), "labels.npy")):
            if os.path.isfile(candidate):
                labels_path = candidate
                break
    y = np.load(labels_path).astype(np.int64) if labels_path else None
    return x.reshape(len(x), -1), y


def read_source(path, dataset):
    """Every item of the source, in the source's own order, and its labels (or None)."""
    modality = dataset["modality"]
    cols = dataset.get("columns", {})
    if os.path.isdir(path):
        if any(n.startswith(("train-images-idx3", "t10k-images-idx3")) for n in os.listdir(path)):
            return read_idx_folder(path)
        image = modality["Image"]
        return read_image_folder(path, image["height"], image["channels"])
    lower = path.lower()
    if "idx3-ubyte" in lower:
        return read_idx_folder(os.path.dirname(path) or ".")
    columns = modality.get("Table", {}).get("columns")
    if lower.endswith(".csv"):
        return read_csv_table(path, columns, cols.get("label_column"), dataset["class_names"])
    if lower.endswith(".parquet"):
        return read_parquet_table(path, columns, cols.get("label_column"), dataset["class_names"])
    if lower.endswith(".npy"):
        return read_npy_table(path, None)
    raise ValueError(f"{path}: pretext's export reads IDX folders, image folders, .csv, .npy and .parquet")


def standardise(train, test):
    """Tables: zero mean and unit variance per column with train statistics, as pretext does
    (a constant column is centred, not scaled)."""
    mean = train.astype(np.float64).mean(0)
    var = train.astype(np.float64).var(0)
    std = np.where(var > 1e-12, np.sqrt(var), 1.0)
    return ((train - mean) / std).astype(np.float32), ((test - mean) / std).astype(np.float32)


class Splits:
    """pretext's train and test items (tensors), their labels, and the item shape."""

    def __init__(self, path, dataset, split_dir):
        x, y = read_source(path, dataset)
        train_idx = np.load(os.path.join(split_dir, "train.npy"))
        test_idx = np.load(os.path.join(split_dir, "test.npy"))
        if max(train_idx.max(initial=0), test_idx.max(initial=0)) >= len(x):
            raise ValueError(f"{path} holds {len(x)} items; the run had {len(train_idx) + len(test_idx)}: is it the same data?")
        train, test = x[train_idx], x[test_idx]
        self.is_table = "Table" in dataset["modality"]
        if self.is_table:
            train, test = standardise(train, test)
        self.train = torch.from_numpy(np.ascontiguousarray(train))
        self.test = torch.from_numpy(np.ascontiguousarray(test))
        self.train_labels = None if y is None else torch.from_numpy(y[train_idx])
        self.test_labels = None if y is None else torch.from_numpy(y[test_idx])

    def all_items(self):
        return torch.cat([self.train, self.test])

    def all_labels(self):
        if self.train_labels is None:
            return None
        return torch.cat([self.train_labels, self.test_labels])


class TrainingItems(torch.utils.data.Dataset):
    """The train split as the objective sees it: each item turned into its views (view
    objectives), its masked copy (masked autoencoder, data2vec) or its noisy copy (denoising)."""

    def __init__(self, splits, recipe, objective):
        self.items = splits.train
        self.is_table = splits.is_table
        self.recipe = recipe
        self.objective = objective
        self.views = recipe["views"]
        self.transform = None if self.is_table else image_transform(recipe, tuple(self.items.shape[1:]))

    def __len__(self):
        return len(self.items)

    def view(self, x):
        if self.is_table:
            return table_view(x, self.items, self.recipe["augment.table_corruption"])
        return self.transform(x)

    def __getitem__(self, i):
        x = self.items[i]
        kind = self.objective
        if kind in ("simclr", "moco", "vicreg", "barlow", "byol"):
            return {"views": torch.stack([self.view(x) for _ in range(self.views)])}
        ratio = self.recipe["augment.mask_ratio"]
        if kind == "mae":
            masked, mask = masked_view(x, ratio, self.is_table)
            return {"input": masked, "mask": mask, "target": x}
        if kind == "data2vec":
            clean = self.view(x)
            masked, mask = masked_view(clean, ratio, self.is_table)
            return {"input": masked, "mask": mask, "target": clean}
        if kind == "denoise":
            noisy = table_view(x, self.items, self.recipe["augment.table_corruption"]) if self.is_table else x.clone()
            noisy = noisy + self.recipe["objective_params.denoise_std"] * torch.randn_like(noisy)
            return {"input": noisy, "target": x}
        raise ValueError(f"unknown objective {kind}")
