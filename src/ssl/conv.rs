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
//! each GEMM done by the `gemm` crate (the one candle uses), single-threaded per image, with
//! images spread over the current rayon pool. im2col buffers are per worker, never per batch,
//! so memory stays near what the activations need; the backward recomputes im2col instead of
//! keeping it from the forward pass.
//!
//! Everything else (autograd, optimisers) stays candle's: the ops plug in as `CustomOp`s.

use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, DType, Layout, ModuleT, Result, Shape, Tensor};
use rayon::prelude::*;

mod bn;
mod kernels;

use std::sync::{Arc, Mutex};

use bn::BnReluPoolOp;
use kernels::{col2im, gemm_into, im2col, Geom, View};

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
/// each window, as in PyTorch. Non-CPU or non-f32 tensors use candle's `max_pool2d`.
///
/// Besides speed, this fixes candle 0.11's max-pool backward on sizes that are not a multiple
/// of k (e.g. 7×7 → 3×3), where its upsampling-based mask maps rows to the wrong windows.
pub fn max_pool2d(x: &Tensor, k: usize) -> Result<Tensor> {
    if !is_cpu_f32(x) {
        return x.max_pool2d(k);
    }
    let (_, _, h, w) = x.dims4()?;
    if k == 0 || h < k || w < k {
        bail!("max_pool2d: window {k} does not fit a {h}×{w} input");
    }
    x.contiguous()?.apply_op1(MaxPoolOp { k })
}

/// `max_pool2d(relu(bn(x)), k)` for a BatchNorm in training mode, as one op (see `bn`):
/// normalises with the batch statistics, updates the running statistics as candle-nn's
/// `BatchNorm::forward_train` does, and passes gradients to `x` and to γ and β. In eval mode,
/// without an affine BatchNorm, or off the CPU it is the three ops one after the other.
pub fn batch_norm_relu_pool(x: &Tensor, bn: &candle_nn::BatchNorm, train: bool, k: usize) -> Result<Tensor> {
    let (Some((gamma, beta)), true, true) = (bn.weight_and_bias(), train, is_cpu_f32(x)) else {
        return max_pool2d(&bn.forward_t(x, train)?.relu()?, k);
    };
    let (n, c, h, w) = x.dims4()?;
    if k == 0 || h < k || w < k || k * k > u8::MAX as usize {
        bail!("max_pool2d: window {k} does not fit a {h}×{w} input");
    }
    if bn.running_mean().dims() != [c] || !is_cpu_f32(gamma) || !is_cpu_f32(beta) {
        bail!("batch norm: expected {c} f32 channels, got running mean {:?}", bn.running_mean().dims());
    }
    let saved = Arc::new(Mutex::new(None));
    let op = BnReluPoolOp { k, eps: bn.eps(), saved: saved.clone() };
    let out = x.contiguous()?.apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
    // Running statistics, as candle-nn updates them: the variance unbiased over N·H·W.
    let guard = saved.lock().map_err(|_| candle_core::Error::Msg("bn-relu-pool state poisoned".into()))?;
    if let Some(s) = guard.as_ref() {
        let (mom, count) = (bn.momentum(), (n * h * w) as f64);
        let mean = Tensor::from_slice(&s.mean, c, x.device())?;
        let var = (Tensor::from_slice(&s.var, c, x.device())? * (count / (count - 1.0).max(1.0)))?;
        let rm = ((bn.running_mean() * (1.0 - mom))? + (mean * mom)?)?;
        let rv = ((bn.running_var() * (1.0 - mom))? + (var * mom)?)?;
        bn.running_mean().slice_set(&rm, 0, 0)?;
        bn.running_var().slice_set(&rv, 0, 0)?;
    }
    Ok(out)
}

fn is_cpu_f32(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let data = match s {
        CpuStorage::F32(v) => v.as_slice(),
        _ => bail!("pretext conv: expected f32 storage"),
    };
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("pretext conv: expected a contiguous tensor"),
    }
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
        let (x, w) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        let (ckk, howo) = (g.ckk(), g.howo());
        let mut out = vec![0f32; g.n * g.out_len()];
        out.par_chunks_mut(g.out_len()).enumerate().for_each_init(
            || vec![0f32; ckk * howo],
            |cols, (i, y)| {
                im2col(&g, &x[i * g.in_len()..][..g.in_len()], cols);
                gemm_into(g.o, howo, ckk, y, false, View::rows(w, ckk), View::rows(cols, howo));
            },
        );
        Ok((CpuStorage::F32(out), Shape::from((g.n, g.o, g.ho, g.wo))))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (_, _, h, wd) = x.dims4()?;
        let dx = if x.track_op() {
            let op = InputGradOp { h, w: wd, padding: self.padding, stride: self.stride };
            Some(w.apply_op2_no_bwd(&grad, &op)?)
        } else {
            None
        };
        let dw = if w.track_op() {
            let op = KernelGradOp { k: w.dim(2)?, padding: self.padding, stride: self.stride };
            Some(x.apply_op2_no_bwd(&grad, &op)?)
        } else {
            None
        };
        Ok((dx, dw))
    }
}

/// dX from (W, dY). Carries the input's spatial size, which dY alone does not determine.
struct InputGradOp {
    h: usize,
    w: usize,
    padding: usize,
    stride: usize,
}

impl CustomOp2 for InputGradOp {
    fn name(&self) -> &'static str {
        "pretext-conv2d-input-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (o, c, k, _) = l1.shape().dims4()?;
        let (n, _, _, _) = l2.shape().dims4()?;
        let g = Geom::new((n, c, self.h, self.w), (o, c, k, k), self.padding, self.stride)?;
        if l2.shape().dims4()? != (n, o, g.ho, g.wo) {
            bail!("pretext conv: gradient shape {:?} does not match the output", l2.shape());
        }
        let (w, dy) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        let (ckk, howo) = (g.ckk(), g.howo());
        let mut dx = vec![0f32; n * g.in_len()];
        dx.par_chunks_mut(g.in_len()).enumerate().for_each_init(
            || vec![0f32; ckk * howo],
            |dcols, (i, dx_i)| {
                // Wᵀ is W (O × CKK, row-major) read column-wise.
                let wt = View { data: w, rs: 1, cs: ckk as isize };
                let dy_i = &dy[i * g.out_len()..][..g.out_len()];
                gemm_into(ckk, howo, g.o, dcols, false, wt, View::rows(dy_i, howo));
                col2im(&g, dcols, dx_i);
            },
        );
        Ok((CpuStorage::F32(dx), Shape::from((n, c, self.h, self.w))))
    }
}

/// dW from (X, dY).
struct KernelGradOp {
    k: usize,
    padding: usize,
    stride: usize,
}

impl CustomOp2 for KernelGradOp {
    fn name(&self) -> &'static str {
        "pretext-conv2d-kernel-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = l1.shape().dims4()?;
        let (_, o, _, _) = l2.shape().dims4()?;
        let g = Geom::new((n, c, h, w), (o, c, self.k, self.k), self.padding, self.stride)?;
        if l2.shape().dims4()? != (n, o, g.ho, g.wo) {
            bail!("pretext conv: gradient shape {:?} does not match the output", l2.shape());
        }
        let (x, dy) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        let (ckk, howo) = (g.ckk(), g.howo());
        // One contiguous run of images per worker, each summing into its own dW; the partial
        // sums are added at the end. Fewer, larger runs keep the reduction small.
        let workers = rayon::current_num_threads().clamp(1, n.max(1));
        let per = n.div_ceil(workers);
        let partials: Vec<Vec<f32>> = (0..workers)
            .into_par_iter()
            .map(|t| {
                let mut dw = vec![0f32; g.o * ckk];
                let mut cols = vec![0f32; ckk * howo];
                for (j, i) in (t * per..n.min((t + 1) * per)).enumerate() {
                    im2col(&g, &x[i * g.in_len()..][..g.in_len()], &mut cols);
                    // cols(X_i)ᵀ: cols is CKK × HoWo row-major, read column-wise.
                    let colst = View { data: &cols, rs: 1, cs: howo as isize };
                    let dy_i = &dy[i * g.out_len()..][..g.out_len()];
                    gemm_into(g.o, ckk, howo, &mut dw, j > 0, View::rows(dy_i, howo), colst);
                }
                dw
            })
            .collect();
        let mut dw = vec![0f32; g.o * ckk];
        for p in &partials {
            dw.iter_mut().zip(p).for_each(|(a, b)| *a += b);
        }
        Ok((CpuStorage::F32(dw), Shape::from((g.o, c, self.k, self.k))))
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
