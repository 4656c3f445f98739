//! The convolution and pooling the encoder calls, in one place so a faster kernel can
//! replace candle's: both go to `ssl::conv` (im2col + gemm custom ops) on the CPU.

use candle_core::{Result, Tensor};

/// 2-D convolution of an N×C×H×W batch with an O×C×K×K kernel.
pub fn conv2d(x: &Tensor, kernel: &Tensor, padding: usize, stride: usize) -> Result<Tensor> {
    crate::ssl::conv::conv2d(x, kernel, padding, stride)
}

/// k×k max-pool with stride k.
pub fn max_pool2d(x: &Tensor, k: usize) -> Result<Tensor> {
    crate::ssl::conv::max_pool2d(x, k)
}

/// One encoder block, `max_pool2d(relu(bn(conv2d(x, kernel))), pool)`; in training a single
/// fused op (conv GEMMs, BatchNorm statistics, ReLU and pooling without the intermediate
/// tensors candle would allocate for each step).
pub fn conv_bn_relu_pool(
    x: &Tensor,
    kernel: &Tensor,
    bn: &candle_nn::BatchNorm,
    train: bool,
    padding: usize,
    pool: usize,
) -> Result<Tensor> {
    crate::ssl::conv::conv_bn_relu_pool(x, kernel, bn, train, padding, pool)
}

/// `relu(bn(conv2d(x, kernel)))` at any stride; in training one fused op (see
/// `conv_bn_relu_pool`), in eval mode the BatchNorm folded into the conv.
pub fn conv_bn_relu(x: &Tensor, kernel: &Tensor, bn: &candle_nn::BatchNorm, train: bool, padding: usize, stride: usize) -> Result<Tensor> {
    crate::ssl::conv::conv_bn_relu(x, kernel, bn, train, padding, stride)
}

/// Sets up the process for CPU training. Call first thing in `main`, before any thread
/// starts (candle reads its setting once; an explicit `CANDLE_NUM_THREADS` wins).
///
/// 1. Keeps candle's element-wise CPU ops on the calling thread. candle 0.11 runs them on its
///    own barrier pool, whose caller spin-waits for a helper thread that competes with the
///    rayon workers doing the GEMMs and convolutions. On this 2-core machine that spinning
///    was 12% of a CNN step and 37% of an MLP step; without it (measured side by side, same
///    load) the MLP trains 3-6× and the CNN ~20% faster.
/// 2. glibc: keeps freed tensor buffers in the heap instead of returning them to the OS.
///    A step allocates and frees the same buffers each time; with glibc's defaults many are
///    fresh mappings whose every page faults on first touch (27% of an MLP step). Measured:
///    MLP CPU time per step 32 → 21 ms, CNN 264 → 250 ms. Peak memory is unchanged (the
///    buffers are reused, not added); the process just keeps its peak after a step.
pub fn init_cpu_runtime() {
    if std::env::var_os(CANDLE_THREADS_ENV).is_none() {
        std::env::set_var(CANDLE_THREADS_ENV, "1");
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters under the allocator's own lock; both
    // values are within glibc's documented ranges (mmap threshold ≤ 32 MiB on 64-bit).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// The variable candle reads for the size of its element-wise thread pool.
pub const CANDLE_THREADS_ENV: &str = "CANDLE_NUM_THREADS";

/// LayerNorm over the last axis. candle-nn's `LayerNorm::forward` takes a fused kernel for
/// contiguous inputs that records no gradient (`apply_op3_no_bwd`): the ViT and BERT layers
/// beneath it would never train. While training the same equations run as tensor ops, which
/// backpropagate; in eval the fused kernel runs, as fast as before.
pub fn layer_norm(x: &Tensor, norm: &candle_nn::LayerNorm, eps: f64, train: bool) -> Result<Tensor> {
    use candle_nn::Module;
    if !train {
        return norm.forward(x);
    }
    let centred = x.broadcast_sub(&x.mean_keepdim(candle_core::D::Minus1)?)?;
    let var = centred.sqr()?.mean_keepdim(candle_core::D::Minus1)?;
    let y = centred.broadcast_div(&(var + eps)?.sqrt()?)?.broadcast_mul(norm.weight())?;
    match norm.bias() {
        Some(b) => y.broadcast_add(b),
        None => Ok(y),
    }
}

/// Softmax over the last axis. candle-nn's `softmax_last_dim` kernel also records no
/// gradient, so attention's queries and keys would never train: while training the tensor-op
/// softmax runs (it backpropagates), in eval the kernel.
pub fn softmax_last(x: &Tensor, train: bool) -> Result<Tensor> {
    if train {
        candle_nn::ops::softmax(x, candle_core::D::Minus1)
    } else {
        candle_nn::ops::softmax_last_dim(x)
    }
}
