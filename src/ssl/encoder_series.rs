//! The time series encoder: dilated residual 1-D convolutions then global max pooling over
//! time, after TS2Vec (Yue et al. 2022), whose instance-level representation is the
//! max-pooled output of a dilated convolutional encoder. Dilations double per block so the
//! receptive field covers the whole series with few blocks.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use crate::ssl::conv1d::{Conv1d, ResidualConv1d};

/// Kernel size of every convolution.
const KERNEL: usize = 3;

/// Blocks needed for the receptive field (1 + 4·(2^B − 1) steps with k = 3) to cover
/// `length`, between 3 and 8.
pub fn blocks_for(length: usize) -> usize {
    let mut blocks = 3;
    while blocks < 8 && 1 + 4 * ((1usize << blocks) - 1) < length {
        blocks += 1;
    }
    blocks
}

pub struct SeriesEncoder {
    blocks: Vec<ResidualConv1d>,
    /// 1×1 convolution from the hidden width to the embedding size, before the pooling (a
    /// full block at the embedding width cost 4× the rest of the encoder per step).
    out: Conv1d,
    channels: usize,
    length: usize,
}

impl SeriesEncoder {
    /// `width` channels in the blocks, `out` channels in the embedding.
    pub fn new(channels: usize, length: usize, width: usize, out: usize, vb: VarBuilder) -> Result<Self> {
        let n = blocks_for(length);
        let mut blocks = Vec::with_capacity(n);
        let mut c_in = channels;
        for i in 0..n {
            blocks.push(ResidualConv1d::new(c_in, width, KERNEL, 1 << i, vb.pp(format!("block{i}")))?);
            c_in = width;
        }
        let out = Conv1d::new(width, out, 1, 1, vb.pp("out"))?;
        Ok(Self { blocks, out, channels, length })
    }

    pub fn out_dim(&self) -> usize {
        self.out.out_channels()
    }

    /// N × C × T (the dataset's channel-major items) → N × out, max-pooled over time.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (_, c, t) = x.dims3()?;
        if (c, t) != (self.channels, self.length) {
            candle_core::bail!("series of {c}×{t} for an encoder built for {}×{}", self.channels, self.length);
        }
        let mut h = x.transpose(1, 2)?.contiguous()?;
        for block in &self.blocks {
            h = block.forward_t(&h, train)?;
        }
        self.out.forward(&h)?.max(1)
    }
}
