//! UMAP (McInnes, Healy & Melville 2018), written here: kNN graph from [`NeighborIndex`],
//! fuzzy simplicial set ([`super::fuzzy`]), then the SGD layout with negative sampling.
//!
//! The layout step follows umap-learn's epoch schedule (each edge is sampled every
//! `max_w / w` epochs, with `negative_sample_rate` repulsive samples per attractive one,
//! gradients clipped at 4, learning rate decaying linearly). It runs edge chunks in
//! parallel "Hogwild" style (Recht et al. 2011), as umap-learn's parallel mode does: positions
//! are shared relaxed atomics, so concurrent updates may interleave but never tear or race in
//! the Rust sense. Edges are sorted by head, so a chunk mostly writes one compact region.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use rayon::prelude::*;

use super::fastmath::fast_pow;
use super::fuzzy::{fit_ab, fuzzy_simplicial_set, Graph};
use super::index::{IndexParams, Metric, NeighborIndex};
use super::init::LayoutInit;
use super::spectral::spectral_layout;
use super::Matrix;
use crate::error::{PretextError, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct UmapParams {
    /// Neighbourhood size, the point itself included (umap-learn's convention).
    pub n_neighbors: usize,
    pub min_dist: f32,
    pub spread: f32,
    /// `None`: 200 epochs above 10k points, 500 below (umap-learn's default).
    pub n_epochs: Option<usize>,
    pub learning_rate: f32,
    pub negative_sample_rate: usize,
    pub repulsion_strength: f32,
    pub metric: Metric,
    /// PCA by default. `Spectral` is umap-learn's default; on Fashion-MNIST it gave
    /// trustworthiness 0.9776 vs 0.9763 at 20k points but 0.9732 vs 0.9742 at 70k, where its
    /// eigensolve adds ~7 s (`cargo run --release --example umap_init`), so PCA stays.
    pub init: LayoutInit,
    pub index: IndexParams,
    pub seed: u64,
}

impl Default for UmapParams {
    fn default() -> Self {
        Self {
            n_neighbors: 15,
            min_dist: 0.1,
            spread: 1.0,
            n_epochs: None,
            learning_rate: 1.0,
            negative_sample_rate: 5,
            repulsion_strength: 1.0,
            metric: Metric::Euclidean,
            init: LayoutInit::Pca,
            // The graph only needs approximate neighbours; a lighter build than for search.
            index: IndexParams { m: 12, ef_construction: 64, ef_search: 32, exact_threshold: 5_000 },
            seed: 42,
        }
    }
}

impl UmapParams {
    fn check(&self, n: usize) -> Result<()> {
        if n < 3 {
            return Err(PretextError::Analysis(format!("UMAP needs at least 3 points, got {n}")));
        }
        if self.n_neighbors < 2 || !(self.min_dist >= 0.0) || !(self.spread > 0.0) || self.min_dist > self.spread {
            return Err(PretextError::InvalidConfig(format!(
                "UMAP needs n_neighbors >= 2 and 0 <= min_dist <= spread (got {}, {}, {})",
                self.n_neighbors, self.min_dist, self.spread
            )));
        }
        if !(self.learning_rate > 0.0) || self.n_epochs == Some(0) {
            return Err(PretextError::InvalidConfig("UMAP needs a positive learning rate and epoch count".into()));
        }
        Ok(())
    }
}

/// Embeds `data` in 2D. `on_epoch(epoch, layout)` is called after every epoch with the current
/// layout; returning `false` stops early and returns that layout.
pub fn umap(data: &Matrix, params: &UmapParams, mut on_epoch: impl FnMut(usize, &Matrix) -> bool) -> Result<Matrix> {
    params.check(data.rows)?;
    let k = (params.n_neighbors - 1).min(data.rows - 1);
    let knn = NeighborIndex::build(data, params.metric, params.index.clone())?.knn_graph(k);
    let graph = fuzzy_simplicial_set(&knn, params.n_neighbors);
    let init = match &params.init {
        LayoutInit::Spectral => match spectral_layout(&graph, params.seed) {
            Some(layout) => layout,
            None => LayoutInit::Pca.layout(data, params.seed)?,
        },
        other => other.layout(data, params.seed)?,
    };
    layout_graph(&graph, init, params, &mut on_epoch)
}

/// The SGD layout of an already built fuzzy graph, from `init` (`n × 2`).
pub fn layout_graph(
    graph: &Graph,
    mut init: Matrix,
    params: &UmapParams,
    on_epoch: &mut impl FnMut(usize, &Matrix) -> bool,
) -> Result<Matrix> {
    rescale_box(&mut init, 10.0);
    layout_graph_fixed(graph, init, params, &[], on_epoch)
}

/// [`layout_graph`] with the points where `fixed` is true held where `init` has them (new
/// points placed into an existing map, as umap-learn's `transform` does). `init` is used in
/// its own frame, not rescaled: the caller brings it to UMAP's scale. Edges between two fixed
/// points are dropped; an empty `fixed` moves every point.
pub fn layout_graph_fixed(
    graph: &Graph,
    init: Matrix,
    params: &UmapParams,
    fixed: &[bool],
    on_epoch: &mut impl FnMut(usize, &Matrix) -> bool,
) -> Result<Matrix> {
    let n = graph.n;
    if init.rows != n || init.cols != 2 || !(fixed.is_empty() || fixed.len() == n) {
        return Err(PretextError::Analysis(format!(
            "UMAP layout is {}×{} with {} fixed flags, expected {n}×2 and {n} flags",
            init.rows,
            init.cols,
            fixed.len()
        )));
    }
    let n_epochs = params.n_epochs.unwrap_or(if n > 10_000 { 200 } else { 500 });
    let (a, b) = fit_ab(params.min_dist, params.spread);
    let pos: Vec<AtomicU32> = init.data.iter().map(|v| AtomicU32::new(v.to_bits())).collect();
    let is_fixed = |i: u32| fixed.get(i as usize).copied().unwrap_or(false);

    // umap-learn drops edges too weak to be sampled even once.
    let max_w = graph.weight.iter().cloned().fold(0.0f32, f32::max);
    let mut edges: Vec<Edge> = (0..graph.head.len())
        .filter(|&e| graph.weight[e] >= max_w / n_epochs as f32)
        .filter(|&e| !(is_fixed(graph.head[e]) && is_fixed(graph.tail[e])))
        .map(|e| {
            let every = max_w / graph.weight[e];
            let every_neg = every / params.negative_sample_rate.max(1) as f32;
            Edge { head: graph.head[e], tail: graph.tail[e], every, next: every, every_neg, next_neg: every_neg }
        })
        .collect();
    let chunk = 4096;
    let mut layout = init;
    for epoch in 0..n_epochs {
        let alpha = params.learning_rate * (1.0 - epoch as f32 / n_epochs as f32);
        let step = Step { a, b, gamma: params.repulsion_strength, alpha, epoch: epoch as f32, n: n as u32, fixed };
        edges.par_chunks_mut(chunk).enumerate().for_each(|(c, chunk_edges)| {
            let mut rng = Rng::new(params.seed ^ ((epoch as u64) << 32) ^ c as u64);
            chunk_edges.iter_mut().for_each(|e| step.edge(e, &pos, &mut rng));
        });
        layout.data.iter_mut().zip(&pos).for_each(|(v, p)| *v = f32::from_bits(p.load(Relaxed)));
        if !on_epoch(epoch, &layout) {
            break;
        }
    }
    Ok(layout)
}

struct Edge {
    head: u32,
    tail: u32,
    every: f32,
    next: f32,
    every_neg: f32,
    next_neg: f32,
}

struct Step<'a> {
    a: f32,
    b: f32,
    gamma: f32,
    alpha: f32,
    epoch: f32,
    n: u32,
    /// Points that never move (empty: none).
    fixed: &'a [bool],
}

#[inline]
fn load(pos: &[AtomicU32], i: usize) -> [f32; 2] {
    [f32::from_bits(pos[2 * i].load(Relaxed)), f32::from_bits(pos[2 * i + 1].load(Relaxed))]
}

#[inline]
fn store(pos: &[AtomicU32], i: usize, p: [f32; 2]) {
    pos[2 * i].store(p[0].to_bits(), Relaxed);
    pos[2 * i + 1].store(p[1].to_bits(), Relaxed);
}

/// A hint to start loading point `i`'s position into cache; never faults.
#[inline(always)]
fn prefetch(pos: &[AtomicU32], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(p) = pos.get(2 * i) {
        // SAFETY: prefetching is a hint that never dereferences or faults, and SSE is part of
        // the x86-64 baseline.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((p as *const AtomicU32).cast::<i8>()) };
    }
}

impl Step<'_> {
    #[inline]
    fn is_fixed(&self, i: usize) -> bool {
        self.fixed.get(i).copied().unwrap_or(false)
    }

    #[inline]
    fn edge(&self, e: &mut Edge, pos: &[AtomicU32], rng: &mut Rng) {
        if e.next > self.epoch {
            return;
        }
        let (j, k) = (e.head as usize, e.tail as usize);
        // Draw the negative samples first and prefetch their positions, so those random
        // reads overlap the attractive step instead of stalling one after another.
        let n_neg = ((self.epoch - e.next_neg) / e.every_neg).max(0.0) as usize;
        let mut negatives = [0usize; 16];
        for slot in negatives.iter_mut().take(n_neg) {
            *slot = rng.below(self.n);
            prefetch(pos, *slot);
        }
        let mut cur = load(pos, j);
        let mut other = load(pos, k);
        let d2 = (cur[0] - other[0]).powi(2) + (cur[1] - other[1]).powi(2);
        if d2 > 0.0 {
            let pb = fast_pow(d2, self.b);
            let coeff = -2.0 * self.a * self.b * (pb / d2) / (self.a * pb + 1.0);
            for d in 0..2 {
                let g = (coeff * (cur[d] - other[d])).clamp(-4.0, 4.0) * self.alpha;
                cur[d] += g;
                other[d] -= g;
            }
            if !self.is_fixed(k) {
                store(pos, k, other);
            }
        }
        e.next += e.every;
        if self.is_fixed(j) {
            // Only the tail moves, and negative samples only ever move the head.
            e.next_neg += n_neg as f32 * e.every_neg;
            return;
        }

        // The negative samples of one edge all see the same position and their steps are
        // summed, where umap-learn applies them one after another. Each sample's gradient then
        // no longer waits on the previous one (a ~100-cycle chain of pow and division), so the
        // CPU overlaps them; the steps are small and clipped, and trustworthiness is unchanged.
        let base = cur;
        let mut step = [0.0f32; 2];
        for s in 0..n_neg {
            let k = if s < negatives.len() { negatives[s] } else { rng.below(self.n) };
            if k == j {
                continue;
            }
            let other = load(pos, k);
            let d2 = (base[0] - other[0]).powi(2) + (base[1] - other[1]).powi(2);
            let coeff = if d2 > 0.0 {
                2.0 * self.gamma * self.b / ((0.001 + d2) * (self.a * fast_pow(d2, self.b) + 1.0))
            } else {
                0.0
            };
            for d in 0..2 {
                step[d] += if coeff > 0.0 { (coeff * (base[d] - other[d])).clamp(-4.0, 4.0) } else { 4.0 };
            }
        }
        cur[0] += step[0] * self.alpha;
        cur[1] += step[1] * self.alpha;
        e.next_neg += n_neg as f32 * e.every_neg;
        store(pos, j, cur);
    }
}

/// umap-learn's scaling of any initial layout: each axis mapped onto `[0, size]`.
fn rescale_box(layout: &mut Matrix, size: f32) {
    for d in 0..2 {
        let (lo, hi) = (0..layout.rows).fold((f32::MAX, f32::MIN), |(lo, hi), i| {
            let v = layout.data[2 * i + d];
            (lo.min(v), hi.max(v))
        });
        let span = if hi > lo { hi - lo } else { 1.0 };
        (0..layout.rows).for_each(|i| layout.data[2 * i + d] = size * (layout.data[2 * i + d] - lo) / span);
    }
}

/// xorshift64*: the sampler only needs speed and independence between chunks.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    #[inline]
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    /// Uniform in `0..n` by multiply-shift (Lemire 2019) instead of a slow `%`.
    #[inline]
    fn below(&mut self, n: u32) -> usize {
        ((self.next() as u64 * n as u64) >> 32) as usize
    }
}
