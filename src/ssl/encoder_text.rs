//! The text encoder: a byte-level CNN trained from scratch (after Zhang et al. 2015,
//! "Character-level Convolutional Networks for Text Classification", and Kim 2014's
//! max-over-time pooling). Byte codes → embedding table → three 1-D convolutions (BatchNorm,
//! ReLU; max-pool by 2 between them) → max over positions. The embedding is that pooled
//! vector: which n-gram detectors fired anywhere in the text.
//!
//! A 1-D convolution here is im2col as tensor ops (the k shifted copies of the sequence side
//! by side) and one fused linear op (`ssl::dense`), so forward and backward are GEMMs.

use candle_core::{DType, Result, Tensor};
use candle_nn::{batch_norm, linear, BatchNorm, Linear, VarBuilder};

use crate::data::text::VOCAB;
use crate::ssl::dense;

/// Width of each convolution, in positions (bytes at the first layer).
const KERNEL: usize = 5;

struct ConvBlock {
    /// Weight c_out × (KERNEL · c_in), bias c_out.
    conv: Linear,
    bn: BatchNorm,
}

pub struct TextCnn {
    embedding: Tensor,
    blocks: Vec<ConvBlock>,
    dropout: f32,
    out_dim: usize,
}

impl TextCnn {
    /// Embedding of 2·`width` per byte; convolutions of 4·`width`, 4·`width`, 8·`width`
    /// channels (the embedding is 8·`width`-d). `dropout` acts on the embedded bytes and
    /// between blocks while training.
    pub fn new(width: usize, dropout: f32, vb: VarBuilder) -> Result<Self> {
        let embed = 2 * width;
        let embedding = vb.get_with_hints((VOCAB, embed), "embedding.weight", candle_nn::Init::Randn { mean: 0.0, stdev: 1.0 })?;
        let mut blocks = Vec::new();
        let mut c_in = embed;
        for (i, c_out) in [4 * width, 4 * width, 8 * width].into_iter().enumerate() {
            let vb = vb.pp(format!("block{i}"));
            let conv = linear(KERNEL * c_in, c_out, vb.pp("conv"))?;
            let bn = batch_norm(c_out, candle_nn::BatchNormConfig::default(), vb.pp("bn"))?;
            blocks.push(ConvBlock { conv, bn });
            c_in = c_out;
        }
        Ok(Self { embedding, blocks, dropout, out_dim: c_in })
    }

    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    /// `codes`: N × L byte codes (as f32, as the datasets store them) → N × out_dim.
    pub fn forward_t(&self, codes: &Tensor, train: bool) -> Result<Tensor> {
        let (n, len) = codes.dims2()?;
        // Codes are whole numbers in [0, VOCAB); clamping keeps any other input (a noisy
        // copy, a hand-made row) a valid index instead of an out-of-range lookup.
        let ids = codes.clamp(0f32, (VOCAB - 1) as f32)?.round()?.to_dtype(DType::U32)?.flatten_all()?;
        let mut x = self.embedding.index_select(&ids, 0)?.reshape((n, len, ()))?;
        x = self.drop(&x, train)?;
        let last = self.blocks.len() - 1;
        for (i, block) in self.blocks.iter().enumerate() {
            x = conv1d_bn_relu(&x, block, train)?;
            if i < last {
                x = self.drop(&max_pool2(&x)?, train)?;
            }
        }
        // Max over positions (Kim 2014): padding positions compete too, which is harmless
        // since every text has the same padding code.
        x.max(1)
    }

    fn drop(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if train && self.dropout > 0.0 {
            candle_nn::ops::dropout(x, self.dropout)
        } else {
            Ok(x.clone())
        }
    }
}

/// N × L × C → N × L × C_out: a "same" convolution along L as im2col + one GEMM, then
/// BatchNorm (over all positions) and ReLU.
fn conv1d_bn_relu(x: &Tensor, block: &ConvBlock, train: bool) -> Result<Tensor> {
    let (n, len, _) = x.dims3()?;
    let pad = KERNEL / 2;
    let padded = x.pad_with_zeros(1, pad, KERNEL - 1 - pad)?;
    let shifted: Vec<Tensor> = (0..KERNEL).map(|j| padded.narrow(1, j, len)).collect::<Result<_>>()?;
    let cols = Tensor::cat(&shifted, 2)?.reshape((n * len, ()))?;
    let z = dense::linear(&cols, &block.conv, false)?;
    dense::batch_norm_relu(&z, &block.bn, train)?.reshape((n, len, ()))
}

/// Max over each pair of neighbouring positions (an odd last position is dropped).
fn max_pool2(x: &Tensor) -> Result<Tensor> {
    let (n, len, c) = x.dims3()?;
    if len < 2 {
        return Ok(x.clone());
    }
    let half = len / 2;
    x.narrow(1, 0, half * 2)?.reshape((n, half, 2, c))?.max(2)
}
