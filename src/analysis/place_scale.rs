//! The scale at which a 2D map sits in t-SNE's or UMAP's own units.
//!
//! A map on screen is normalised (centred, unit root-mean-square radius), but t-SNE's
//! Student-t kernel and UMAP's `1 / (1 + a d^2b)` curve compare distances against 1: new
//! points can only be optimised among fixed old ones once the old layout is back at the
//! scale its method gave it. That scale is where the method's objective, as a function of a
//! uniform scale of the whole layout, is lowest: a converged layout is a minimum of its
//! objective in every direction, stretching included. So one uniform factor `s` is searched
//! for (a coarse scan in log space, then golden-section search around the best point):
//! - t-SNE: the KL divergence of the input affinities P from the map's Q (van der Maaten &
//!   Hinton 2008), with Q's normaliser from the Barnes-Hut or FFT repulsion;
//! - UMAP: where the SGD's expected update (McInnes et al. 2018, §3.2 and its reference
//!   implementation's clipped gradients), estimated with negative samples drawn once so every
//!   candidate scale is judged on the same pairs, neither stretches nor shrinks the layout.

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::affinity::SparseP;
use super::fuzzy::Graph;
use super::tsne::BH_MAX_POINTS;
use super::tsne_fft::FftRepulsion;
use super::tsne_bh;

/// Candidate factors scanned: from 1e-2 to 1e4 times a unit-radius layout.
const SCAN_FROM: f64 = -2.0;
const SCAN_TO: f64 = 4.0;
const SCAN_POINTS: usize = 25;
const GOLDEN_STEPS: usize = 16;

/// Negative samples drawn per edge for UMAP's repulsive term, and edges used at most.
const NEGATIVES_PER_EDGE: usize = 5;
const MAX_EDGES: usize = 200_000;

/// The factor that minimises `loss(s)` for `s` in 10^[-2, 4], for a layout with unit RMS radius.
fn minimise(loss: impl Fn(f64) -> f64) -> f64 {
    let grid: Vec<f64> = (0..SCAN_POINTS).map(|i| SCAN_FROM + (SCAN_TO - SCAN_FROM) * i as f64 / (SCAN_POINTS - 1) as f64).collect();
    let values: Vec<f64> = grid.iter().map(|&g| loss(10f64.powf(g))).collect();
    let best = values.iter().enumerate().fold(0, |b, (i, v)| if *v < values[b] || values[b].is_nan() { i } else { b });
    let (mut lo, mut hi) = (grid[best.saturating_sub(1)], grid[(best + 1).min(SCAN_POINTS - 1)]);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let at = |g: f64| loss(10f64.powf(g));
    let (mut a, mut b) = (hi - ratio * (hi - lo), lo + ratio * (hi - lo));
    let (mut fa, mut fb) = (at(a), at(b));
    for _ in 0..GOLDEN_STEPS {
        if fa < fb {
            hi = b;
            (b, fb) = (a, fa);
            a = hi - ratio * (hi - lo);
            fa = at(a);
        } else {
            lo = a;
            (a, fa) = (b, fb);
            b = lo + ratio * (hi - lo);
            fb = at(b);
        }
    }
    10f64.powf((lo + hi) / 2.0)
}

/// `layout` (flat x, y pairs) centred, and its RMS radius.
fn centred(layout: &[f32]) -> (Vec<f32>, f64) {
    let n = (layout.len() / 2).max(1) as f64;
    let (sx, sy) = layout.chunks_exact(2).fold((0.0f64, 0.0f64), |(a, b), p| (a + p[0] as f64, b + p[1] as f64));
    let (cx, cy) = (sx / n, sy / n);
    let out: Vec<f32> = layout.chunks_exact(2).flat_map(|p| [(p[0] as f64 - cx) as f32, (p[1] as f64 - cy) as f32]).collect();
    let rms = (out.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / n).sqrt();
    (out, rms)
}

/// How much `layout` (flat x, y pairs, the rows of `p`) must be stretched about its centre
/// to be at t-SNE's scale for the affinities `p`.
pub fn tsne_scale(p: &SparseP, layout: &[f32]) -> f64 {
    let (base, rms) = centred(layout);
    if rms <= 0.0 || p.rows() < 2 {
        return 1.0;
    }
    let unit: Vec<f32> = base.iter().map(|v| (*v as f64 / rms) as f32).collect();
    let n = p.rows();
    let kl = |s: f64| {
        let y: Vec<f32> = unit.iter().map(|v| (*v as f64 * s) as f32).collect();
        let mut rep = vec![0.0f64; y.len()];
        let z = if n < BH_MAX_POINTS { tsne_bh::forces(&y, 0.5, &mut rep) } else { FftRepulsion::default().forces(&y, &mut rep) };
        // KL(P‖Q) up to the constant Σ p log p: −Σ p log q_ij + log Z (Σ p = 1).
        let cross: f64 = (0..n)
            .into_par_iter()
            .map(|i| {
                (p.row_start[i]..p.row_start[i + 1])
                    .map(|e| {
                        let j = p.col[e] as usize;
                        let d2 = (y[2 * i] as f64 - y[2 * j] as f64).powi(2) + (y[2 * i + 1] as f64 - y[2 * j + 1] as f64).powi(2);
                        p.val[e] as f64 * (1.0 + d2).ln()
                    })
                    .sum::<f64>()
            })
            .sum();
        let mass: f64 = p.val.iter().map(|&v| v as f64).sum();
        cross + mass * z.max(f64::MIN_POSITIVE).ln()
    };
    minimise(kl) / rms
}

/// How much `layout` (flat x, y pairs, the graph's points) must be stretched about its
/// centre to be at UMAP's scale for the fuzzy graph `graph` and output curve `a`, `b`.
///
/// UMAP's SGD clips each gradient coordinate at 4, which weakens the repulsion between close
/// points, so its layouts settle smaller than its cross-entropy's minimum (40% smaller on
/// the bundled sample). The scale is therefore where the SGD's expected update, clipped as
/// it clips, neither stretches nor shrinks the layout: the virial `Σ yᵢ · E[Δyᵢ]` of one
/// epoch (each edge sampled in proportion to its weight, with its negative samples) is zero.
/// It is positive (the layout grows) at small scales and negative at large ones.
pub fn umap_scale(graph: &Graph, layout: &[f32], a: f32, b: f32, negative_sample_rate: usize, repulsion: f32, seed: u64) -> f64 {
    let (base, rms) = centred(layout);
    let n = graph.n;
    if rms <= 0.0 || n < 2 || graph.head.is_empty() {
        return 1.0;
    }
    let unit: Vec<f32> = base.iter().map(|v| (*v as f64 / rms) as f32).collect();
    // Edges (a seeded sample on large graphs) and, per edge, negative partners drawn once.
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let edges: Vec<usize> = if graph.head.len() <= MAX_EDGES {
        (0..graph.head.len()).collect()
    } else {
        rand::seq::index::sample(&mut rng, graph.head.len(), MAX_EDGES).into_vec()
    };
    let partners: Vec<u32> = (0..edges.len() * NEGATIVES_PER_EDGE).map(|_| rng.random_range(0..n as u32)).collect();
    let (a, b, gamma) = (a as f64, b as f64, repulsion as f64);
    let per_sample = negative_sample_rate as f64 / NEGATIVES_PER_EDGE as f64;
    let at = |i: usize, s: f64| [unit[2 * i] as f64 * s, unit[2 * i + 1] as f64 * s];
    let virial = |s: f64| {
        edges
            .par_iter()
            .enumerate()
            .map(|(k, &e)| {
                let (i, j) = (graph.head[e] as usize, graph.tail[e] as usize);
                let (yi, yj) = (at(i, s), at(j, s));
                let delta = [yi[0] - yj[0], yi[1] - yj[1]];
                let d2 = delta[0] * delta[0] + delta[1] * delta[1];
                // The attractive step moves both ends, by ±g: its virial is g · Δ.
                let mut v = 0.0;
                if d2 > 0.0 {
                    let pb = d2.powf(b);
                    let coeff = -2.0 * a * b * (pb / d2) / (a * pb + 1.0);
                    v += (0..2).map(|d| (coeff * delta[d]).clamp(-4.0, 4.0) * delta[d]).sum::<f64>();
                }
                // Each negative sample moves the head only: its virial is yᵢ · step.
                for &m in &partners[k * NEGATIVES_PER_EDGE..(k + 1) * NEGATIVES_PER_EDGE] {
                    if m as usize == i {
                        continue;
                    }
                    let ym = at(m as usize, s);
                    let dm = [yi[0] - ym[0], yi[1] - ym[1]];
                    let d2 = dm[0] * dm[0] + dm[1] * dm[1];
                    if d2 > 0.0 {
                        let coeff = 2.0 * gamma * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0));
                        v += per_sample * (0..2).map(|d| (coeff * dm[d]).clamp(-4.0, 4.0) * yi[d]).sum::<f64>();
                    }
                }
                graph.weight[e] as f64 * v
            })
            .sum::<f64>()
    };
    falling_root(virial) / rms
}

/// The factor in 10^[-2, 4] where `f` turns from positive to negative (bisection in log
/// space after a coarse scan); the end of the range nearest to it when it never does.
fn falling_root(f: impl Fn(f64) -> f64) -> f64 {
    let grid: Vec<f64> = (0..SCAN_POINTS).map(|i| SCAN_FROM + (SCAN_TO - SCAN_FROM) * i as f64 / (SCAN_POINTS - 1) as f64).collect();
    let values: Vec<f64> = grid.iter().map(|&g| f(10f64.powf(g))).collect();
    let Some(cross) = (1..SCAN_POINTS).find(|&i| values[i - 1] > 0.0 && values[i] <= 0.0) else {
        return 10f64.powf(if values.iter().all(|&v| v > 0.0) { SCAN_TO } else { SCAN_FROM });
    };
    let (mut lo, mut hi) = (grid[cross - 1], grid[cross]);
    for _ in 0..2 * GOLDEN_STEPS {
        let mid = (lo + hi) / 2.0;
        if f(10f64.powf(mid)) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    10f64.powf((lo + hi) / 2.0)
}
