//! Starting layouts for t-SNE and UMAP: the first two principal components, found by
//! subspace (block power) iteration on the covariance without forming it. This costs a few
//! passes over the data, much less than a full PCA, and is all a 2D initialisation needs.

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::distance::dot;
use super::Matrix;

/// `n × 2` scores on the two leading principal components.
pub fn pca_2d(x: &Matrix, seed: u64) -> Matrix {
    let (n, d) = (x.rows, x.cols);
    if n == 0 || d == 0 {
        return Matrix::new(vec![0.0; 2 * n], n, 2);
    }
    let mean: Vec<f64> = {
        let mut m = vec![0.0f64; d];
        x.data.chunks(d).for_each(|r| r.iter().zip(m.iter_mut()).for_each(|(&v, s)| *s += v as f64));
        m.iter().map(|s| s / n as f64).collect()
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut basis: Vec<Vec<f64>> = (0..2).map(|_| (0..d).map(|_| rng.random::<f64>() - 0.5).collect()).collect();
    orthonormalise(&mut basis);
    let scores = |basis: &[Vec<f64>]| -> Vec<[f64; 2]> {
        let shift: Vec<f64> = basis.iter().map(|b| b.iter().zip(&mean).map(|(a, m)| a * m).sum()).collect();
        let b32: Vec<Vec<f32>> = basis.iter().map(|b| b.iter().map(|&v| v as f32).collect()).collect();
        (0..n)
            .into_par_iter()
            .map(|i| {
                let r = x.row(i);
                [dot(r, &b32[0]) as f64 - shift[0], dot(r, &b32[1]) as f64 - shift[1]]
            })
            .collect()
    };
    // A dozen rounds of subspace iteration are plenty for an initial layout.
    for _ in 0..12 {
        let s = scores(&basis);
        // Covariance times basis = Xcᵀ (Xc basis); the mean term cancels since Σ scores = 0.
        let next = (0..n)
            .into_par_iter()
            .fold(
                || vec![vec![0.0f32; d]; 2],
                |mut acc, i| {
                    for (c, a) in acc.iter_mut().enumerate() {
                        let w = s[i][c] as f32;
                        x.row(i).iter().zip(a.iter_mut()).for_each(|(&v, t)| *t += v * w);
                    }
                    acc
                },
            )
            .map(|acc| acc.into_iter().map(|a| a.into_iter().map(f64::from).collect::<Vec<f64>>()).collect::<Vec<_>>())
            .reduce(
                || vec![vec![0.0f64; d]; 2],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| x.iter_mut().zip(y).for_each(|(p, q)| *p += q));
                    a
                },
            );
        basis = next;
        orthonormalise(&mut basis);
    }
    let s = scores(&basis);
    Matrix::new(s.iter().flat_map(|p| [p[0] as f32, p[1] as f32]).collect(), n, 2)
}

fn orthonormalise(basis: &mut [Vec<f64>]) {
    for c in 0..basis.len() {
        for p in 0..c {
            let proj: f64 = basis[c].iter().zip(&basis[p]).map(|(a, b)| a * b).sum();
            let prev = basis[p].clone();
            basis[c].iter_mut().zip(&prev).for_each(|(a, b)| *a -= proj * b);
        }
        let norm = basis[c].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            basis[c].iter_mut().for_each(|v| *v /= norm);
        }
    }
}

/// Rescales a layout so its first column has standard deviation `std` (openTSNE's
/// initialisation convention: tiny, so early exaggeration can form clusters first).
pub fn rescale_to_std(layout: &mut Matrix, std: f32) {
    let n = layout.rows.max(1) as f64;
    let mean = (0..layout.rows).map(|i| layout.data[2 * i] as f64).sum::<f64>() / n;
    let var = (0..layout.rows).map(|i| (layout.data[2 * i] as f64 - mean).powi(2)).sum::<f64>() / n;
    let s = if var > 0.0 { std as f64 / var.sqrt() } else { 1.0 };
    layout.data.iter_mut().for_each(|v| *v = (*v as f64 * s) as f32);
}

/// Where an iterative 2D layout starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LayoutInit {
    /// Leading two principal components of the data.
    #[default]
    Pca,
    /// Small Gaussian noise.
    Random,
    /// Leading eigenvectors of the neighbour graph (UMAP only; see `analysis::spectral`).
    /// Methods without a graph, and graphs where the eigensolver fails, start from PCA.
    Spectral,
    /// Given positions (warm start, e.g. the previous frame of a live map), `n × 2`.
    Given(Matrix),
}

impl LayoutInit {
    /// The `n × 2` starting layout, checked against the data's row count.
    pub fn layout(&self, data: &Matrix, seed: u64) -> crate::Result<Matrix> {
        match self {
            LayoutInit::Pca | LayoutInit::Spectral => Ok(pca_2d(data, seed)),
            LayoutInit::Random => {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
                let normal = rand_distr::Normal::new(0.0f32, 1.0).map_err(|e| crate::PretextError::Analysis(e.to_string()))?;
                Ok(Matrix::new((0..2 * data.rows).map(|_| rng.sample(normal)).collect(), data.rows, 2))
            }
            LayoutInit::Given(m) => {
                if m.rows != data.rows || m.cols != 2 {
                    return Err(crate::PretextError::Analysis(format!(
                        "initial layout is {}×{}, expected {}×2",
                        m.rows, m.cols, data.rows
                    )));
                }
                if m.data.iter().any(|v| !v.is_finite()) {
                    return Err(crate::PretextError::BadData("initial layout has NaN or infinite positions".into()));
                }
                Ok(m.clone())
            }
        }
    }
}
