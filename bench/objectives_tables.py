"""Each objective against raw standardised features on scikit-learn's bundled tables:
weighted kNN accuracy (pretext's DINO protocol) of the test split, mean over 3 seeds
(seed = split and initialisation). About 1,000 steps per run at batch 64.

Needs scikit-learn (pip install scikit-learn pandas) to write the tables as CSV, and a
release build (cargo build --release). Run from the repository root."""
import json, math, os, statistics, subprocess, sys
import tempfile

from sklearn import datasets

P = os.environ.get('PRETEXT', 'target/release/pretext')
tmp = tempfile.mkdtemp()
for name, load in [('iris', datasets.load_iris), ('wine', datasets.load_wine), ('breast_cancer', datasets.load_breast_cancer), ('digits', datasets.load_digits)]:
    frame = load(as_frame=True).frame.rename(columns={'target': 'label'})
    frame.to_csv(f'{tmp}/{name}.csv', index=False)
sets = ['iris', 'wine', 'breast_cancer', 'digits']
objs = ['simclr', 'moco', 'vicreg', 'barlow', 'byol', 'data2vec', 'mae', 'denoise']
sizes = {'iris': 150, 'wine': 178, 'breast_cancer': 569, 'digits': 1797}
res = {}
for s in sets:
    path = f'{tmp}/{s}.csv'
    n_train = round(sizes[s] * 0.8)
    per_epoch = max(1, n_train // 64)
    epochs = math.ceil(1000 / per_epoch)
    row = {}
    for seed in [0, 1, 2]:
        b = json.loads(subprocess.run([P, 'baseline', '--data', path, '--seed', str(seed), '--json'], capture_output=True, text=True).stdout)
        row.setdefault('raw', []).append(b['raw_knn_accuracy'])
        for o in objs:
            out = subprocess.run([P, 'train', '--data', path, '--objective', o, '--batch', '64', '--epochs', str(epochs), '--seed', str(seed), '--split-seed', str(seed), '--eval-every', '100000', '--threads', '1', '--out', f'{tmp}/runs/{s}-{o}-{seed}', '--json'], capture_output=True, text=True)
            try:
                j = json.loads(out.stdout)
                row.setdefault(o, []).append(j['knn_accuracy'])
            except Exception as e:
                print(s, o, seed, 'failed', out.stderr[-300:], file=sys.stderr)
    res[s] = {k: statistics.mean(v) for k, v in row.items()}
    print(s, json.dumps(res[s]), flush=True)
print(json.dumps(res, indent=1))
