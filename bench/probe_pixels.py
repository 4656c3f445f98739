#!/usr/bin/env python3
"""The raw-pixel reference for `pretext probe`: scikit-learn's logistic regression (its
defaults: lbfgs, L2, C=1) on Fashion-MNIST pixels scaled to [0, 1], trained on 1 %, 10 % and
100 % of the 60,000 train labels (a seeded random subset, as pretext's fraction budgets
draw), scored on the 10,000 test images.

    python3 bench/probe_pixels.py [--data /usr/share/datasets/fashion-mnist] [--seed 0]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmnist import read_idx  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    load = lambda name: read_idx(os.path.join(args.data, name))
    x = load("train-images-idx3-ubyte.gz").reshape(60000, -1) / 255.0
    y = load("train-labels-idx1-ubyte.gz")
    xt = load("t10k-images-idx3-ubyte.gz").reshape(10000, -1) / 255.0
    yt = load("t10k-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(args.seed)
    for fraction in (0.01, 0.1, 1.0):
        idx = rng.permutation(len(x))[: int(round(fraction * len(x)))]
        clf = LogisticRegression(max_iter=1000).fit(x[idx], y[idx])
        print(f"raw pixels, {fraction:.0%} of the labels ({len(idx)}): test accuracy {clf.score(xt, yt):.4f}", flush=True)


if __name__ == "__main__":
    main()
