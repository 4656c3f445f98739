//! BatchNorm (training mode) → ReLU → k×k max-pool as one op.
//!
//! Why fused: in candle each of these is several full passes over the largest activation of
//! the network (BatchNorm alone transposes, copies, and broadcasts it about ten times, and
//! its backward as many again), and each pass allocates and page-faults a fresh buffer. Here
//! the forward is two passes (statistics, then normalise+ReLU+pool) and writes only the
//! pooled output; the backward is two passes. Max-pool's gradient reaches one input per
//! window, so the chain through ReLU and the affine is sparse; only the BatchNorm mean and
//! variance terms are dense (Ioffe & Szegedy 2015, "Batch Normalization", backward pass):
//!   dx = γ·σ⁻¹·(dz − mean(dz) − x̂·mean(dz·x̂)),   dγ = Σ dz·x̂,   dβ = Σ dz.

use std::sync::{Arc, Mutex};

use candle_core::{bail, CpuStorage, CustomOp3, Device, Layout, Result, Shape, Storage, Tensor};
use rayon::prelude::*;

use super::f32_slice;

/// What the forward pass leaves for the backward pass and for the running statistics.
pub(super) struct Saved {
    pub mean: Vec<f32>,
    /// Biased batch variance (the one used to normalise).
    pub var: Vec<f32>,
    invstd: Vec<f32>,
    /// Per pooled output, the offset (dy·k + dx) of its window's maximum.
    argmax: Vec<u8>,
}

pub(super) struct BnReluPoolOp {
    pub k: usize,
    pub eps: f64,
    pub saved: Arc<Mutex<Option<Saved>>>,
}

/// Planes per rayon task in the element-wise passes.
const PLANES_PER_TASK: usize = 8;

impl CustomOp3 for BnReluPoolOp {
    fn name(&self) -> &'static str {
        "pretext-bn-relu-pool"
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
        let (n, c, h, w) = l1.shape().dims4()?;
        let (x, gamma, beta) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?, f32_slice(s3, l3)?);
        if gamma.len() != c || beta.len() != c {
            bail!("batch norm: {c} channels but {} scales and {} shifts", gamma.len(), beta.len());
        }
        let (k, hw) = (self.k, h * w);
        let (ho, wo) = (h / k, w / k);
        if k == 0 || k * k > u8::MAX as usize || ho == 0 || wo == 0 {
            bail!("max_pool2d: window {k} does not fit a {h}×{w} input");
        }
        let m = (n * hw) as f64;
        let (mean, var): (Vec<f32>, Vec<f32>) = (0..c)
            .into_par_iter()
            .map(|ci| {
                let (mut s, mut ss) = (0f64, 0f64);
                for ni in 0..n {
                    let (ps, pss) = plane_sums(&x[(ni * c + ci) * hw..][..hw]);
                    s += ps;
                    ss += pss;
                }
                let mean = s / m;
                (mean as f32, (ss / m - mean * mean).max(0.0) as f32)
            })
            .unzip();
        let invstd: Vec<f32> = var.iter().map(|&v| (1.0 / (v as f64 + self.eps).sqrt()) as f32).collect();
        let mut out = vec![0f32; n * c * ho * wo];
        let mut argmax = vec![0u8; out.len()];
        out.par_chunks_mut(ho * wo * PLANES_PER_TASK)
            .zip(argmax.par_chunks_mut(ho * wo * PLANES_PER_TASK))
            .enumerate()
            .for_each(|(task, (ys, idx))| {
                for (j, (y, am)) in ys.chunks_mut(ho * wo).zip(idx.chunks_mut(ho * wo)).enumerate() {
                    let plane = task * PLANES_PER_TASK + j;
                    let ci = plane % c;
                    let a = gamma[ci] * invstd[ci];
                    let b = beta[ci] - mean[ci] * a;
                    let p = &x[plane * hw..][..hw];
                    for oy in 0..ho {
                        for ox in 0..wo {
                            let base = oy * k * w + ox * k;
                            let (mut best, mut at) = (f32::NEG_INFINITY, 0u8);
                            for dy in 0..k {
                                for dx in 0..k {
                                    let z = a * p[base + dy * w + dx] + b;
                                    if z > best {
                                        (best, at) = (z, (dy * k + dx) as u8);
                                    }
                                }
                            }
                            y[oy * wo + ox] = best.max(0.0);
                            am[oy * wo + ox] = at;
                        }
                    }
                }
            });
        let saved = Saved { mean, var, invstd, argmax };
        *self.saved.lock().map_err(|_| candle_core::Error::Msg("bn-relu-pool state poisoned".into()))? = Some(saved);
        Ok((CpuStorage::F32(out), Shape::from((n, c, ho, wo))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let guard = self.saved.lock().map_err(|_| candle_core::Error::Msg("bn-relu-pool state poisoned".into()))?;
        let Some(saved) = guard.as_ref() else { bail!("bn-relu-pool: backward before forward") };
        let (n, c, h, w) = x.dims4()?;
        let (k, hw) = (self.k, h * w);
        let (ho, wo) = (h / k, w / k);
        let (grad, res) = (grad.contiguous()?, res.contiguous()?);
        let (xs, xl) = x.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let (rs, rl) = res.storage_and_layout();
        let (ms, ml) = gamma.storage_and_layout();
        let (Storage::Cpu(xs), Storage::Cpu(gs), Storage::Cpu(rs), Storage::Cpu(ms)) = (&*xs, &*gs, &*rs, &*ms) else {
            bail!("bn-relu-pool: expected CPU tensors")
        };
        let (x, dy, y, gamma) = (f32_slice(xs, xl)?, f32_slice(gs, gl)?, f32_slice(rs, rl)?, f32_slice(ms, ml)?);
        let (mean, invstd, argmax) = (&saved.mean, &saved.invstd, &saved.argmax);
        let at = |plane: usize, o: usize| {
            let (oy, ox, a) = (o / wo, o % wo, argmax[plane * ho * wo + o] as usize);
            (oy * k + a / k) * w + ox * k + a % k
        };
        // Σdz and Σdz·x̂ per channel; dz is non-zero only at the maximum of windows whose
        // output passed the ReLU.
        let (sum_dz, sum_dzx): (Vec<f32>, Vec<f32>) = (0..c)
            .into_par_iter()
            .map(|ci| {
                let (mut s, mut sx) = (0f64, 0f64);
                for ni in 0..n {
                    let plane = ni * c + ci;
                    for o in 0..ho * wo {
                        let yo = plane * ho * wo + o;
                        if y[yo] > 0.0 {
                            let g = dy[yo] as f64;
                            let xhat = (x[plane * hw + at(plane, o)] - mean[ci]) * invstd[ci];
                            s += g;
                            sx += g * xhat as f64;
                        }
                    }
                }
                (s as f32, sx as f32)
            })
            .unzip();
        let m = (n * hw) as f32;
        let mut dx = vec![0f32; n * c * hw];
        dx.par_chunks_mut(hw * PLANES_PER_TASK).enumerate().for_each(|(task, planes)| {
            for (j, dxp) in planes.chunks_mut(hw).enumerate() {
                let plane = task * PLANES_PER_TASK + j;
                let ci = plane % c;
                let gi = gamma[ci] * invstd[ci];
                // The dense part, dx = A·x + B, from the mean and variance terms.
                let a = -gi * invstd[ci] * sum_dzx[ci] / m;
                let b = -gi * sum_dz[ci] / m - a * mean[ci];
                let p = &x[plane * hw..][..hw];
                dxp.iter_mut().zip(p).for_each(|(d, &v)| *d = a * v + b);
                for o in 0..ho * wo {
                    let yo = plane * ho * wo + o;
                    if y[yo] > 0.0 {
                        dxp[at(plane, o)] += gi * dy[yo];
                    }
                }
            }
        });
        let dev = Device::Cpu;
        let dx = Tensor::from_vec(dx, (n, c, h, w), &dev)?;
        Ok((Some(dx), Some(Tensor::from_vec(sum_dzx, c, &dev)?), Some(Tensor::from_vec(sum_dz, c, &dev)?)))
    }
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
