//! Spectral initialisation for UMAP, umap-learn's default (McInnes et al. 2018, §4): the
//! layout starts at the two leading non-trivial eigenvectors of the normalised graph
//! `D^-1/2 W D^-1/2` (equivalently, the smallest of the normalised Laplacian), found by
//! LOBPCG (linfa-linalg) with the trivial eigenvector `D^1/2·1` as a constraint.
//!
//! umap-learn lays out each connected component separately and arranges them afterwards.
//! Here a weak uniform edge (`TELEPORT` of the mean degree, spread over all pairs) joins the
//! components instead: the trivial eigenvector stays exact, the next ones then separate the
//! components first, and the whole layout comes from one eigenproblem.

use linfa_linalg::lobpcg::{lobpcg, Order};
use ndarray::{Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::fuzzy::Graph;
use super::Matrix;

/// Weight of the uniform edges as a fraction of the mean degree.
const TELEPORT: f64 = 1e-3;
/// LOBPCG residual tolerance and iteration cap: an initial layout does not need more, and a
/// poorly separated spectrum must not stall the projection.
const TOLERANCE: f32 = 1e-4;
const MAX_ITERATIONS: usize = 200;

/// Rows of the graph as CSR, built from its edge list (in any order).
struct Csr {
    start: Vec<usize>,
    col: Vec<u32>,
    val: Vec<f64>,
}

impl Csr {
    fn of(graph: &Graph) -> Self {
        let mut order: Vec<usize> = (0..graph.head.len()).collect();
        order.sort_by_key(|&e| (graph.head[e], graph.tail[e]));
        let mut start = vec![0usize; graph.n + 1];
        for &h in &graph.head {
            start[h as usize + 1] += 1;
        }
        for i in 0..graph.n {
            start[i + 1] += start[i];
        }
        Csr {
            start,
            col: order.iter().map(|&e| graph.tail[e]).collect(),
            val: order.iter().map(|&e| graph.weight[e] as f64).collect(),
        }
    }
}

/// `n × 2` starting layout, or `None` when the eigensolver fails (the caller falls back to
/// another initialisation).
pub fn spectral_layout(graph: &Graph, seed: u64) -> Option<Matrix> {
    let n = graph.n;
    if n < 4 {
        return None;
    }
    let csr = Csr::of(graph);
    let degree: Vec<f64> = (0..n).map(|i| csr.val[csr.start[i]..csr.start[i + 1]].iter().sum()).collect();
    let teleport = TELEPORT * degree.iter().sum::<f64>() / n as f64;
    let teleport = if teleport > 0.0 { teleport } else { 1.0 };
    // Degrees of W + (teleport / n)·11ᵀ.
    let inv_sqrt: Vec<f64> = degree.iter().map(|d| 1.0 / (d + teleport).sqrt()).collect();
    let operator = |y: ArrayView2<f64>| -> Array2<f64> {
        let cols = y.ncols();
        let mut scaled = y.to_owned();
        scaled.axis_iter_mut(Axis(0)).zip(&inv_sqrt).for_each(|(mut row, s)| row *= *s);
        let column_sums: Vec<f64> = (0..cols).map(|c| scaled.column(c).sum() * teleport / n as f64).collect();
        let mut out = Array2::<f64>::zeros((n, cols));
        out.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(i, mut row)| {
            for e in csr.start[i]..csr.start[i + 1] {
                let (j, w) = (csr.col[e] as usize, csr.val[e]);
                row.iter_mut().zip(scaled.row(j)).for_each(|(o, v)| *o += w * v);
            }
            row.iter_mut().zip(&column_sums).for_each(|(o, s)| *o = (*o + s) * inv_sqrt[i]);
        });
        out
    };
    let trivial = {
        let v: Vec<f64> = inv_sqrt.iter().map(|s| 1.0 / s).collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        Array2::from_shape_vec((n, 1), v.iter().map(|x| x / norm).collect()).ok()?
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let start = Array2::from_shape_fn((n, 2), |_| rng.random::<f64>() - 0.5);
    let found = match lobpcg(operator, start, |_| {}, Some(trivial.view()), TOLERANCE, MAX_ITERATIONS, Order::Largest) {
        Ok(r) | Err((_, Some(r))) => r,
        Err((_, None)) => return None,
    };
    let vectors = found.eigvecs;
    if vectors.ncols() < 2 || !vectors.iter().all(|v| v.is_finite()) {
        return None;
    }
    // umap-learn's scaling: the largest coordinate at 10 (the layout rescales it anyway).
    let largest = vectors.iter().fold(0f64, |m, v| m.max(v.abs()));
    if largest <= 0.0 {
        return None;
    }
    let data = vectors.rows().into_iter().flat_map(|r| [(r[0] * 10.0 / largest) as f32, (r[1] * 10.0 / largest) as f32]).collect();
    Some(Matrix::new(data, n, 2))
}
