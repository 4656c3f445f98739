//! 1-D convolution for sequences (time series, characters), time-major: a batch is N × T × C.
//! A convolution is im2col (the kernel's taps as shifted copies of the input side by side,
//! N·T × k·C) followed by one fused dense layer (`ssl::dense`), so forward and backward are
//! single GEMMs over the whole batch instead of N small ones; zero padding keeps the length.

use candle_core::{Result, Tensor};
use candle_nn::{batch_norm, linear, BatchNorm, Linear, VarBuilder};

use crate::ssl::dense;

/// A "same"-length dilated convolution, `c_in` → `c_out` channels, odd kernel size.
pub struct Conv1d {
    layer: Linear,
    c_in: usize,
    c_out: usize,
    kernel: usize,
    dilation: usize,
}

impl Conv1d {
    pub fn new(c_in: usize, c_out: usize, kernel: usize, dilation: usize, vb: VarBuilder) -> Result<Self> {
        if kernel % 2 == 0 || dilation == 0 {
            candle_core::bail!("conv1d needs an odd kernel and a positive dilation (got {kernel}, {dilation})");
        }
        // Weight O × (k·C), tap-major: column j·C + c multiplies channel c at offset j·dilation.
        let layer = linear(kernel * c_in, c_out, vb)?;
        Ok(Self { layer, c_in, c_out, kernel, dilation })
    }

    pub fn out_channels(&self) -> usize {
        self.c_out
    }

    /// The k shifted copies of an N × T × C batch, side by side: (N·T) × (k·C).
    fn unfold(&self, x: &Tensor) -> Result<Tensor> {
        let (n, t, c) = x.dims3()?;
        if c != self.c_in {
            candle_core::bail!("conv1d: input has {c} channels, the layer expects {}", self.c_in);
        }
        if self.kernel == 1 {
            return x.reshape((n * t, c));
        }
        let pad = self.dilation * (self.kernel - 1) / 2;
        let padded = x.pad_with_zeros(1, pad, pad)?;
        let taps = (0..self.kernel).map(|j| padded.narrow(1, j * self.dilation, t)).collect::<Result<Vec<_>>>()?;
        Tensor::cat(&taps, 2)?.reshape((n * t, self.kernel * c))
    }

    /// Convolution output as (N·T) × O rows, optionally through ReLU.
    pub fn forward_rows(&self, x: &Tensor, relu: bool) -> Result<Tensor> {
        dense::linear(&self.unfold(x)?, &self.layer, relu)
    }

    /// N × T × C → N × T × O.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, t, _) = x.dims3()?;
        self.forward_rows(x, false)?.reshape((n, t, self.c_out))
    }
}

/// Residual block of two dilated convolutions, each followed by BatchNorm and ReLU, plus the
/// input (through a 1×1 convolution when the width changes), as in the dilated causal-free
/// encoders of TS2Vec (Yue et al. 2022) and TCNs (Bai et al. 2018).
pub struct ResidualConv1d {
    conv1: Conv1d,
    bn1: BatchNorm,
    conv2: Conv1d,
    bn2: BatchNorm,
    skip: Option<Conv1d>,
}

impl ResidualConv1d {
    pub fn new(c_in: usize, c_out: usize, kernel: usize, dilation: usize, vb: VarBuilder) -> Result<Self> {
        let bn = |vb: VarBuilder| batch_norm(c_out, candle_nn::BatchNormConfig::default(), vb);
        Ok(Self {
            conv1: Conv1d::new(c_in, c_out, kernel, dilation, vb.pp("conv1"))?,
            bn1: bn(vb.pp("bn1"))?,
            conv2: Conv1d::new(c_out, c_out, kernel, dilation, vb.pp("conv2"))?,
            bn2: bn(vb.pp("bn2"))?,
            skip: if c_in != c_out { Some(Conv1d::new(c_in, c_out, 1, 1, vb.pp("skip"))?) } else { None },
        })
    }

    pub fn out_channels(&self) -> usize {
        self.conv2.out_channels()
    }

    /// N × T × C → N × T × O.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (n, t, c) = x.dims3()?;
        let o = self.out_channels();
        let h = dense::batch_norm_relu(&self.conv1.forward_rows(x, false)?, &self.bn1, train)?.reshape((n, t, o))?;
        let h = dense::batch_norm_relu(&self.conv2.forward_rows(&h, false)?, &self.bn2, train)?;
        let residual = match &self.skip {
            Some(s) => s.forward_rows(x, false)?,
            None => x.reshape((n * t, c))?,
        };
        (h + residual)?.reshape((n, t, o))
    }
}
