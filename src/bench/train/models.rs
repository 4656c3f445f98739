//! The models the training benchmark times, built exactly as bench/peers_train.py builds
//! them in PyTorch, and the NT-Xent loss they train with.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::ssl::{conv, dense};

/// Which convolution / pooling the CNN uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvImpl {
    /// candle's `Tensor::conv2d` and `max_pool2d`.
    Candle,
    /// `crate::ssl::conv`: each conv + bias + ReLU + pool one fused op (im2col + gemm).
    Pretext,
}

/// The plain reference CNN: conv 1→32→64→128 (3×3, pad 1) + ReLU + 2×2 max-pool after each,
/// linear 1152→128, then the projector.
pub struct Cnn {
    convs: Vec<(Tensor, Tensor)>,
    fc: Linear,
    proj: Projector,
    imp: ConvImpl,
}

impl Cnn {
    pub fn new(vb: VarBuilder, imp: ConvImpl) -> Result<Self> {
        let chans = [1, 32, 64, 128];
        let mut convs = Vec::new();
        for (i, pair) in chans.windows(2).enumerate() {
            let cfg = candle_nn::Conv2dConfig { padding: 1, ..Default::default() };
            let c = candle_nn::conv2d(pair[0], pair[1], 3, cfg, vb.pp(format!("conv{i}")))?;
            let bias = match c.bias() {
                Some(b) => b.reshape((1, pair[1], 1, 1))?,
                None => candle_core::bail!("conv layer without bias"),
            };
            convs.push((c.weight().clone(), bias));
        }
        let fc = candle_nn::linear(128 * 3 * 3, 128, vb.pp("fc"))?;
        Ok(Self { convs, fc, proj: Projector::new(vb.pp("proj"))?, imp })
    }
}

impl Module for Cnn {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (w, b) in &self.convs {
            h = match self.imp {
                ConvImpl::Candle => h.conv2d(w, 1, 1, 1, 1)?.broadcast_add(b)?.relu()?.max_pool2d(2)?,
                ConvImpl::Pretext => conv::conv_bias_relu_pool(&h, w, b, 1, 2)?,
            };
        }
        self.proj.forward(&dense::linear(&h.flatten_from(1)?, &self.fc, false)?)
    }
}

/// MLP encoder for 784-d rows: 784→512→256→128 with ReLU, then the projector.
pub struct Mlp {
    layers: Vec<Linear>,
    proj: Projector,
}

impl Mlp {
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let dims = [784, 512, 256, 128];
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, d)| candle_nn::linear(d[0], d[1], vb.pp(format!("fc{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers, proj: Projector::new(vb.pp("proj"))? })
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = dense::linear(&h, l, i + 1 < self.layers.len())?;
        }
        self.proj.forward(&h)
    }
}

/// SimCLR projection head 128→128→64.
struct Projector {
    a: Linear,
    b: Linear,
}

impl Projector {
    fn new(vb: VarBuilder) -> Result<Self> {
        Ok(Self { a: candle_nn::linear(128, 128, vb.pp("a"))?, b: candle_nn::linear(128, 64, vb.pp("b"))? })
    }
}

impl Module for Projector {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        dense::linear(&dense::linear(x, &self.a, true)?, &self.b, false)
    }
}

/// NT-Xent (Chen et al. 2020, SimCLR): each view's positive is the other view of its item,
/// every other view in the batch is a negative (`ssl::contrastive`, as the trainer uses it).
pub fn nt_xent(z1: &Tensor, z2: &Tensor, temperature: f64) -> Result<Tensor> {
    crate::ssl::contrastive::nt_xent(z1, z2, temperature)
}
