#!/usr/bin/env python3
"""Reference figures for `pretext bench analysis`: openTSNE, umap-learn, hnswlib and
scikit-learn on the data pretext exported (x.npy, sample.npy, gt.npy in --data).

Installs the tools into bench/.venv with pip on first use and re-runs itself there; any
tool that cannot be installed or imported is skipped with a message. Writes peers.json
(a list of figures) into --data. Every tool gets --threads threads (default 2), the
count pretext's side runs with.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
PACKAGES = ["numpy", "scikit-learn", "openTSNE", "umap-learn", "hnswlib"]


def ensure_venv():
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        return
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        print(f"peers: creating {VENV} and installing {' '.join(PACKAGES)}", file=sys.stderr)
        try:
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
            subprocess.run([python, "-m", "pip", "install", "-q", *PACKAGES], check=True)
        except (subprocess.CalledProcessError, OSError) as e:
            print(f"peers: could not set up the virtualenv ({e}); running with what is installed", file=sys.stderr)
            return
    os.execv(python, [python, *sys.argv])


KMEANS_SEEDS = 5  # as KMEANS_SEEDS in src/bench/analysis.rs


def inertia(x, labels, k):
    """Mean squared distance of each item to the mean of its cluster."""
    import numpy as np
    total = 0.0
    for c in range(k):
        members = x[labels == c]
        if len(members):
            total += float(((members - members.mean(axis=0)) ** 2).sum())
    return total / len(x)


def figure(name, seconds, quality=None, quality_name="", rate=None, cpu_seconds=None):
    return {"name": name, "seconds": seconds, "quality": quality, "quality_name": quality_name, "rate": rate,
            "cpu_seconds": cpu_seconds}


def cpu_seconds():
    """User + system CPU seconds of this process so far, all threads."""
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ensure_venv()
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--parts", default="tsne,umap,hnsw,pca,kmeans")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="HNSW runs; the best figures are kept")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    threads = max(1, args.threads)
    # Before numpy and friends load their thread pools.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)
    import numpy as np

    x = np.load(os.path.join(args.data, "x.npy"))
    sample = np.load(os.path.join(args.data, "sample.npy")).ravel().astype(np.int64)
    gt = np.load(os.path.join(args.data, "gt.npy")).astype(np.int64)
    with open(os.path.join(args.data, "meta.json")) as f:
        n_train = json.load(f)["n_train"]
    out = []

    def report(f):
        print(f"  peer  {f['name']:<12} {f['seconds']:8.2f} s  "
              + (f"{f['quality_name']} {f['quality']:.4f}" if f["quality"] is not None else "")
              + (f"  {f['rate']:.0f} q/s" if f["rate"] is not None else "")
              + (f"  (build cpu {f['cpu_seconds']:.2f} s)" if f["cpu_seconds"] is not None else ""), flush=True)
        out.append(f)

    def trust(layout):
        from sklearn.manifold import trustworthiness
        return float(trustworthiness(x[sample], layout[sample], n_neighbors=10))

    if "tsne" in parts:
        try:
            import openTSNE
            from openTSNE import TSNE
            tsne = TSNE(n_jobs=threads, random_state=42)
            # The schedule pretext follows: openTSNE's defaults, learning rate "auto" being
            # N / exaggeration in each phase.
            print(f"  peer  openTSNE {openTSNE.__version__}: learning_rate={tsne.learning_rate!r}, "
                  f"early_exaggeration={tsne.early_exaggeration} for {tsne.early_exaggeration_iter} iterations, "
                  f"then {tsne.n_iter} at exaggeration {tsne.exaggeration}, max_step_norm={tsne.max_step_norm}, "
                  f"initialization={tsne.initialization!r}", flush=True)
            t = time.perf_counter()
            y = np.asarray(tsne.fit(x))
            report(figure("t-SNE", time.perf_counter() - t, trust(y), "trust"))
        except ImportError as e:
            print(f"peers: openTSNE unavailable ({e}), skipped", file=sys.stderr)
    if "umap" in parts:
        try:
            import umap
            init = np.load(os.path.join(args.data, "init_pca.npy")).astype(np.float32)
            # umap-learn compiles its numba kernels on first use. Warm up untimed on enough
            # rows (more than 4,096, where it switches from exact neighbours to NN-descent)
            # with both initialisations, so the timed runs compile nothing.
            warm = min(len(x), 10_000)
            t = time.perf_counter()
            umap.UMAP(n_jobs=threads, init=init[:warm]).fit_transform(x[:warm])
            umap.UMAP(n_jobs=threads, init="spectral").fit_transform(x[:warm])
            print(f"  peer  UMAP warm-up on {warm} rows: {time.perf_counter() - t:.1f} s (untimed)", flush=True)
            for name, how in (("UMAP (same PCA init)", init), ("UMAP (spectral init)", "spectral")):
                t = time.perf_counter()
                y = umap.UMAP(n_jobs=threads, init=how).fit_transform(x)
                report(figure(name, time.perf_counter() - t, trust(y), "trust"))
        except ImportError as e:
            print(f"peers: umap-learn unavailable ({e}), skipped", file=sys.stderr)
    if "hnsw" in parts:
        try:
            import hnswlib
            train, queries = x[:n_train], x[n_train:]
            runs = []
            for _ in range(max(1, args.repeat)):
                index = hnswlib.Index(space="l2", dim=x.shape[1])
                # Used by add_items and knn_query alike (both default to num_threads=-1).
                index.set_num_threads(threads)
                t, cpu = time.perf_counter(), cpu_seconds()
                index.init_index(max_elements=train.shape[0], M=16, ef_construction=200, random_seed=0)
                index.add_items(train)
                build, build_cpu = time.perf_counter() - t, cpu_seconds() - cpu
                index.set_ef(50)
                t = time.perf_counter()
                labels, _ = index.knn_query(queries, k=10)
                qps = queries.shape[0] / (time.perf_counter() - t)
                hits = sum(len(set(labels[i]) & set(gt[i])) for i in range(gt.shape[0]))
                runs.append((build, hits / gt.size, qps, build_cpu))
                del index
            # As the Rust side: lowest time, highest rate, lowest CPU, lowest recall.
            report(figure("HNSW", min(r[0] for r in runs), min(r[1] for r in runs), "recall@10",
                          max(r[2] for r in runs), min(r[3] for r in runs)))
        except ImportError as e:
            print(f"peers: hnswlib unavailable ({e}), skipped", file=sys.stderr)
    if parts & {"pca", "kmeans"}:
        try:
            from sklearn.cluster import KMeans
            from sklearn.decomposition import PCA
            # scikit-learn's default solver ("auto"): for data this tall it takes the exact
            # covariance route, as pretext does. Warmed up once, untimed.
            PCA(n_components=50, random_state=0).fit_transform(x[:5000])
            t = time.perf_counter()
            pca = PCA(n_components=50, random_state=0)
            reduced = pca.fit_transform(x)
            if "pca" in parts:
                seconds = time.perf_counter() - t
                print(f"  peer  PCA solver chosen by svd_solver='auto': {pca._fit_svd_solver}", flush=True)
                report(figure("PCA-50", seconds, float(pca.explained_variance_ratio_.sum()), "var"))
            if "kmeans" in parts:
                # Median over the same seeds as ours; inertia per item from the final labels,
                # computed the same way on both sides.
                runs = []
                for seed in range(KMEANS_SEEDS):
                    t = time.perf_counter()
                    labels = KMeans(n_clusters=10, random_state=seed).fit(reduced).labels_
                    seconds = time.perf_counter() - t
                    runs.append((seconds, inertia(reduced, labels, 10)))
                runs.sort()
                seconds, value = runs[len(runs) // 2]
                report(figure("k-means", seconds, value, "inertia"))
        except ImportError as e:
            print(f"peers: scikit-learn unavailable ({e}), skipped", file=sys.stderr)
    with open(os.path.join(args.data, "peers.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
