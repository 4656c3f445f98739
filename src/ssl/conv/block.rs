//! conv → (BatchNorm in training mode | bias) → ReLU → k×k max-pool, as one candle op.
//!
//! Why fused: in candle each step after the convolution is one or more full passes over the
//! largest activation of the network (BatchNorm alone transposes, copies and broadcasts it
//! about ten times, its backward as many again), each allocating and page-faulting a fresh
//! buffer, and candle's backprop adds every gradient into a fresh zero tensor. Here the conv
//! output stays inside the op: the forward is the conv GEMMs, one statistics pass and one
//! normalise+ReLU+pool pass; the backward one pass to the conv output's gradient, then the
//! conv GEMMs. Max-pool sends each window's gradient to one input, so the chain through ReLU
//! and the affine is sparse; only BatchNorm's mean and variance terms are dense
//! (Ioffe & Szegedy 2015, "Batch Normalization", backward pass):
//!   dz = γ·σ⁻¹·(dy − mean(dy) − ẑ·mean(dy·ẑ)),   dγ = Σ dy·ẑ,   dβ = Σ dy.

use std::sync::{Arc, Mutex};

use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::kernels::Geom;
use super::{lowering, scratch};
use crate::ssl::cpu::{f32_slice, with_f32};

#[derive(Debug, Clone, Copy)]
pub(super) enum Affine {
    /// Third argument: γ then β (2·O values); batch statistics.
    BatchNorm { eps: f64 },
    /// Third argument: the conv bias (O values).
    Bias,
}

/// What the forward pass leaves for the backward pass and for the running statistics.
pub(super) struct Saved {
    /// The conv output, N × O × Ho·Wo.
    z: Vec<f32>,
    /// Batch mean and biased variance per channel (BatchNorm only).
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
    invstd: Vec<f32>,
    /// Per pooled output, the offset (dy·k + dx) of its window's maximum.
    argmax: Vec<u8>,
}

impl Drop for Saved {
    fn drop(&mut self) {
        scratch::give(std::mem::take(&mut self.z));
    }
}

pub(super) struct BlockOp {
    pub padding: usize,
    pub stride: usize,
    pub pool: usize,
    pub affine: Affine,
    pub saved: Arc<Mutex<Option<Saved>>>,
}

/// Planes per rayon task in the element-wise passes.
const PLANES_PER_TASK: usize = 8;

fn poisoned() -> candle_core::Error {
    candle_core::Error::Msg("conv block state poisoned".into())
}

impl BlockOp {
    fn geom(&self, x: (usize, usize, usize, usize), w: (usize, usize, usize, usize)) -> Result<Geom> {
        let g = Geom::new(x, w, self.padding, self.stride)?;
        let k = self.pool;
        if k == 0 || k * k > u8::MAX as usize || g.ho < k || g.wo < k {
            bail!("max_pool2d: window {k} does not fit a {}×{} conv output", g.ho, g.wo);
        }
        Ok(g)
    }
}

impl CustomOp3 for BlockOp {
    fn name(&self) -> &'static str {
        "pretext-conv-block"
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
        let g = self.geom(l1.shape().dims4()?, l2.shape().dims4()?)?;
        let (x, w, p) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?, f32_slice(s3, l3)?);
        let (c, hw) = (g.o, g.howo());
        // forward_into writes every value.
        let mut z = scratch::take_stale(g.n * g.out_len());
        lowering::forward_into(&g, x, w, &mut z);
        // Per channel, y = relu(a·z + b).
        let (mean, var, invstd, a, b) = match self.affine {
            Affine::BatchNorm { eps } => {
                if p.len() != 2 * c {
                    bail!("batch norm: {c} channels but {} parameters", p.len());
                }
                let (mean, var) = channel_stats(&z, g.n, c, hw);
                let invstd: Vec<f32> = var.iter().map(|&v| (1.0 / (v as f64 + eps).sqrt()) as f32).collect();
                let a: Vec<f32> = (0..c).map(|i| p[i] * invstd[i]).collect();
                let b: Vec<f32> = (0..c).map(|i| p[c + i] - mean[i] * a[i]).collect();
                (mean, var, invstd, a, b)
            }
            Affine::Bias => {
                if p.len() != c {
                    bail!("conv bias: {c} channels but {} values", p.len());
                }
                (vec![], vec![], vec![], vec![1.0; c], p.to_vec())
            }
        };
        let (k, ho, wo) = (self.pool, g.ho / self.pool, g.wo / self.pool);
        let mut out = vec![0f32; g.n * c * ho * wo];
        let mut argmax = vec![0u8; out.len()];
        out.par_chunks_mut(ho * wo * PLANES_PER_TASK)
            .zip(argmax.par_chunks_mut(ho * wo * PLANES_PER_TASK))
            .enumerate()
            .for_each(|(task, (ys, idx))| {
                for (j, (y, am)) in ys.chunks_mut(ho * wo).zip(idx.chunks_mut(ho * wo)).enumerate() {
                    let plane = task * PLANES_PER_TASK + j;
                    let (ai, bi) = (a[plane % c], b[plane % c]);
                    let zp = &z[plane * hw..][..hw];
                    for oy in 0..ho {
                        for ox in 0..wo {
                            let base = oy * k * g.wo + ox * k;
                            let (mut best, mut at) = (f32::NEG_INFINITY, 0u8);
                            for dy in 0..k {
                                for dx in 0..k {
                                    let v = ai * zp[base + dy * g.wo + dx] + bi;
                                    if v > best {
                                        (best, at) = (v, (dy * k + dx) as u8);
                                    }
                                }
                            }
                            y[oy * wo + ox] = best.max(0.0);
                            am[oy * wo + ox] = at;
                        }
                    }
                }
            });
        *self.saved.lock().map_err(|_| poisoned())? = Some(Saved { z, mean, var, invstd, argmax });
        Ok((CpuStorage::F32(out), Shape::from((g.n, c, ho, wo))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        p: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let guard = self.saved.lock().map_err(|_| poisoned())?;
        let Some(saved) = guard.as_ref() else { bail!("conv block: backward before forward") };
        let g = self.geom(x.dims4()?, w.dims4()?)?;
        let (grad, res) = (grad.contiguous()?, res.contiguous()?);
        let (dz, dp) = with_f32(&grad, |dy| {
            with_f32(&res, |y| with_f32(p, |ps| Ok(self.conv_output_grad(&g, saved, ps, y, dy))))
        })?;
        let dev = x.device();
        let dw = with_f32(x, |xs| Ok(lowering::kernel_grad(&g, xs, &dz)))?;
        let dx = match x.track_op() {
            true => Some(Tensor::from_vec(with_f32(w, |ws| Ok(lowering::input_grad(&g, ws, &dz)))?, x.shape(), dev)?),
            false => None,
        };
        scratch::give(dz);
        Ok((dx, Some(Tensor::from_vec(dw, w.shape(), dev)?), Some(Tensor::from_vec(dp, p.shape(), dev)?)))
    }
}

impl BlockOp {
    /// The gradient w.r.t. the conv output, and w.r.t. the affine parameters.
    fn conv_output_grad(&self, g: &Geom, s: &Saved, p: &[f32], y: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (n, c, hw) = (g.n, g.o, g.howo());
        let (k, ho, wo) = (self.pool, g.ho / self.pool, g.wo / self.pool);
        let at = |plane: usize, o: usize| {
            let (oy, ox, a) = (o / wo, o % wo, s.argmax[plane * ho * wo + o] as usize);
            (oy * k + a / k) * g.wo + ox * k + a % k
        };
        let bn = matches!(self.affine, Affine::BatchNorm { .. });
        // Σdy and Σdy·ẑ per channel over the windows whose output passed the ReLU.
        let (sum_dy, sum_dyz): (Vec<f32>, Vec<f32>) = (0..c)
            .into_par_iter()
            .map(|ci| {
                let (mut sd, mut sdz) = (0f64, 0f64);
                for ni in 0..n {
                    let plane = ni * c + ci;
                    for o in 0..ho * wo {
                        let yo = plane * ho * wo + o;
                        if y[yo] > 0.0 {
                            sd += dy[yo] as f64;
                            if bn {
                                let zhat = (s.z[plane * hw + at(plane, o)] - s.mean[ci]) * s.invstd[ci];
                                sdz += (dy[yo] * zhat) as f64;
                            }
                        }
                    }
                }
                (sd as f32, sdz as f32)
            })
            .unzip();
        let m = (n * hw) as f32;
        let mut dz = scratch::take_zeroed(n * c * hw);
        dz.par_chunks_mut(hw * PLANES_PER_TASK).enumerate().for_each(|(task, planes)| {
            for (j, dzp) in planes.chunks_mut(hw).enumerate() {
                let plane = task * PLANES_PER_TASK + j;
                let ci = plane % c;
                let gain = if bn { p[ci] * s.invstd[ci] } else { 1.0 };
                if bn {
                    // The dense part from the batch mean and variance: dz = A·z + B.
                    let a = -gain * s.invstd[ci] * sum_dyz[ci] / m;
                    let b = -gain * sum_dy[ci] / m - a * s.mean[ci];
                    let zp = &s.z[plane * hw..][..hw];
                    dzp.iter_mut().zip(zp).for_each(|(d, &v)| *d = a * v + b);
                }
                for o in 0..ho * wo {
                    let yo = plane * ho * wo + o;
                    if y[yo] > 0.0 {
                        dzp[at(plane, o)] += gain * dy[yo];
                    }
                }
            }
        });
        let dp = if bn { [sum_dyz, sum_dy].concat() } else { sum_dy };
        (dz, dp)
    }
}

/// Batch mean and biased variance per channel of an N × C × HW tensor.
fn channel_stats(z: &[f32], n: usize, c: usize, hw: usize) -> (Vec<f32>, Vec<f32>) {
    let m = (n * hw) as f64;
    (0..c)
        .into_par_iter()
        .map(|ci| {
            let (mut s, mut ss) = (0f64, 0f64);
            for ni in 0..n {
                let (ps, pss) = plane_sums(&z[(ni * c + ci) * hw..][..hw]);
                s += ps;
                ss += pss;
            }
            let mean = s / m;
            (mean as f32, (ss / m - mean * mean).max(0.0) as f32)
        })
        .unzip()
}

/// Σv and Σv² of one plane: f32 in eight lanes (vectorises), f64 for the total.
fn plane_sums(p: &[f32]) -> (f64, f64) {
    let (mut s, mut ss) = ([0f32; 8], [0f32; 8]);
    let mut chunks = p.chunks_exact(8);
    for ch in &mut chunks {
        for i in 0..8 {
            s[i] += ch[i];
            ss[i] += ch[i] * ch[i];
        }
    }
    let (mut ts, mut tss) = (0f64, 0f64);
    for &v in chunks.remainder() {
        ts += v as f64;
        tss += (v * v) as f64;
    }
    (ts + s.iter().map(|&v| v as f64).sum::<f64>(), tss + ss.iter().map(|&v| v as f64).sum::<f64>())
}
