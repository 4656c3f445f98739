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
use crate::ssl::cpu::{f32_slice, relu_gate, with_f32};

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
        let (a, b) = (&a[..c], &b[..c]);
        y.par_chunks_mut(rows_per_task(n) * c).zip(z.par_chunks(rows_per_task(n) * c)).for_each(|(ys, zs)| {
            for (yr, zr) in ys.chunks_exact_mut(c).zip(zs.chunks_exact(c)) {
                let (yr, zr) = (&mut yr[..c], &zr[..c]);
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

/// (dz, dγ, dβ); see the module notes. Every inner loop runs over slices cut to exactly C
/// values, so the compiler drops the bounds checks and vectorises across features.
fn backward(s: &Stats, gamma: &[f32], z: &[f32], y: &[f32], dy: &[f32], n: usize, c: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (mean, invstd, gamma) = (&s.mean[..c], &s.invstd[..c], &gamma[..c]);
    // Σ G and Σ G·(z − μ) per feature, accumulated row by row.
    let (mut sum_g, mut sum_gzc) = (vec![0f32; c], vec![0f32; c]);
    for ((zr, yr), dr) in z.chunks_exact(c).zip(y.chunks_exact(c)).zip(dy.chunks_exact(c)) {
        let (zr, yr, dr, sg, sgz) = (&zr[..c], &yr[..c], &dr[..c], &mut sum_g[..c], &mut sum_gzc[..c]);
        for i in 0..c {
            let g = relu_gate(dr[i], yr[i]);
            sg[i] += g;
            sgz[i] += g * (zr[i] - mean[i]);
        }
    }
    let sum_gz: Vec<f32> = sum_gzc.iter().zip(invstd).map(|(v, s)| v * s).collect();
    // dz = gain·(G − mean(G) − ẑ·mean(G·ẑ)) = gain·G + (A·z + B) per feature.
    let m = n as f32;
    let gain: Vec<f32> = (0..c).map(|i| gamma[i] * invstd[i]).collect();
    let a: Vec<f32> = (0..c).map(|i| -gain[i] * invstd[i] * sum_gz[i] / m).collect();
    let b: Vec<f32> = (0..c).map(|i| -gain[i] * sum_g[i] / m - a[i] * mean[i]).collect();
    let (gain, a, b) = (&gain[..c], &a[..c], &b[..c]);
    let mut dz = vec![0f32; n * c];
    let rows = rows_per_task(n) * c;
    dz.par_chunks_mut(rows).enumerate().for_each(|(t, dzs)| {
        let at = t * rows;
        let (zs, ys, dys) = (&z[at..at + dzs.len()], &y[at..at + dzs.len()], &dy[at..at + dzs.len()]);
        for (((dr, zr), yr), gr) in dzs.chunks_exact_mut(c).zip(zs.chunks_exact(c)).zip(ys.chunks_exact(c)).zip(dys.chunks_exact(c)) {
            let (dr, zr, yr, gr) = (&mut dr[..c], &zr[..c], &yr[..c], &gr[..c]);
            for i in 0..c {
                let g = relu_gate(gr[i], yr[i]);
                dr[i] = gain[i] * g + (a[i] * zr[i] + b[i]);
            }
        }
    });
    (dz, sum_gz, sum_g)
}
