//! relu(BatchNorm(z)) in training mode for an N × C batch, as one candle op (Ioffe & Szegedy
//! 2015, "Batch Normalization"): per feature c, with the batch mean μ and biased variance σ²,
//!   ẑ = (z − μ)/√(σ² + ε),   y = relu(γ·ẑ + β).
//! Backward, with G = dY ⊙ [Y > 0] and M = N:
//!   dβ = Σ G,   dγ = Σ G·ẑ,   dz = γ/√(σ² + ε) · (G − dβ/M − ẑ·dγ/M).
//! z is the op's input, so the backward recomputes ẑ from it; only the statistics are kept.

use std::sync::{Arc, Mutex};

use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::rows_per_task;
use crate::ssl::cpu::{f32_slice, with_f32};

pub(super) struct BnReluOp {
    pub eps: f64,
    pub saved: Arc<Mutex<Option<Stats>>>,
}

/// Batch statistics per feature, for the backward pass and the running statistics.
pub(super) struct Stats {
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
    invstd: Vec<f32>,
}

fn poisoned() -> candle_core::Error {
    candle_core::Error::Msg("batch norm state poisoned".into())
}

/// Column means and biased variances of an N × C row-major matrix (two passes: the
/// one-pass Σz² − (Σz)²/N loses digits when |μ| ≫ σ).
fn column_stats(z: &[f32], n: usize, c: usize) -> (Vec<f32>, Vec<f32>) {
    let mut mean = vec![0f32; c];
    for row in z.chunks_exact(c) {
        mean.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
    }
    mean.iter_mut().for_each(|s| *s /= n as f32);
    let mut var = vec![0f32; c];
    for row in z.chunks_exact(c) {
        var.iter_mut().zip(row).zip(&mean).for_each(|((s, &v), &m)| *s += (v - m) * (v - m));
    }
    var.iter_mut().for_each(|s| *s /= n as f32);
    (mean, var)
}

impl CustomOp3 for BnReluOp {
    fn name(&self) -> &'static str {
        "pretext-batch-norm-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, c) = l1.shape().dims2()?;
        let (z, gamma, beta) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?, f32_slice(s3, l3)?);
        if gamma.len() != c || beta.len() != c {
            bail!("batch norm: {c} features but {} and {} parameters", gamma.len(), beta.len());
        }
        let (mean, var) = column_stats(z, n, c);
        let invstd: Vec<f32> = var.iter().map(|&v| (1.0 / (v as f64 + self.eps).sqrt()) as f32).collect();
        // y = relu(a·z + b) with a = γ/σ, b = β − μ·a.
        let a: Vec<f32> = (0..c).map(|i| gamma[i] * invstd[i]).collect();
        let b: Vec<f32> = (0..c).map(|i| beta[i] - mean[i] * a[i]).collect();
        let mut y = vec![0f32; n * c];
        y.par_chunks_mut(rows_per_task(n) * c).zip(z.par_chunks(rows_per_task(n) * c)).for_each(|(ys, zs)| {
            for (yr, zr) in ys.chunks_exact_mut(c).zip(zs.chunks_exact(c)) {
                for i in 0..c {
                    let v = a[i] * zr[i] + b[i];
                    yr[i] = if v < 0.0 { 0.0 } else { v };
                }
            }
        });
        *self.saved.lock().map_err(|_| poisoned())? = Some(Stats { mean, var, invstd });
        Ok((CpuStorage::F32(y), Shape::from((n, c))))
    }

    fn bwd(
        &self,
        z: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let guard = self.saved.lock().map_err(|_| poisoned())?;
        let Some(s) = guard.as_ref() else { bail!("batch norm: backward before forward") };
        let (n, c) = z.dims2()?;
        let grad = grad.contiguous()?;
        let (dz, dgamma, dbeta) = with_f32(&grad, |dy| {
            with_f32(res, |y| with_f32(z, |zs| with_f32(gamma, |gs| Ok(backward(s, gs, zs, y, dy, n, c)))))
        })?;
        let dev = z.device();
        Ok((
            Some(Tensor::from_vec(dz, (n, c), dev)?),
            Some(Tensor::from_vec(dgamma, gamma.shape(), dev)?),
            Some(Tensor::from_vec(dbeta, beta.shape(), dev)?),
        ))
    }
}

/// (dz, dγ, dβ); see the module notes.
fn backward(s: &Stats, gamma: &[f32], z: &[f32], y: &[f32], dy: &[f32], n: usize, c: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    // Σ G and Σ G·ẑ per feature, accumulated row by row (vectorises across features).
    let (mut sum_g, mut sum_gz) = (vec![0f32; c], vec![0f32; c]);
    for ((zr, yr), dr) in z.chunks_exact(c).zip(y.chunks_exact(c)).zip(dy.chunks_exact(c)) {
        for i in 0..c {
            let g = if yr[i] > 0.0 { dr[i] } else { 0.0 };
            sum_g[i] += g;
            sum_gz[i] += g * (zr[i] - s.mean[i]) * s.invstd[i];
        }
    }
    let m = n as f32;
    let gain: Vec<f32> = (0..c).map(|i| gamma[i] * s.invstd[i]).collect();
    let mean_g: Vec<f32> = sum_g.iter().map(|v| v / m).collect();
    let mean_gz: Vec<f32> = sum_gz.iter().map(|v| v / m).collect();
    let mut dz = vec![0f32; n * c];
    let rows = rows_per_task(n) * c;
    dz.par_chunks_mut(rows).zip(z.par_chunks(rows)).zip(y.par_chunks(rows)).zip(dy.par_chunks(rows)).for_each(
        |(((dzs, zs), ys), dys)| {
            let it = dzs.chunks_exact_mut(c).zip(zs.chunks_exact(c)).zip(ys.chunks_exact(c)).zip(dys.chunks_exact(c));
            for (((dr, zr), yr), gr) in it {
                for i in 0..c {
                    let g = if yr[i] > 0.0 { gr[i] } else { 0.0 };
                    let zhat = (zr[i] - s.mean[i]) * s.invstd[i];
                    dr[i] = gain[i] * (g - mean_g[i] - zhat * mean_gz[i]);
                }
            }
        },
    );
    (dz, sum_gz, sum_g)
}
