# Computes the scikit-learn values written into tests/analysis_quality.rs (run with bench/.venv/bin/python).
import numpy as np
from sklearn.manifold import trustworthiness
n, d = 80, 6
x = np.zeros((n, d), dtype=np.float32)
for i in range(n):
    for j in range(d):
        a = np.float32(i) * np.float32(0.731) + np.float32(j) * np.float32(1.913)
        b = np.float32(i * (j + 3)) * np.float32(0.117)
        x[i, j] = np.float32(np.sin(a)) + np.float32(0.5) * np.float32(np.cos(b))
y = np.stack([x[:, 0] + np.float32(0.3) * x[:, 2], x[:, 1] - np.float32(0.2) * x[:, 3]], axis=1).astype(np.float32)
print(repr(trustworthiness(x.astype(np.float64), y.astype(np.float64), n_neighbors=5)))
print(repr(trustworthiness(x.astype(np.float64), y.astype(np.float64), n_neighbors=10)))
from umap.umap_ import find_ab_params
