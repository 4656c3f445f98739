//! One neighbour-search type for embeddings: exact search below a size threshold, HNSW
//! ([`super::hnsw`], Malkov & Yashunin 2018) above it. Cosine and Euclidean.
//!
//! Distances returned are true distances in the chosen metric: Euclidean length, or
//! `1 - cosine similarity`. Inside the graph we use squared Euclidean, on rows normalised
//! once for cosine (`1 - a·b = ½‖a - b‖²` for unit rows), which orders neighbours the same
//! way and skips a square root. (An all-zero row, whose cosine is undefined, stays zero: the
//! exact search puts it at distance 1 from everything, the graph at ½.)

use rayon::prelude::*;

use super::distance::{dot, smallest_k, sq_euclidean};
use super::hnsw::{self, Hnsw};
use super::Matrix;
use crate::error::{PretextError, Result};

/// Seed for the HNSW layer draws, fixed so an index is reproducible.
const SEED: u64 = 0x5eed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Metric {
    Euclidean,
    Cosine,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexParams {
    /// Links per node (HNSW `M`); layer 0 keeps twice as many.
    pub m: usize,
    pub ef_construction: usize,
    /// Candidate list size at query time (raised to `k` when `k` is larger).
    pub ef_search: usize,
    /// Sets with at most this many rows are searched exactly.
    pub exact_threshold: usize,
}

impl Default for IndexParams {
    fn default() -> Self {
        Self { m: 16, ef_construction: 200, ef_search: 50, exact_threshold: 5_000 }
    }
}

impl IndexParams {
    fn check(&self) -> Result<()> {
        if self.m < 2 || self.m > 128 {
            return Err(PretextError::InvalidConfig(format!("HNSW M must be in 2..=128, got {}", self.m)));
        }
        if self.ef_construction == 0 || self.ef_search == 0 {
            return Err(PretextError::InvalidConfig("HNSW ef values must be positive".into()));
        }
        Ok(())
    }
}

/// The indexed rows (unit-length when the metric is cosine) live in the backend: a matrix
/// for exact search, the graph's own blocks for HNSW (no second copy).
enum Backend {
    Exact(Matrix),
    Graph(Hnsw),
}

pub struct NeighborIndex {
    metric: Metric,
    rows: usize,
    cols: usize,
    params: IndexParams,
    backend: Backend,
}

impl NeighborIndex {
    pub fn build(data: &Matrix, metric: Metric, params: IndexParams) -> Result<Self> {
        params.check()?;
        if data.rows == 0 || data.cols == 0 {
            return Err(PretextError::Analysis("cannot index an empty matrix".into()));
        }
        // The graph names rows by u32.
        if data.rows >= u32::MAX as usize {
            return Err(PretextError::Analysis(format!("cannot index {} rows, at most {} fit", data.rows, u32::MAX - 1)));
        }
        if data.data.iter().any(|v| !v.is_finite()) {
            return Err(PretextError::BadData("embeddings contain NaN or infinite values".into()));
        }
        let exact = data.rows <= params.exact_threshold;
        let backend = match metric {
            Metric::Cosine if exact => Backend::Exact(data.l2_normalized()),
            Metric::Euclidean if exact => Backend::Exact(data.clone()),
            // Cosine as `1 − dot` on rows normalised once, not per distance.
            Metric::Cosine => Backend::Graph(Hnsw::build(&data.l2_normalized(), hnsw::Metric::UnitCosine, params.m, params.ef_construction, SEED)),
            Metric::Euclidean => Backend::Graph(Hnsw::build(data, hnsw::Metric::SqL2, params.m, params.ef_construction, SEED)),
        };
        Ok(Self { metric, rows: data.rows, cols: data.cols, params, backend })
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn is_exact(&self) -> bool {
        matches!(self.backend, Backend::Exact(_))
    }

    pub fn set_ef_search(&mut self, ef: usize) {
        self.params.ef_search = ef.max(1);
    }

    /// The `k` nearest indexed rows to `query`, nearest first, as `(row, distance)`.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(usize, f32)> {
        self.search_skipping(query, k, None)
    }

    /// [`search`](Self::search) for every row of `queries`, in parallel.
    pub fn search_batch(&self, queries: &Matrix, k: usize) -> Vec<Vec<(usize, f32)>> {
        (0..queries.rows).into_par_iter().map(|i| self.search(queries.row(i), k)).collect()
    }

    /// The `k` nearest neighbours of every indexed row, itself excluded (a kNN graph).
    pub fn knn_graph(&self, k: usize) -> Vec<Vec<(usize, f32)>> {
        (0..self.rows)
            .into_par_iter()
            .map(|i| match &self.backend {
                Backend::Graph(h) => {
                    let ef = self.params.ef_search.max(k + 1);
                    let mut found: Vec<(usize, f32)> = h.search_from(i, k + 1, ef).into_iter().filter(|p| p.0 != i).take(k).collect();
                    if self.metric == Metric::Euclidean {
                        found.iter_mut().for_each(|p| p.1 = p.1.max(0.0).sqrt());
                    }
                    found
                }
                Backend::Exact(d) => self.search_skipping(d.row(i), k, Some(i)),
            })
            .collect()
    }

    fn search_skipping(&self, query: &[f32], k: usize, skip: Option<usize>) -> Vec<(usize, f32)> {
        if query.len() != self.cols || k == 0 {
            return Vec::new();
        }
        let normalized;
        let q = match self.metric {
            Metric::Cosine => {
                let norm = dot(query, query).sqrt();
                normalized = query.iter().map(|v| if norm > 0.0 { v / norm } else { 0.0 }).collect::<Vec<_>>();
                &normalized[..]
            }
            Metric::Euclidean => query,
        };
        let want = k + usize::from(skip.is_some());
        let ef = self.params.ef_search.max(want);
        let raw: Vec<(usize, f32)> = match &self.backend {
            Backend::Exact(d) => {
                match self.metric {
                    Metric::Euclidean => smallest_k((0..d.rows).map(|j| (j, sq_euclidean(q, d.row(j)))), k, skip),
                    Metric::Cosine => smallest_k((0..d.rows).map(|j| (j, 1.0 - dot(q, d.row(j)))), k, skip),
                }
            }
            Backend::Graph(h) => h.search(q, want, ef),
        };
        let mut out: Vec<(usize, f32)> = raw.into_iter().filter(|&(j, _)| Some(j) != skip).take(k).collect();
        if self.metric == Metric::Euclidean {
            out.iter_mut().for_each(|p| p.1 = p.1.max(0.0).sqrt());
        }
        out
    }
}
