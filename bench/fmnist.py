"""Reading Fashion-MNIST's gzip'd IDX files, shared by the benchmark and review scripts."""
import gzip
import os

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """An IDX file as a numpy array of its declared shape (magic: 0, 0, type, dims)."""
    import numpy as np
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder, name):
    return read_idx(os.path.join(folder, name))
