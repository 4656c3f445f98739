//! t-SNE (van der Maaten & Hinton 2008) at scale: sparse input affinities on the
//! `3·perplexity` nearest neighbours (van der Maaten 2014) and repulsion either by
//! Barnes-Hut (van der Maaten 2014, [`super::tsne_bh`]) or FFT interpolation (Linderman et
//! al. 2019, FIt-SNE, [`super::tsne_fft`]), with openTSNE's optimisation schedule: PCA start scaled
//! to std 1e-4, 250 iterations of early exaggeration 12 at momentum 0.5, then momentum 0.8,
//! learning rate `n / exaggeration`, delta-bar-delta gains and steps capped at norm 5.
//! Gradients omit the constant 4, as openTSNE/bhtsne do, so learning rates carry over.
//! Written here rather than wrapping `bhtsne`: that crate has no warm start, no per-iteration
//! callback and an exact VP-tree kNN that is far too slow on 784-dim data.

use rayon::prelude::*;

use super::affinity::{perplexity_affinities, SparseP};
use super::index::{IndexParams, Metric, NeighborIndex};
use super::init::{rescale_to_std, LayoutInit};
use super::tsne_bh;
use super::tsne_fft::FftRepulsion;
use super::Matrix;
use crate::error::{PretextError, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct TsneParams {
    pub perplexity: f64,
    /// `None`: `n / exaggeration` in each phase (openTSNE's "auto").
    pub learning_rate: Option<f64>,
    pub early_exaggeration: f64,
    pub early_exaggeration_iter: usize,
    /// Exaggeration after the early phase (1 = plain t-SNE).
    pub exaggeration: f64,
    /// Iterations after the early phase.
    pub n_iter: usize,
    pub initial_momentum: f64,
    pub final_momentum: f64,
    pub max_step_norm: f64,
    pub metric: Metric,
    pub repulsion: Repulsion,
    pub init: LayoutInit,
    pub index: IndexParams,
    pub seed: u64,
}

impl Default for TsneParams {
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            learning_rate: None,
            early_exaggeration: 12.0,
            early_exaggeration_iter: 250,
            exaggeration: 1.0,
            n_iter: 500,
            initial_momentum: 0.5,
            final_momentum: 0.8,
            max_step_norm: 5.0,
            metric: Metric::Euclidean,
            repulsion: Repulsion::Auto,
            init: LayoutInit::Pca,
            index: IndexParams { m: 12, ef_construction: 48, ef_search: 90, exact_threshold: 5_000 },
            seed: 42,
        }
    }
}

/// How the repulsive (negative) gradient is approximated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Repulsion {
    /// Barnes-Hut below [`BH_MAX_POINTS`] points, FFT from there on.
    Auto,
    /// Quadtree with opening angle `theta` (0.5 as in openTSNE and scikit-learn; 0 = exact).
    BarnesHut { theta: f64 },
    /// Interpolation on a grid, cost nearly linear in n.
    Fft,
}

/// Where `Auto` switches to the FFT: BH's O(n log n) per iteration undercuts the FFT grid's
/// fixed cost on small maps and falls behind on large ones. Fashion-MNIST subsets, same
/// trustworthiness either way (`cargo run --release --example tsne_crossover`): BH 1.5 s vs
/// FFT 2.5 s at 2k, 4.3 vs 6.0 s at 5k, 16.6 vs 8.4 s at 10k.
pub const BH_MAX_POINTS: usize = 8_000;

impl Repulsion {
    /// The Barnes-Hut angle, or `None` for the FFT, for `n` points.
    fn barnes_hut_theta(self, n: usize) -> Option<f64> {
        match self {
            Repulsion::Auto if n < BH_MAX_POINTS => Some(0.5),
            Repulsion::BarnesHut { theta } => Some(theta.max(0.0)),
            _ => None,
        }
    }
}

impl TsneParams {
    fn check(&self, n: usize) -> Result<()> {
        if n < 4 {
            return Err(PretextError::Analysis(format!("t-SNE needs at least 4 points, got {n}")));
        }
        if !(self.perplexity > 0.0) || !(self.early_exaggeration > 0.0) || !(self.exaggeration > 0.0) {
            return Err(PretextError::InvalidConfig("t-SNE perplexity and exaggerations must be positive".into()));
        }
        if matches!(self.learning_rate, Some(lr) if !(lr > 0.0)) {
            return Err(PretextError::InvalidConfig("t-SNE learning rate must be positive".into()));
        }
        Ok(())
    }
}

/// Embeds `data` in 2D. `on_iter(iteration, layout)` is called after every iteration
/// (early exaggeration included); returning `false` stops and returns that layout.
pub fn tsne(data: &Matrix, params: &TsneParams, mut on_iter: impl FnMut(usize, &Matrix) -> bool) -> Result<Matrix> {
    params.check(data.rows)?;
    let k = ((3.0 * params.perplexity).ceil() as usize).clamp(1, data.rows - 1);
    let mut index_params = params.index.clone();
    index_params.ef_search = index_params.ef_search.max(k);
    let knn = NeighborIndex::build(data, params.metric, index_params)?.knn_graph(k);
    let p = perplexity_affinities(&knn, params.perplexity.min(k as f64 / 3.0).max(1.0));
    let mut init = params.init.layout(data, params.seed)?;
    if !matches!(params.init, LayoutInit::Given(_)) {
        rescale_to_std(&mut init, 1e-4);
    }
    optimize(&p, init, params, &mut on_iter)
}

/// Gradient descent on the KL divergence from `init`, both phases.
pub fn optimize(p: &SparseP, init: Matrix, params: &TsneParams, on_iter: &mut impl FnMut(usize, &Matrix) -> bool) -> Result<Matrix> {
    optimize_fixed(p, init, params, &[], on_iter)
}

/// [`optimize`] with the points where `fixed` is true held where `init` has them (new points
/// placed into an existing map, as openTSNE's `transform` optimises against a fixed reference
/// embedding). The layout is then not re-centred each iteration, so the fixed points keep
/// their frame. An empty `fixed` moves every point.
pub fn optimize_fixed(
    p: &SparseP,
    init: Matrix,
    params: &TsneParams,
    fixed: &[bool],
    on_iter: &mut impl FnMut(usize, &Matrix) -> bool,
) -> Result<Matrix> {
    let n = p.rows();
    if init.rows != n || init.cols != 2 || !(fixed.is_empty() || fixed.len() == n) {
        return Err(PretextError::Analysis(format!(
            "t-SNE layout is {}×{} with {} fixed flags, expected {n}×2 and {n} flags",
            init.rows,
            init.cols,
            fixed.len()
        )));
    }
    let any_fixed = fixed.iter().any(|&f| f);
    let mut layout = init;
    let mut update = vec![0.0f64; 2 * n];
    let mut gains = vec![1.0f64; 2 * n];
    let mut rep = vec![0.0f64; 2 * n];
    let mut fft = FftRepulsion::default();
    let theta = params.repulsion.barnes_hut_theta(n);
    let phases = [
        (params.early_exaggeration, params.early_exaggeration_iter, params.initial_momentum),
        (params.exaggeration, params.n_iter, params.final_momentum),
    ];
    let mut iter = 0;
    for (exaggeration, iters, momentum) in phases {
        let lr = params.learning_rate.unwrap_or((n as f64 / exaggeration).max(1.0));
        for _ in 0..iters {
            let z = match theta {
                Some(theta) => tsne_bh::forces(&layout.data, theta, &mut rep),
                None => fft.forces(&layout.data, &mut rep),
            };
            if !z.is_finite() {
                return Err(PretextError::Diverged(format!("t-SNE normaliser became {z} at iteration {iter}")));
            }
            let y = &layout.data;
            let step = |i: usize, u: &mut [f64], g: &mut [f64]| {
                if fixed.get(i).copied().unwrap_or(false) {
                    u.iter_mut().for_each(|v| *v = 0.0);
                    return;
                }
                let (xi, yi) = (y[2 * i], y[2 * i + 1]);
                let mut attr = [0.0f64; 2];
                for e in p.row_start[i]..p.row_start[i + 1] {
                    let j = p.col[e] as usize;
                    let (dx, dy) = (xi - y[2 * j], yi - y[2 * j + 1]);
                    let w = p.val[e] / (1.0 + dx * dx + dy * dy);
                    attr[0] += (w * dx) as f64;
                    attr[1] += (w * dy) as f64;
                }
                let mut norm = 0.0;
                for d in 0..2 {
                    let grad = exaggeration * attr[d] - rep[2 * i + d] / z;
                    // Delta-bar-delta (Jacobs 1988): grow the gain while the sign keeps flipping.
                    g[d] = if (grad > 0.0) != (u[d] > 0.0) { g[d] + 0.2 } else { g[d] * 0.8 + 0.01 };
                    u[d] = momentum * u[d] - lr * g[d] * grad;
                    norm += u[d] * u[d];
                }
                let norm = norm.sqrt();
                if norm > params.max_step_norm {
                    u.iter_mut().for_each(|v| *v *= params.max_step_norm / norm);
                }
            };
            update.par_chunks_mut(2).zip(gains.par_chunks_mut(2)).enumerate().for_each(|(i, (u, g))| step(i, u, g));
            let mut mean = [0.0f64; 2];
            for (i, u) in update.iter().enumerate() {
                let v = layout.data[i] as f64 + u;
                layout.data[i] = v as f32;
                mean[i % 2] += v;
            }
            if !any_fixed {
                let mean = [(mean[0] / n as f64) as f32, (mean[1] / n as f64) as f32];
                layout.data.iter_mut().enumerate().for_each(|(i, v)| *v -= mean[i % 2]);
            }
            if !on_iter(iter, &layout) {
                return Ok(layout);
            }
            iter += 1;
        }
    }
    Ok(layout)
}
