//! k-means through linfa-clustering (k-means++ initialisation, Lloyd iterations).

use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use linfa_clustering::KMeans;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;

use crate::analysis::Matrix;
use crate::error::{PretextError, Result};

/// Cluster index of every row of `x` (k clusters, reproducible from `seed`).
pub fn fit(x: &Matrix, k: usize, seed: u64) -> Result<Vec<usize>> {
    if k == 0 || k > x.rows {
        return Err(PretextError::Analysis(format!("k-means needs 1 ≤ k ≤ {} items, got k = {k}", x.rows)));
    }
    let records = x.to_ndarray();
    let dataset = DatasetBase::from(records.clone());
    let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed))
        .n_runs(1) // one k-means++ start, as scikit-learn's n_init="auto" does with k-means++
        .max_n_iterations(200)
        .tolerance(1e-4)
        .fit(&dataset)
        .map_err(|e| PretextError::Analysis(format!("k-means failed: {e}")))?;
    Ok(model.predict(&records).to_vec())
}
