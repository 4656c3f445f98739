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

/// `max_pool2d(relu(bn(x)), k)`; in training one fused op (BatchNorm statistics, ReLU and
/// pooling in two passes instead of about twenty candle ops).
pub fn batch_norm_relu_pool(x: &Tensor, bn: &candle_nn::BatchNorm, train: bool, k: usize) -> Result<Tensor> {
    crate::ssl::conv::batch_norm_relu_pool(x, bn, train, k)
}
