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
