//! Vision Transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words") in timm's
//! `VisionTransformer` layout: `patch_embed.proj`, `cls_token`, `pos_embed`,
//! `blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}` and the final `norm`
//! (`fc_norm` instead, after the pooling, when the tokens are averaged: timm's
//! `global_pool='avg'`). Pre-norm blocks, LayerNorm ε = 1e-6, exact (erf) GELU, as timm's
//! defaults. No classifier head: the embedding is timm's pre-logits output.

use candle_core::{Result, Tensor, D};
use candle_nn::{linear, LayerNorm, LayerNormConfig, Linear, VarBuilder};

use crate::ssl::ops::layer_norm;

use crate::ssl::encoder_kind::{TokenPool, VitSpec};

const LN_EPS: f64 = 1e-6;
const MLP_RATIO: usize = 4;

fn norm(d: usize, vb: VarBuilder) -> Result<LayerNorm> {
    candle_nn::layer_norm(d, LayerNormConfig { eps: LN_EPS, ..LayerNormConfig::default() }, vb)
}

/// `x · Wᵀ + b` over the last axis of a B×T×D tensor, through the fused 2-D linear op.
pub(crate) fn linear_tokens(x: &Tensor, layer: &Linear) -> Result<Tensor> {
    let (b, t, d) = x.dims3()?;
    let y = crate::ssl::dense::linear(&x.reshape((b * t, d))?, layer, false)?;
    y.reshape((b, t, y.dim(1)?))
}

struct Block {
    norm1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    heads: usize,
}

impl Block {
    fn new(d: usize, heads: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm1: norm(d, vb.pp("norm1"))?,
            qkv: linear(d, 3 * d, vb.pp("attn").pp("qkv"))?,
            proj: linear(d, d, vb.pp("attn").pp("proj"))?,
            norm2: norm(d, vb.pp("norm2"))?,
            fc1: linear(d, MLP_RATIO * d, vb.pp("mlp").pp("fc1"))?,
            fc2: linear(MLP_RATIO * d, d, vb.pp("mlp").pp("fc2"))?,
            heads,
        })
    }

    /// Multi-head self-attention, softmax(q·kᵀ/√d_h)·v per head (Vaswani et al. 2017).
    fn attention(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let hd = d / self.heads;
        let qkv = linear_tokens(x, &self.qkv)?.reshape((b, t, 3, self.heads, hd))?.permute((2, 0, 3, 1, 4))?;
        let q = (qkv.get(0)?.contiguous()? * (hd as f64).powf(-0.5))?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let weights = crate::ssl::ops::softmax_last(&q.matmul(&k.t()?.contiguous()?)?, train)?;
        let out = weights.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        linear_tokens(&out, &self.proj)
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = (x + self.attention(&layer_norm(x, &self.norm1, LN_EPS, train)?, train)?)?;
        let h = linear_tokens(&layer_norm(&x, &self.norm2, LN_EPS, train)?, &self.fc1)?.gelu_erf()?;
        x + linear_tokens(&h, &self.fc2)?
    }
}

pub struct Vit {
    patch_weight: Tensor,
    patch_bias: Tensor,
    patch: usize,
    cls_token: Tensor,
    pos_embed: Tensor,
    blocks: Vec<Block>,
    /// `norm` (CLS pooling, over every token) or `fc_norm` (mean pooling, after it).
    final_norm: LayerNorm,
    pool: TokenPool,
    width: usize,
}

impl Vit {
    /// A ViT over `channels`×`height`×`width` images cut into `patch`×`patch` patches.
    pub fn new(spec: VitSpec, channels: usize, (height, width): (usize, usize), patch: usize, pool: TokenPool, vb: VarBuilder) -> Result<Self> {
        if patch == 0 || height % patch != 0 || width % patch != 0 {
            candle_core::bail!("the ViT's patch size {patch} does not divide the image size {width}×{height}");
        }
        let d = spec.width;
        let tokens = (height / patch) * (width / patch) + 1;
        let pe = vb.pp("patch_embed").pp("proj");
        let bound = 1.0 / ((channels * patch * patch) as f64).sqrt();
        let patch_weight = pe.get_with_hints((d, channels, patch, patch), "weight", candle_nn::Init::Uniform { lo: -bound, up: bound })?;
        let patch_bias = pe.get_with_hints(d, "bias", candle_nn::Init::Uniform { lo: -bound, up: bound })?;
        // timm draws both from a normal of std 0.02 (the class token at 1e-6).
        let small = candle_nn::Init::Randn { mean: 0.0, stdev: 0.02 };
        let cls_token = vb.get_with_hints((1, 1, d), "cls_token", small)?;
        let pos_embed = vb.get_with_hints((1, tokens, d), "pos_embed", small)?;
        let blocks = (0..spec.depth).map(|i| Block::new(d, spec.heads, vb.pp("blocks").pp(i))).collect::<Result<Vec<_>>>()?;
        let final_norm = match pool {
            TokenPool::Cls => norm(d, vb.pp("norm"))?,
            TokenPool::Mean => norm(d, vb.pp("fc_norm"))?,
        };
        Ok(Self { patch_weight, patch_bias, patch, cls_token, pos_embed, blocks, final_norm, pool, width: d })
    }

    pub fn out_dim(&self) -> usize {
        self.width
    }

    /// N×C×H×W (normalised) → N × width. No dropout or BatchNorm: `train` only picks the
    /// LayerNorm that backpropagates (`ssl::ops::layer_norm`).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let n = x.dim(0)?;
        let d = self.width;
        let patches = crate::ssl::ops::conv2d(x, &self.patch_weight, 0, self.patch)?.broadcast_add(&self.patch_bias.reshape((1, d, 1, 1))?)?;
        let tokens = patches.flatten_from(2)?.transpose(1, 2)?;
        let cls = self.cls_token.broadcast_as((n, 1, d))?;
        let mut x = Tensor::cat(&[&cls, &tokens], 1)?.broadcast_add(&self.pos_embed)?;
        for block in &self.blocks {
            x = block.forward(&x, train)?;
        }
        match self.pool {
            TokenPool::Cls => layer_norm(&x, &self.final_norm, LN_EPS, train)?.narrow(1, 0, 1)?.squeeze(1),
            TokenPool::Mean => {
                let t = x.dim(1)?;
                layer_norm(&x.narrow(1, 1, t - 1)?.mean(D::Minus2)?, &self.final_norm, LN_EPS, train)
            }
        }
    }

    /// The stages for freezing, input first: the patch embedding (with the class token and
    /// the position embedding), then each block.
    pub fn stage_prefixes(&self) -> Vec<Vec<String>> {
        let mut stages = vec![vec!["patch_embed.".to_string(), "cls_token".to_string(), "pos_embed".to_string()]];
        stages.extend((0..self.blocks.len()).map(|i| vec![format!("blocks.{i}.")]));
        stages
    }
}

/// The patch side the ViT uses for a setting of 0: 16 at 224 px and up (timm's published
/// models), 4 up to 32 px (CIFAR-sized), 8 between; always one that divides the side.
pub fn auto_patch(side: usize) -> usize {
    let wanted = match side {
        s if s >= 224 => 16,
        s if s <= 32 => 4,
        _ => 8,
    };
    (1..=wanted).rev().find(|p| side % p == 0).unwrap_or(1)
}
