#!/usr/bin/env python3
"""A contact sheet of the items `pretext scores` ranks as the likeliest label errors, for
reviewing them by eye: each tile is the image with its rank and its given class.

    pretext scores --run RUN --csv scores.csv
    python3 bench/label_errors.py scores.csv [--data /usr/share/datasets/fashion-mnist] [--top 50] [--out sheet.png]

Item numbers are pretext's: the train file's images, then the test file's. Needs numpy and
Pillow (`pip install numpy pillow`).
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmnist import read_idx  # noqa: E402

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scores")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--top", type=int, default=50)
    ap.add_argument("--cols", type=int, default=10)
    ap.add_argument("--out", default="label-errors.png")
    args = ap.parse_args()
    import numpy as np
    from PIL import Image, ImageDraw

    images = np.concatenate([read_idx(os.path.join(args.data, f"{p}-images-idx3-ubyte.gz")) for p in ("train", "t10k")])
    with open(args.scores) as f:
        rows = [r for r in csv.DictReader(f) if r["label_error"]]
    rows.sort(key=lambda r: -float(r["label_error"]))
    top = rows[: args.top]
    scale, pad, text_h = 3, 4, 26
    tile_w, tile_h = 28 * scale, 28 * scale + text_h
    cols = args.cols
    sheet = Image.new("L", (cols * (tile_w + pad) + pad, ((len(top) + cols - 1) // cols) * (tile_h + pad) + pad), 255)
    draw = ImageDraw.Draw(sheet)
    for rank, r in enumerate(top):
        item = int(r["item"])
        img = Image.fromarray(images[item]).resize((28 * scale, 28 * scale), Image.NEAREST)
        x = pad + (rank % cols) * (tile_w + pad)
        y = pad + (rank // cols) * (tile_h + pad)
        sheet.paste(img, (x, y))
        label = CLASSES[int(r["label"])] if r["label"].isdigit() and int(r["label"]) < len(CLASSES) else r["label"]
        draw.text((x, y + 28 * scale + 1), f"{rank + 1}. #{item}", fill=0)
        draw.text((x, y + 28 * scale + 13), label, fill=0)
        print(f"{rank + 1:>3}  item {item:>5}  label {label:<12} score {float(r['label_error']):.3f}")
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
