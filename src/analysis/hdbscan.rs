//! HDBSCAN (Campello, Moulavi & Sander 2013) on embeddings via `petal-clustering`.
//! Points in no cluster are noise: label `None`, drawn as such on the map.
//! petal-clustering speaks ndarray 0.17 while the rest of the crate is on 0.16 (linfa),
//! so the matrix is converted here, once, through its flat buffer.

use petal_clustering::{Fit, HDbscan};
use petal_neighbors::distance::Euclidean;

use super::Matrix;
use crate::error::{PretextError, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct HdbscanParams {
    pub min_cluster_size: usize,
    pub min_samples: usize,
}

impl Default for HdbscanParams {
    fn default() -> Self {
        Self { min_cluster_size: 15, min_samples: 15 }
    }
}

/// Cluster id per row (dense ids 0..k in order of each cluster's smallest member), `None` for noise.
pub fn hdbscan(data: &Matrix, params: &HdbscanParams) -> Result<Vec<Option<u32>>> {
    if params.min_cluster_size < 2 || params.min_samples < 1 {
        return Err(PretextError::InvalidConfig("HDBSCAN needs min_cluster_size >= 2 and min_samples >= 1".into()));
    }
    if data.rows == 0 {
        return Ok(Vec::new());
    }
    if params.min_samples > data.rows {
        return Err(PretextError::Analysis(format!(
            "HDBSCAN min_samples {} exceeds the {} points",
            params.min_samples, data.rows
        )));
    }
    if data.data.iter().any(|v| !v.is_finite()) {
        return Err(PretextError::BadData("embeddings contain NaN or infinite values".into()));
    }
    let array = ndarray017::Array2::from_shape_vec((data.rows, data.cols), data.data.clone())
        .map_err(|e| PretextError::Analysis(e.to_string()))?;
    let mut model = HDbscan {
        alpha: 1.0f32,
        min_samples: params.min_samples,
        min_cluster_size: params.min_cluster_size,
        metric: Euclidean::default(),
        boruvka: true,
    };
    let (clusters, _noise, _scores) = model.fit(&array, None);
    let mut groups: Vec<Vec<usize>> = clusters.into_values().filter(|m| !m.is_empty()).collect();
    groups.iter_mut().for_each(|m| m.sort_unstable());
    groups.sort_by_key(|m| m[0]);
    let mut labels = vec![None; data.rows];
    for (id, members) in groups.iter().enumerate() {
        for &i in members {
            if let Some(slot) = labels.get_mut(i) {
                *slot = Some(id as u32);
            }
        }
    }
    Ok(labels)
}
