//! A faster 2-D convolution and 2×2 max-pool for candle CPU f32 tensors.
//!
//! Why hand-written: candle 0.11's CPU conv2d backward is the bottleneck of CNN training
//! (its input gradient goes through conv_transpose2d, its kernel gradient through a
//! batch/channel-swapped conv2d, and it computes the input gradient even for the network's
//! input). Here all three passes are the classic im2col lowering (Chellapilla et al. 2006,
//! "High performance convolutional neural networks for document processing"):
//!   forward      Y_n  = W · cols(X_n)                  (O × CKK)·(CKK × HoWo)
//!   kernel grad  dW   = Σ_n dY_n · cols(X_n)ᵀ          (O × HoWo)·(HoWo × CKK)
//!   input grad   dX_n = col2im(Wᵀ · dY_n)              (CKK × O)·(O × HoWo)
//! each GEMM done by the `gemm` crate (the one candle uses), single-threaded, with images
//! (in groups, for small feature maps) spread over the current rayon pool. im2col buffers
//! are per worker, never per batch; the backward recomputes im2col instead of keeping it.
//!
//! The encoder's blocks go further: `conv_bn_relu_pool` / `conv_bias_relu_pool` run conv,
//! BatchNorm (or bias), ReLU and max-pool as one op (`block`), so the conv output and its
//! gradient never become candle tensors. Measured reasons are in the submodules' notes.
//!
//! Everything else (autograd, optimisers) stays candle's: the ops plug in as `CustomOp`s.

use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, ModuleT, Result, Shape, Tensor};
use rayon::prelude::*;

mod block;
mod kernels;
mod lowering;
mod scratch;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use block::{Affine, BlockOp};
use kernels::Geom;
use crate::ssl::cpu::{f32_slice, is_cpu_f32, with_f32};

/// 2-D convolution, no bias, no dilation, one group. `x`: N×C×H×W, `weight`: O×C×K×K.
/// Gradients flow to both `x` and `weight` (only to those that need them). Tensors that are
/// not f32 on the CPU go through candle's own `Tensor::conv2d`.
pub fn conv2d(x: &Tensor, weight: &Tensor, padding: usize, stride: usize) -> Result<Tensor> {
    if !is_cpu_f32(x) || !is_cpu_f32(weight) {
        return x.conv2d(weight, padding, stride, 1, 1);
    }
    let (_, _, kh, kw) = weight.dims4()?;
    if kh != kw {
        return x.conv2d(weight, padding, stride, 1, 1);
    }
    // Shape errors surface here, as readable errors, rather than inside the op.
    Geom::new(x.dims4()?, weight.dims4()?, padding, stride)?;
    x.contiguous()?.apply_op2(&weight.contiguous()?, Conv2dOp { padding, stride })
}

/// Max-pool with a k×k window and stride k (the trailing row/column that does not fill a
/// window is dropped, as in PyTorch and candle). The gradient goes to the first maximum of
/// each window, as in PyTorch. Non-CPU or non-f32 tensors take `max_pool2d_composed`.
///
/// Besides speed, this fixes candle 0.11's max-pool backward on sizes that are not a multiple
/// of k (e.g. 7×7 → 3×3), where its upsampling-based mask maps rows to the wrong windows.
pub fn max_pool2d(x: &Tensor, k: usize) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    if k == 0 || h < k || w < k {
        bail!("max_pool2d: window {k} does not fit a {h}×{w} input");
    }
    if !is_cpu_f32(x) {
        return max_pool2d_composed(x, k);
    }
    x.contiguous()?.apply_op1(MaxPoolOp { k })
}

/// `max_pool2d` from candle ops (any device): the whole windows cut out, each window's k²
/// values moved to a last axis, and the maximum over it. Not candle's `max_pool2d`, whose
/// backward scales a window's gradient by the share of its values that are maximal (¼ for a
/// single maximum in a 2×2 window) and mis-routes sizes that are not a multiple of k. The max
/// reduction's gradient goes to every maximum of a window (ties have measure zero here).
fn max_pool2d_composed(x: &Tensor, k: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (ho, wo) = (h / k, w / k);
    x.narrow(2, 0, ho * k)?
        .narrow(3, 0, wo * k)?
        .reshape(vec![n, c, ho, k, wo, k])?
        .permute(vec![0, 1, 2, 4, 3, 5])?
        .reshape((n, c, ho, wo, k * k))?
        .max(candle_core::D::Minus1)
}

/// `max_pool2d(relu(bn(conv2d(x, w))), pool)` (3×3-style conv at stride 1, no conv bias) for
/// a BatchNorm in training mode, as one op (see `block`): normalises with the batch
/// statistics, updates the running statistics as candle-nn's `BatchNorm::forward_train`
/// does, and passes gradients to `x`, `w`, γ and β. In eval mode the BatchNorm is a fixed
/// per-channel affine map, folded into the conv's weights and a bias (the usual inference
/// folding) for the fused conv-bias block: embedding the 10,000-image sample took 4.0–4.4 s
/// unfused and 1.6–3.1 s folded, runs alternated on a 2-core machine busy with a build
/// (`cargo run --release --example embed_time`). For a BatchNorm without affine
/// parameters, or off the CPU, it is the four ops one after the other.
pub fn conv_bn_relu_pool(
    x: &Tensor,
    w: &Tensor,
    bn: &candle_nn::BatchNorm,
    train: bool,
    padding: usize,
    pool: usize,
) -> Result<Tensor> {
    conv_bn_relu_strided(x, w, bn, train, (padding, 1), pool)
}

/// `relu(bn(conv2d(x, w)))` at any stride, as one op in training (the same fused block with
/// no pooling): the conv-BatchNorm-ReLU layers of a ResNet. Without it each such layer went
/// through candle's BatchNorm, whose training pass keeps about six copies of the conv output
/// for the backward pass.
pub fn conv_bn_relu(x: &Tensor, w: &Tensor, bn: &candle_nn::BatchNorm, train: bool, padding: usize, stride: usize) -> Result<Tensor> {
    conv_bn_relu_strided(x, w, bn, train, (padding, stride), 1)
}

fn conv_bn_relu_strided(
    x: &Tensor,
    w: &Tensor,
    bn: &candle_nn::BatchNorm,
    train: bool,
    (padding, stride): (usize, usize),
    pool: usize,
) -> Result<Tensor> {
    if let (false, true, Some((gamma, beta))) = (train, is_cpu_f32(x) && is_cpu_f32(w), bn.weight_and_bias()) {
        // y = γ (z − μ) / √(σ² + ε) + β = s·z + (β − s·μ), s = γ / √(σ² + ε), per channel.
        let scale = (gamma / (bn.running_var() + bn.eps())?.sqrt()?)?;
        let shift = (beta - (bn.running_mean() * &scale)?)?;
        let folded = w.broadcast_mul(&scale.reshape((w.dim(0)?, 1, 1, 1))?)?;
        return conv_bias_relu_strided(x, &folded, &shift, (padding, stride), pool);
    }
    let fused = train && is_cpu_f32(x) && is_cpu_f32(w);
    let params = bn.weight_and_bias().filter(|(g, b)| fused && is_cpu_f32(g) && is_cpu_f32(b));
    let Some((gamma, beta)) = params else {
        // Pooling before the ReLU (they commute) keeps ties at zero out of candle's pooling.
        let y = bn.forward_t(&conv2d(x, w, padding, stride)?, train)?;
        return if pool > 1 { max_pool2d(&y, pool)?.relu() } else { y.relu() };
    };
    let (o, c) = (w.dim(0)?, bn.running_mean().dim(0)?);
    if c != o {
        bail!("batch norm over {c} channels after a conv with {o} outputs");
    }
    let params = Tensor::cat(&[gamma, beta], 0)?;
    let saved = Arc::new(Mutex::new(None));
    let op = BlockOp { padding, stride, pool, affine: Affine::BatchNorm { eps: bn.eps() }, saved: saved.clone() };
    let out = x.contiguous()?.apply_op3(&w.contiguous()?, &params, op)?;
    // Running statistics, as candle-nn updates them: the variance unbiased over N·Ho·Wo.
    let guard = saved.lock().map_err(|_| candle_core::Error::Msg("conv block state poisoned".into()))?;
    if let Some(s) = guard.as_ref() {
        let g = Geom::new(x.dims4()?, w.dims4()?, padding, stride)?;
        crate::ssl::dense::update_running_stats(bn, &s.mean, &s.var, g.n * g.howo())?;
    }
    Ok(out)
}

/// `max_pool2d(relu(conv2d(x, w) + bias), pool)` at stride 1 as one op (see `block`).
/// `bias` has one value per output channel. Off the CPU it is the four ops in turn.
pub fn conv_bias_relu_pool(x: &Tensor, w: &Tensor, bias: &Tensor, padding: usize, pool: usize) -> Result<Tensor> {
    conv_bias_relu_strided(x, w, bias, (padding, 1), pool)
}

fn conv_bias_relu_strided(x: &Tensor, w: &Tensor, bias: &Tensor, (padding, stride): (usize, usize), pool: usize) -> Result<Tensor> {
    if !is_cpu_f32(x) || !is_cpu_f32(w) || !is_cpu_f32(bias) {
        let o = w.dim(0)?;
        let y = conv2d(x, w, padding, stride)?.broadcast_add(&bias.reshape((1, o, 1, 1))?)?;
        return if pool > 1 { max_pool2d(&y, pool)?.relu() } else { y.relu() };
    }
    let bias = bias.flatten_all()?.contiguous()?;
    let op = BlockOp { padding, stride, pool, affine: Affine::Bias, saved: Arc::new(Mutex::new(None)) };
    x.contiguous()?.apply_op3(&w.contiguous()?, &bias, op)
}

struct Conv2dOp {
    padding: usize,
    stride: usize,
}

impl CustomOp2 for Conv2dOp {
    fn name(&self) -> &'static str {
        "pretext-conv2d"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = Geom::new(l1.shape().dims4()?, l2.shape().dims4()?, self.padding, self.stride)?;
        let out = lowering::forward(&g, f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        Ok((CpuStorage::F32(out), Shape::from((g.n, g.o, g.ho, g.wo))))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = Geom::new(x.dims4()?, w.dims4()?, self.padding, self.stride)?;
        let grad = grad.contiguous()?;
        with_f32(&grad, |dy| {
            // The network input is no variable: skip its gradient, the costliest pass.
            let dx = match x.track_op() {
                true => Some(with_f32(w, |ws| Ok(lowering::input_grad(&g, ws, dy)))?),
                false => None,
            };
            let dw = match w.track_op() {
                true => Some(with_f32(x, |xs| Ok(lowering::kernel_grad(&g, xs, dy)))?),
                false => None,
            };
            let dev = x.device();
            Ok((
                dx.map(|v| Tensor::from_vec(v, x.shape(), dev)).transpose()?,
                dw.map(|v| Tensor::from_vec(v, w.shape(), dev)).transpose()?,
            ))
        })
    }
}

struct MaxPoolOp {
    k: usize,
}

/// Planes per rayon task: enough work per task that scheduling costs vanish.
const POOL_PLANES_PER_TASK: usize = 16;

impl CustomOp1 for MaxPoolOp {
    fn name(&self) -> &'static str {
        "pretext-max-pool2d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = l.shape().dims4()?;
        let (k, ho, wo) = (self.k, h / self.k, w / self.k);
        let x = f32_slice(s, l)?;
        let mut out = vec![0f32; n * c * ho * wo];
        out.par_chunks_mut(ho * wo * POOL_PLANES_PER_TASK)
            .zip(x.par_chunks(h * w * POOL_PLANES_PER_TASK))
            .for_each(|(ys, xs)| {
                for (y, p) in ys.chunks_mut(ho * wo).zip(xs.chunks(h * w)) {
                    for oy in 0..ho {
                        for ox in 0..wo {
                            let mut m = f32::NEG_INFINITY;
                            for dy in 0..k {
                                let row = &p[(oy * k + dy) * w + ox * k..][..k];
                                m = row.iter().fold(m, |m, &v| if v > m { v } else { m });
                            }
                            y[oy * wo + ox] = m;
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((n, c, ho, wo))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(arg.apply_op2_no_bwd(&grad.contiguous()?, &MaxPoolGradOp { k: self.k })?))
    }
}

/// dX from (X, dY): each window's gradient goes to the window's first maximum.
struct MaxPoolGradOp {
    k: usize,
}

impl CustomOp2 for MaxPoolGradOp {
    fn name(&self) -> &'static str {
        "pretext-max-pool2d-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = l1.shape().dims4()?;
        let (k, ho, wo) = (self.k, h / self.k, w / self.k);
        if l2.shape().dims4()? != (n, c, ho, wo) {
            bail!("max_pool2d: gradient shape {:?} does not match the output", l2.shape());
        }
        let (x, dy) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        let mut dx = vec![0f32; n * c * h * w];
        dx.par_chunks_mut(h * w * POOL_PLANES_PER_TASK)
            .zip(x.par_chunks(h * w * POOL_PLANES_PER_TASK))
            .zip(dy.par_chunks(ho * wo * POOL_PLANES_PER_TASK))
            .for_each(|((dxs, xs), dys)| {
                let planes = dxs.chunks_mut(h * w).zip(xs.chunks(h * w)).zip(dys.chunks(ho * wo));
                for ((dxp, p), dyp) in planes {
                    for oy in 0..ho {
                        for ox in 0..wo {
                            let mut best = (oy * k) * w + ox * k;
                            for dy in 0..k {
                                for dx in 0..k {
                                    let at = (oy * k + dy) * w + ox * k + dx;
                                    if p[at] > p[best] {
                                        best = at;
                                    }
                                }
                            }
                            dxp[best] = dyp[oy * wo + ox];
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(dx), Shape::from((n, c, h, w))))
    }
}
