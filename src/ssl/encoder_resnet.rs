//! ResNet-18 and ResNet-50 (He et al. 2016, "Deep Residual Learning for Image Recognition")
//! in torchvision's layout: the VarBuilder prefixes spell torchvision's parameter names
//! (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`, …), so its checkpoints and
//! those of timm, lightly and solo-learn load without a renaming table. Bottleneck blocks put
//! the stride on the 3×3 conv, as torchvision does ("ResNet v1.5"). The CIFAR stem (3×3
//! stride-1 first conv, no max-pool) is the variant lightly and solo-learn train on small
//! images. There is no classifier: the embedding is the global average pool of the last stage.
//!
//! Each conv → BatchNorm → ReLU is `ssl::ops::conv_bn_relu`, one fused op in training and the
//! BatchNorm folded into the conv in eval; the BatchNorms before a residual add (no ReLU) are
//! candle-nn's over N×C×H×W after the im2col + GEMM conv. Both update the running statistics
//! in training.

use candle_core::{Result, Tensor, D};
use candle_nn::{batch_norm, BatchNorm, BatchNormConfig, ModuleT, VarBuilder};

use crate::ssl::encoder_kind::{ResnetDepth, ResnetSpec};

/// A bias-free convolution and the BatchNorm after it.
struct ConvBn {
    weight: Tensor,
    bn: BatchNorm,
    stride: usize,
    padding: usize,
}

impl ConvBn {
    /// `conv` and `bn` are the names of the two layers under `vb` (torchvision names them
    /// `convN`/`bnN`, and `0`/`1` inside a downsample).
    fn new(c_in: usize, c_out: usize, k: usize, stride: usize, vb: &VarBuilder, conv: &str, bn: &str) -> Result<Self> {
        let bound = 1.0 / ((c_in * k * k) as f64).sqrt();
        let weight = vb.pp(conv).get_with_hints((c_out, c_in, k, k), "weight", candle_nn::Init::Uniform { lo: -bound, up: bound })?;
        // torchvision's BatchNorm2d: eps 1e-5, momentum 0.1 (candle's defaults).
        let bn = batch_norm(c_out, BatchNormConfig::default(), vb.pp(bn))?;
        Ok(Self { weight, bn, stride, padding: k / 2 })
    }

    fn forward(&self, x: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        if relu {
            return crate::ssl::ops::conv_bn_relu(x, &self.weight, &self.bn, train, self.padding, self.stride);
        }
        self.bn.forward_t(&crate::ssl::ops::conv2d(x, &self.weight, self.padding, self.stride)?, train)
    }
}

/// One residual block: basic (two 3×3 convs) or bottleneck (1×1, 3×3, 1×1 with 4× outputs).
struct Block {
    convs: Vec<ConvBn>,
    downsample: Option<ConvBn>,
}

impl Block {
    fn new(depth: ResnetDepth, c_in: usize, planes: usize, stride: usize, vb: VarBuilder) -> Result<Self> {
        let c_out = planes * depth.expansion();
        let convs = match depth {
            ResnetDepth::R18 => vec![
                ConvBn::new(c_in, planes, 3, stride, &vb, "conv1", "bn1")?,
                ConvBn::new(planes, planes, 3, 1, &vb, "conv2", "bn2")?,
            ],
            ResnetDepth::R50 => vec![
                ConvBn::new(c_in, planes, 1, 1, &vb, "conv1", "bn1")?,
                ConvBn::new(planes, planes, 3, stride, &vb, "conv2", "bn2")?,
                ConvBn::new(planes, c_out, 1, 1, &vb, "conv3", "bn3")?,
            ],
        };
        let downsample = match stride != 1 || c_in != c_out {
            true => Some(ConvBn::new(c_in, c_out, 1, stride, &vb.pp("downsample"), "0", "1")?),
            false => None,
        };
        Ok(Self { convs, downsample })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let last = self.convs.len() - 1;
        let mut y = x.clone();
        for (i, conv) in self.convs.iter().enumerate() {
            y = conv.forward(&y, train, i != last)?;
        }
        let shortcut = match &self.downsample {
            Some(d) => d.forward(x, train, false)?,
            None => x.clone(),
        };
        (y + shortcut)?.relu()
    }
}

impl ResnetDepth {
    /// Blocks per stage.
    fn layers(self) -> [usize; 4] {
        match self {
            ResnetDepth::R18 => [2, 2, 2, 2],
            ResnetDepth::R50 => [3, 4, 6, 3],
        }
    }

    /// Output channels of a block per `planes`.
    fn expansion(self) -> usize {
        match self {
            ResnetDepth::R18 => 1,
            ResnetDepth::R50 => 4,
        }
    }
}

pub struct Resnet {
    stem: ConvBn,
    /// ImageNet stem: the 3×3 stride-2 max-pool after the first conv.
    max_pool: bool,
    stages: Vec<Vec<Block>>,
    out_dim: usize,
}

impl Resnet {
    /// A ResNet reading `channels`-channel images (3 for every published checkpoint).
    pub fn new(spec: ResnetSpec, channels: usize, vb: VarBuilder) -> Result<Self> {
        let stem = match spec.cifar_stem {
            true => ConvBn::new(channels, 64, 3, 1, &vb, "conv1", "bn1")?,
            false => ConvBn::new(channels, 64, 7, 2, &vb, "conv1", "bn1")?,
        };
        let mut c_in = 64;
        let mut stages = Vec::new();
        for (i, blocks) in spec.depth.layers().into_iter().enumerate() {
            let planes = 64 << i;
            let vb = vb.pp(format!("layer{}", i + 1));
            let mut stage = Vec::new();
            for b in 0..blocks {
                let stride = if b == 0 && i > 0 { 2 } else { 1 };
                stage.push(Block::new(spec.depth, c_in, planes, stride, vb.pp(b))?);
                c_in = planes * spec.depth.expansion();
            }
            stages.push(stage);
        }
        Ok(Self { stem, max_pool: !spec.cifar_stem, stages, out_dim: c_in })
    }

    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    /// N×C×H×W (normalised) → N × out_dim.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = self.stem.forward(x, train, true)?;
        if self.max_pool {
            x = max_pool_3x3_stride2(&x)?;
        }
        for stage in &self.stages {
            for block in stage {
                x = block.forward(&x, train)?;
            }
        }
        x.mean(D::Minus1)?.mean(D::Minus1)
    }

    /// Parameter-name prefixes of the stages, input first: the stem, then `layer1`…`layer4`
    /// (for freezing the first N).
    pub fn stage_prefixes() -> Vec<Vec<&'static str>> {
        vec![vec!["conv1.", "bn1."], vec!["layer1."], vec!["layer2."], vec!["layer3."], vec!["layer4."]]
    }
}

/// torchvision's stem pool, `MaxPool2d(3, stride=2, padding=1)`, from candle ops. Its input
/// follows a ReLU, so padding with zeros gives the same maxima as PyTorch's −∞ padding.
/// Each of the nine window offsets is a stride-2 subsample, taken by a reshape that splits
/// each axis into (output, 2) and keeps the first of each pair.
fn max_pool_3x3_stride2(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (ho, wo) = ((h - 1) / 2 + 1, (w - 1) / 2 + 1);
    // One row/column of padding on each side, and one more at the end for odd sides so the
    // strided reshape of the last offset has whole pairs.
    let x = x.pad_with_zeros(2, 1, 1 + h % 2)?.pad_with_zeros(3, 1, 1 + w % 2)?;
    let (hp, wp) = (x.dim(2)?, x.dim(3)?);
    debug_assert!(hp >= 2 * ho + 2 && wp >= 2 * wo + 2);
    let mut out: Option<Tensor> = None;
    for dy in 0..3 {
        let rows = x.narrow(2, dy, 2 * ho)?.reshape((n, c, ho, 2, wp))?.narrow(3, 0, 1)?.squeeze(3)?;
        for dx in 0..3 {
            let win = rows.narrow(3, dx, 2 * wo)?.reshape((n, c, ho, wo, 2))?.narrow(4, 0, 1)?.squeeze(4)?;
            out = Some(match out {
                Some(m) => m.maximum(&win)?,
                None => win,
            });
        }
    }
    out.ok_or_else(|| candle_core::Error::Msg("max-pool of an empty window".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Against a direct loop over each 3×3 window with −∞ padding, on a post-ReLU input of
    /// odd and even sides.
    #[test]
    fn stem_pool_matches_the_window_definition() {
        for (h, w) in [(7, 6), (8, 9), (5, 5)] {
            let values: Vec<f32> = (0..2 * h * w).map(|i| ((i * 37 % 23) as f32 - 7.0).max(0.0)).collect();
            let x = Tensor::from_vec(values.clone(), (1, 2, h, w), &Device::Cpu).unwrap();
            let y = max_pool_3x3_stride2(&x).unwrap();
            let (ho, wo) = ((h - 1) / 2 + 1, (w - 1) / 2 + 1);
            assert_eq!(y.dims4().unwrap(), (1, 2, ho, wo));
            let got = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for c in 0..2 {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut m = f32::NEG_INFINITY;
                        for dy in 0..3 {
                            for dx in 0..3 {
                                let (iy, ix) = ((oy * 2 + dy) as isize - 1, (ox * 2 + dx) as isize - 1);
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    m = m.max(values[c * h * w + iy as usize * w + ix as usize]);
                                }
                            }
                        }
                        assert_eq!(got[c * ho * wo + oy * wo + ox], m, "{h}×{w} at ({c}, {oy}, {ox})");
                    }
                }
            }
        }
    }
}
