#!/usr/bin/env python3
"""Oracle for pretext's Parquet path, from the Python side.

Writes embeddings as a PyTorch pipeline would (a float32 (N, D) array, pandas + pyarrow,
snappy; also a fixed-size-list table in zstd and a Feather file), runs `pretext scores` on
them, reads pretext's exported Parquet back with pandas and checks it against the input:
every row's vector and label, the x/y map and scores, and pretext's nearest neighbours of a
few rows against a brute-force cosine search in numpy.

    pip install numpy pandas pyarrow      # torch optional: used to make the array if present
    cargo build --release
    python3 bench/parquet_roundtrip.py [--pretext target/release/pretext] [--rows 2000 --dim 64]
        [--atlas PATH/TO/embedding-atlas]   # also have Embedding Atlas load the export

Never a runtime dependency of pretext.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq


def make_embeddings(rows, dim, classes, seed):
    """Clustered unit-scale embeddings, via torch when installed (as a model's output would be)."""
    try:
        import torch

        g = torch.Generator().manual_seed(seed)
        centres = torch.randn(classes, dim, generator=g) * 2
        labels = torch.randint(0, classes, (rows,), generator=g)
        emb = centres[labels] + torch.randn(rows, dim, generator=g)
        return emb.detach().cpu().numpy().astype(np.float32), labels.numpy(), "torch"
    except ImportError:
        rng = np.random.default_rng(seed)
        centres = rng.normal(size=(classes, dim)) * 2
        labels = rng.integers(0, classes, rows)
        return (centres[labels] + rng.normal(size=(rows, dim))).astype(np.float32), labels, "numpy"


def run(cmd):
    started = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{out.stderr}")
    return out, time.time() - started


def check_export(path, emb, names, label_of_row):
    df = pd.read_parquet(path)
    n, d = emb.shape
    assert len(df) == n, f"{path}: {len(df)} rows, expected {n}"
    for col in ["row", "index", "label", "cluster", "x", "y", "embedding", "uniqueness", "map_disagreement"]:
        assert col in df.columns, f"{path}: no column {col} (has {list(df.columns)})"
    vectors = np.stack(df["embedding"].to_numpy())
    assert vectors.shape == (n, d) and vectors.dtype == np.float32, (vectors.shape, vectors.dtype)
    rows = df["row"].to_numpy()
    assert sorted(rows) == list(range(n)), "every input row exported once"
    assert np.array_equal(vectors, emb[rows]), "vectors exported exactly as written"
    assert (df["label"].to_numpy() == np.array([label_of_row[r] for r in rows])).all(), "labels follow their rows"
    assert np.isfinite(df[["x", "y"]].to_numpy()).all()
    assert df["uniqueness"].between(0, 1).all()
    return df


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pretext", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "pretext"))
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--atlas", help="the embedding-atlas command (pip install embedding-atlas): it loads pretext's export with --x x --y y --text text and packs it as its static app")
    args = ap.parse_args()
    emb, labels, made_by = make_embeddings(args.rows, args.dim, 5, 0)
    names = np.array(["ant", "bee", "cat", "dog", "eel"])
    label_of_row = names[labels]
    print(f"pyarrow {pa.__version__}, pandas {pd.__version__}; {args.rows}x{args.dim} float32 embeddings made with {made_by}")
    with tempfile.TemporaryDirectory() as tmp:
        tables = {}
        p = os.path.join(tmp, "pandas.parquet")
        texts = [f"a {label_of_row[i]}, row {i}" for i in range(args.rows)]
        pd.DataFrame({"id": np.arange(args.rows), "embedding": list(emb), "label": pd.Categorical(label_of_row), "text": texts}).to_parquet(p)
        tables["pandas list<float>, categorical labels, snappy"] = p
        p = os.path.join(tmp, "fixed.parquet")
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(emb.ravel()), args.dim)
        pq.write_table(pa.table({"vector": vectors, "label": pa.array(label_of_row)}), p, compression="zstd")
        tables["pyarrow fixed_size_list<float>, zstd"] = p
        p = os.path.join(tmp, "emb.feather")
        feather.write_feather(pa.table({"embedding": pa.array(list(emb)), "label": pa.array(label_of_row)}), p)
        tables["Feather v2 (lz4)"] = p
        for what, path in tables.items():
            out = os.path.join(tmp, "scored.parquet")
            _, seconds = run([args.pretext, "scores", "--data", path, "--csv", os.path.join(tmp, "s.csv"), "--parquet", out])
            df = check_export(out, emb, names, label_of_row)
            print(f"ok  {what}: pretext scores + export in {seconds:.2f} s; read back {df.shape[0]} rows x {len(df.columns)} columns, vectors and labels equal")
        # Neighbours: pretext's against a brute-force cosine search.
        unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
        k, agree = 10, 0
        queries = list(range(0, args.rows, args.rows // 20))[:20]
        for q in queries:
            out, _ = run([args.pretext, "neighbors", "--data", tables["pandas list<float>, categorical labels, snappy"], "--item", str(q), "-k", str(k), "--json"])
            got = [n["item"] for n in json.loads(out.stdout)["neighbors"]]
            sims = unit @ unit[q]
            sims[q] = -np.inf
            want = list(np.argsort(-sims)[:k])
            agree += len(set(got) & set(want))
        print(f"ok  neighbours of {len(queries)} rows: {agree}/{len(queries) * k} match numpy's exact cosine top-{k}")
        assert agree == len(queries) * k, "neighbours differ from the exact search"
        if args.atlas:
            import zipfile

            out = os.path.join(tmp, "scored.parquet")
            run([args.pretext, "scores", "--data", tables["pandas list<float>, categorical labels, snappy"], "--csv", os.devnull, "--parquet", out])
            archive = os.path.join(tmp, "atlas.zip")
            _, seconds = run([args.atlas, out, "--x", "x", "--y", "y", "--text", "text", "--export-application", archive])
            with zipfile.ZipFile(archive) as z:
                with z.open("data/dataset.parquet") as f:
                    packed = pd.read_parquet(f)
            assert len(packed) == args.rows and {"x", "y", "text", "label"} <= set(packed.columns), packed.columns
            assert (packed["text"].to_numpy() == np.array(texts)[packed["row"].to_numpy()]).all(), "texts follow their rows"
            print(f"ok  Embedding Atlas loaded pretext's export (x/y/text) and packed {len(packed)} rows in {seconds:.1f} s")
        print("parquet round trip: all checks passed")


if __name__ == "__main__":
    main()
