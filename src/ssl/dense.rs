//! Fully connected layers for candle CPU f32 tensors: `linear` (+ bias, optionally + ReLU)
//! and BatchNorm (training mode) + ReLU, each one custom op with a hand-written backward.
//!
//! Why: in candle a linear layer is a matmul on a transposed weight, a broadcast bias add and
//! a ReLU, each a separate op allocating its output; their backward adds a `t()`, two
//! matmuls, a sum over the batch for the bias and three element-wise ops for the ReLU mask,
//! and candle's backprop adds each of those gradients into a fresh zero tensor. BatchNorm is
//! worse (a transpose, a copy and about ten element-wise ops forward, as many backward).
//! Here the forward of a layer is one GEMM into a buffer pre-filled with the bias, the ReLU
//! applied in place; the backward is two GEMMs (input and weight gradients, run side by
//! side on the rayon pool) and one pass for the bias. All GEMMs are the `gemm` crate's,
//! single-threaded per task, the work split into row blocks over the pool.
//!
//! Off the CPU, for other dtypes or layers without a bias, the functions fall back to
//! candle-nn's own layers.

mod batchnorm;
mod linear;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use candle_core::{bail, Result, Tensor};
use candle_nn::{BatchNorm, Linear, Module, ModuleT};

use crate::ssl::cpu::is_cpu_f32;

/// `relu(x · Wᵀ + b)` (or without the ReLU) for an N × K batch and a candle-nn `Linear`
/// (weight O × K, bias O). Gradients flow to x (when it needs one), W and b.
pub fn linear(x: &Tensor, layer: &Linear, relu: bool) -> Result<Tensor> {
    let w = layer.weight();
    // Empty batches or layers (nothing to compute) go to candle too.
    let nonempty = x.elem_count() > 0 && w.elem_count() > 0;
    let fused = match layer.bias() {
        Some(b) if nonempty && x.rank() == 2 && is_cpu_f32(x) && is_cpu_f32(w) && is_cpu_f32(b) => Some(b),
        _ => None,
    };
    let Some(b) = fused else {
        let y = layer.forward(x)?;
        return if relu { y.relu() } else { Ok(y) };
    };
    let ((_, k), (o, wk)) = (x.dims2()?, w.dims2()?);
    if k != wk || b.elem_count() != o {
        bail!("linear: input of {k} features for a {o}×{wk} weight and {} biases", b.elem_count());
    }
    x.contiguous()?.apply_op3(&w.contiguous()?, &b.flatten_all()?.contiguous()?, linear::LinearOp { relu })
}

/// `relu(bn(z))` for an N × C batch. In training mode (and on the CPU, with affine
/// parameters) one op that normalises with the batch statistics and updates the running
/// statistics as candle-nn's `BatchNorm::forward_train` does; otherwise candle-nn's layer.
pub fn batch_norm_relu(z: &Tensor, bn: &BatchNorm, train: bool) -> Result<Tensor> {
    let params = match bn.weight_and_bias() {
        Some((g, b)) if train && z.rank() == 2 && z.elem_count() > 0 && is_cpu_f32(z) && is_cpu_f32(g) && is_cpu_f32(b) => {
            Some((g, b))
        }
        _ => None,
    };
    let Some((gamma, beta)) = params else {
        return bn.forward_t(z, train)?.relu();
    };
    let (n, c) = z.dims2()?;
    if gamma.elem_count() != c || beta.elem_count() != c || bn.running_mean().elem_count() != c {
        bail!("batch norm over {} features for an input of {c}", gamma.elem_count());
    }
    let saved = Arc::new(Mutex::new(None));
    let op = batchnorm::BnReluOp { eps: bn.eps(), saved: saved.clone() };
    let y = z.contiguous()?.apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
    let guard = saved.lock().map_err(|_| candle_core::Error::Msg("batch norm state poisoned".into()))?;
    if let Some(stats) = guard.as_ref() {
        update_running_stats(bn, &stats.mean, &stats.var, n)?;
    }
    Ok(y)
}

/// Moves a BatchNorm's running statistics towards a batch's, as candle-nn does: the
/// variance made unbiased over the `count` values each statistic was taken over.
pub(crate) fn update_running_stats(bn: &BatchNorm, mean: &[f32], biased_var: &[f32], count: usize) -> Result<()> {
    let (dev, c) = (bn.running_mean().device(), mean.len());
    let count = count as f64;
    let mom = bn.momentum();
    let mean = Tensor::from_slice(mean, c, dev)?;
    let var = (Tensor::from_slice(biased_var, c, dev)? * (count / (count - 1.0).max(1.0)))?;
    let rm = ((bn.running_mean() * (1.0 - mom))? + (mean * mom)?)?;
    let rv = ((bn.running_var() * (1.0 - mom))? + (var * mom)?)?;
    bn.running_mean().slice_set(&rm, 0, 0)?;
    bn.running_var().slice_set(&rv, 0, 0)
}

/// Rows per rayon task for an N-row pass: one block per worker, in multiples of the GEMM
/// kernel's 16-row tiles, so each task's GEMM stays large.
fn rows_per_task(n: usize) -> usize {
    let workers = rayon::current_num_threads().max(1);
    n.div_ceil(workers).next_multiple_of(16).max(16)
}

