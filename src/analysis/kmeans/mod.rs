//! k-means: greedy k-means++ seeding and GEMM Lloyd passes ([`lloyd`]) bring the centroids
//! to convergence, then linfa-clustering's KMeans starts from them, runs its own Lloyd loop
//! until its stopping rule holds (usually one pass) and is the model that labels the items.
//! linfa runs in f32 with our SIMD metric ([`FastL2`]); its default `L2Dist` goes through
//! generic ndarray arithmetic per point–centroid pair and would need the data widened to f64.
//! Stopping rule and defaults follow scikit-learn's.

mod lloyd;

use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use linfa_clustering::{KMeans, KMeansInit};
use linfa_nn::distance::Distance;
use ndarray::{ArrayView, Dimension};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;

use crate::analysis::{distance, Matrix};
use crate::error::{PretextError, Result};

/// scikit-learn's defaults: `tol=1e-4` (relative to the mean feature variance), `max_iter=300`.
const RELATIVE_TOLERANCE: f64 = 1e-4;
const MAX_ITERATIONS: u64 = 300;

/// Euclidean distance whose ordering form (`rdistance`) is the squared distance computed
/// by `analysis::distance` (AVX-512/AVX2 when the CPU has them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastL2;

impl Distance<f32> for FastL2 {
    fn distance<D: Dimension>(&self, a: ArrayView<f32, D>, b: ArrayView<f32, D>) -> f32 {
        self.rdistance(a, b).sqrt()
    }

    #[inline]
    fn rdistance<D: Dimension>(&self, a: ArrayView<f32, D>, b: ArrayView<f32, D>) -> f32 {
        match (a.as_slice(), b.as_slice()) {
            (Some(a), Some(b)) => distance::sq_euclidean(a, b),
            _ => a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum(),
        }
    }

    fn rdist_to_dist(&self, rdist: f32) -> f32 {
        rdist.sqrt()
    }

    fn dist_to_rdist(&self, dist: f32) -> f32 {
        dist * dist
    }
}

/// Cluster index of every row of `x` (k clusters, reproducible from `seed`).
pub fn fit(x: &Matrix, k: usize, seed: u64) -> Result<Vec<usize>> {
    if k == 0 || k > x.rows {
        return Err(PretextError::Analysis(format!("k-means needs 1 ≤ k ≤ {} items, got k = {k}", x.rows)));
    }
    let records = ndarray::ArrayView2::from_shape((x.rows, x.cols), &x.data)
        .map_err(|e| PretextError::Analysis(format!("k-means input: {e}")))?;
    let tolerance = tolerance(x);
    // One k-means++ start, as scikit-learn's n_init="auto" does with k-means++.
    let start = lloyd::centroids(x, k, seed, (tolerance as f64).powi(2), MAX_ITERATIONS as usize);
    let start = ndarray::Array2::from_shape_vec((k, x.cols), start)
        .map_err(|e| PretextError::Analysis(format!("k-means start: {e}")))?;
    let dataset = DatasetBase::from(records);
    let model = KMeans::params_with(k, Xoshiro256Plus::seed_from_u64(seed), FastL2)
        .init_method(KMeansInit::Precomputed(start))
        .n_runs(1)
        .max_n_iterations(MAX_ITERATIONS)
        .tolerance(tolerance)
        .fit(&dataset)
        .map_err(|e| PretextError::Analysis(format!("k-means failed: {e}")))?;
    Ok(model.predict(&records).to_vec())
}

/// scikit-learn stops when the squared centre shift summed over clusters falls below
/// `tol * mean(var(X, axis=0))`; linfa compares the (unsquared) distance between the old and
/// new centroid matrices, so the same rule is the square root of that threshold.
fn tolerance(x: &Matrix) -> f32 {
    let (_, var) = x.column_moments();
    let mean_var = var.iter().sum::<f64>() / x.cols.max(1) as f64;
    ((RELATIVE_TOLERANCE * mean_var).sqrt() as f32).max(f32::MIN_POSITIVE)
}

/// Mean squared distance of each item to the mean of its cluster (k-means' objective,
/// computed from the assignments alone so any two clusterings compare on equal terms).
pub fn inertia(x: &Matrix, assignments: &[usize], k: usize) -> f64 {
    let mut sums = vec![0f64; k * x.cols];
    let mut counts = vec![0usize; k];
    for (row, &c) in x.data.chunks_exact(x.cols.max(1)).zip(assignments) {
        counts[c] += 1;
        sums[c * x.cols..(c + 1) * x.cols].iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
    }
    let mut total = 0f64;
    for (row, &c) in x.data.chunks_exact(x.cols.max(1)).zip(assignments) {
        let mean = &sums[c * x.cols..(c + 1) * x.cols];
        total += row.iter().zip(mean).map(|(&v, s)| (v as f64 - s / counts[c] as f64).powi(2)).sum::<f64>();
    }
    total / assignments.len().max(1) as f64
}
