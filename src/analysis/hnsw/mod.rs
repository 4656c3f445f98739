//! Hierarchical navigable small-world graph (Malkov & Yashunin 2018, arXiv:1603.09320):
//! layered proximity graphs searched greedily from the top, neighbours chosen by the
//! paper's heuristic (Alg. 4).
//!
//! Our own rather than the `hnsw_rs` crate: that crate copies every vector into `Arc`-ed
//! points, allocates per search and takes a lock on every list at query time; on 784-dim
//! data it was ~3x slower than hnswlib both to build and to query. Searching 784-float rows
//! is limited by memory (60k rows are 188 MB, far beyond cache), so this index is laid out
//! for it: each vector and its layer-0 links share one cache-line-aligned block in a single
//! allocation (`store`), searches read links without locks and allocate nothing, and the
//! next neighbour's whole vector is requested from memory while the current one is measured
//! (`search`). Distances come from one AVX-512/AVX2 FMA kernel resolved once per index (an
//! indirect call, which costs nothing measurable next to the wait for the row), and
//! stop as soon as they pass the only value they are compared with (the worst of the `ef`
//! kept, or in neighbour selection the base point's distance), which hnswlib does not do;
//! results are the same as with full distances.
//!
//! Split by job: `store` (memory layout), `search` (queries), `build` (insertion).

mod build;
mod search;
mod store;

use rand::{Rng, SeedableRng};

use super::distance::{sq_euclidean_bounded_kernel, BoundedKernel};
use super::Matrix;
use search::{descend, dist_of, key, node_of, search_layer, with_scratch};
use store::Store;

/// The distance reported: squared Euclidean, or `1 − dot` on unit rows. The graph itself
/// always runs on squared Euclidean: for unit rows `1 − a·b = ½‖a − b‖²`, so both order
/// neighbours alike, and partial sums of squares only grow, which lets a distance stop as
/// soon as it cannot matter (see `distance::BoundedKernel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    SqL2,
    UnitCosine,
}

impl Metric {
    fn scale(self) -> f32 {
        match self {
            Metric::SqL2 => 1.0,
            Metric::UnitCosine => 0.5,
        }
    }
}

/// Layers are capped here; with `M = 16` the chance of reaching it is 16^-16.
const MAX_LEVEL: usize = 16;

/// The built index. It owns a copy of the vectors (zero-padded, inside the graph blocks).
pub struct Hnsw {
    store: Store,
    dist: BoundedKernel,
    /// Graph distance to reported distance.
    scale: f32,
    entry: u32,
    top: usize,
}

impl Hnsw {
    /// Indexes the rows of `data` (unit rows for [`Metric::UnitCosine`]) with `m` links per
    /// node (`2m` on layer 0), using rayon's current pool.
    pub fn build(data: &Matrix, metric: Metric, m: usize, ef_construction: usize, seed: u64) -> Self {
        let m = m.max(2);
        let ml = 1.0 / (m as f64).ln();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let levels: Vec<u8> = (0..data.rows).map(|_| ((-(1.0 - rng.random::<f64>()).ln() * ml) as usize).min(MAX_LEVEL) as u8).collect();
        let store = Store::new(&data.data, data.cols, levels, m, 2 * m);
        let dist = sq_euclidean_bounded_kernel();
        let (entry, top) = build::Builder::new(&store, dist, m, ef_construction.max(1)).run();
        Self { store, dist, scale: metric.scale(), entry, top }
    }

    pub fn len(&self) -> usize {
        self.store.rows()
    }

    pub fn is_empty(&self) -> bool {
        self.store.rows() == 0
    }

    /// The `want` nearest rows to `q` as `(row, kernel distance)`, nearest first.
    pub fn search(&self, q: &[f32], want: usize, ef: usize) -> Vec<(usize, f32)> {
        if self.is_empty() || q.len() != self.store.dim() {
            return Vec::new();
        }
        with_scratch(|s| {
            self.store.load_query(q, &mut s.query);
            let start = key((self.dist)(&s.query, self.store.vector(self.entry), f32::INFINITY), self.entry);
            let ep = if self.top > 0 { descend(&self.store, self.dist, &s.query, start, self.top, 1) } else { start };
            search_layer(&self.store, self.dist, &[ep], ef.max(want), 0, s);
            self.results(&s.found, want)
        })
    }

    /// Neighbours of an indexed row: the search starts at the row itself on layer 0, whose
    /// links already point into its neighbourhood, so the descent from the top is skipped.
    /// The row itself comes back first, at distance 0.
    pub fn search_from(&self, node: usize, want: usize, ef: usize) -> Vec<(usize, f32)> {
        if node >= self.len() {
            return Vec::new();
        }
        with_scratch(|s| {
            s.set_stored_query(self.store.vector(node as u32));
            search_layer(&self.store, self.dist, &[key(0.0, node as u32)], ef.max(want), 0, s);
            self.results(&s.found, want)
        })
    }

    fn results(&self, found: &[u64], want: usize) -> Vec<(usize, f32)> {
        found.iter().take(want).map(|&k| (node_of(k) as usize, self.scale * dist_of(k))).collect()
    }
}
