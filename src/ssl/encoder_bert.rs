//! A BERT-family text encoder (Devlin et al. 2019) in the layout Hugging Face transformers'
//! `BertModel` writes: `embeddings.{word,position,token_type}_embeddings`,
//! `embeddings.LayerNorm`, then `encoder.layer.N.attention.self.{query,key,value}`,
//! `attention.output.{dense,LayerNorm}`, `intermediate.dense`, `output.{dense,LayerNorm}`.
//! Post-norm blocks, sizes from the checkpoint's `config.json`. The embedding is the mean of
//! the last layer's token states over the real (unpadded) tokens, as sentence-transformers'
//! mean pooling computes it. Dropout (the config's rates) acts while training, which is what
//! SimCSE's views rely on.

use candle_core::{DType, Result, Tensor};
use candle_nn::{embedding, linear, Embedding, LayerNorm, LayerNormConfig, Linear, Module, VarBuilder};

use crate::ssl::bert_tokens::{Activation, BertAssets};
use crate::ssl::encoder_vit::linear_tokens;
use crate::ssl::ops::layer_norm;

/// Added to the attention scores of padding positions: their softmax weight is exactly 0
/// (transformers adds the dtype's minimum).
const MASKED_SCORE: f64 = -1e9;

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

pub struct Bert {
    assets: BertAssets,
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    activation: Activation,
}

fn norm(d: usize, eps: f64, vb: VarBuilder) -> Result<LayerNorm> {
    candle_nn::layer_norm(d, LayerNormConfig { eps, ..LayerNormConfig::default() }, vb)
}

impl Layer {
    fn new(d: usize, inner: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let attn = vb.pp("attention");
        Ok(Self {
            query: linear(d, d, attn.pp("self").pp("query"))?,
            key: linear(d, d, attn.pp("self").pp("key"))?,
            value: linear(d, d, attn.pp("self").pp("value"))?,
            attention_out: linear(d, d, attn.pp("output").pp("dense"))?,
            attention_norm: norm(d, eps, attn.pp("output").pp("LayerNorm"))?,
            intermediate: linear(d, inner, vb.pp("intermediate").pp("dense"))?,
            output: linear(inner, d, vb.pp("output").pp("dense"))?,
            output_norm: norm(d, eps, vb.pp("output").pp("LayerNorm"))?,
        })
    }
}

impl Bert {
    pub fn new(assets: BertAssets, vb: VarBuilder) -> Result<Self> {
        let s = assets.spec.clone();
        let activation = assets.spec.activation().map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let e = vb.pp("embeddings");
        let layers = (0..s.num_hidden_layers)
            .map(|i| Layer::new(s.hidden_size, s.intermediate_size, s.layer_norm_eps, vb.pp("encoder").pp("layer").pp(i)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            word: embedding(s.vocab_size, s.hidden_size, e.pp("word_embeddings"))?,
            position: embedding(s.max_position_embeddings, s.hidden_size, e.pp("position_embeddings"))?,
            token_type: embedding(s.type_vocab_size, s.hidden_size, e.pp("token_type_embeddings"))?,
            embed_norm: norm(s.hidden_size, s.layer_norm_eps, e.pp("LayerNorm"))?,
            layers,
            activation,
            assets,
        })
    }

    pub fn out_dim(&self) -> usize {
        self.assets.spec.hidden_size
    }

    /// Where the config and tokenizer were read from (copied into the run's folder).
    pub fn assets(&self) -> &BertAssets {
        &self.assets
    }

    /// N × L byte codes (the text datasets' rows) → N × hidden, the mean of the token states.
    pub fn forward_t(&self, codes: &Tensor, train: bool) -> Result<Tensor> {
        let device = codes.device().clone();
        let rows = codes.to_device(&candle_core::Device::Cpu)?.to_vec2::<f32>()?;
        let (ids, mask, len) = self.assets.encode_codes(&rows).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let n = rows.len();
        let ids = Tensor::from_vec(ids, (n, len), &device)?;
        let mask = Tensor::from_vec(mask, (n, len), &device)?;
        let states = self.token_states(&ids, &mask, train)?;
        // Mean over the real tokens (sentence-transformers: sum(h·m) / max(sum(m), 1e-9)).
        let m = mask.unsqueeze(2)?;
        let summed = states.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
        summed.broadcast_div(&counts)
    }

    /// The last layer's states, N × L × hidden, of token ids with their attention mask.
    pub fn token_states(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Result<Tensor> {
        let (n, len) = ids.dims2()?;
        let s = &self.assets.spec;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let types = Tensor::zeros((n, len), DType::U32, ids.device())?;
        let x = self.word.forward(ids)?.broadcast_add(&self.position.forward(&positions)?.unsqueeze(0)?)?;
        let x = (x + self.token_type.forward(&types)?)?;
        let mut x = self.dropout(&layer_norm(&x, &self.embed_norm, s.layer_norm_eps, train)?, s.hidden_dropout_prob, train)?;
        // 0 for tokens, a large negative number for padding, broadcast over heads and queries.
        let additive = ((mask.ones_like()? - mask)? * MASKED_SCORE)?.reshape((n, 1, 1, len))?;
        for layer in &self.layers {
            x = self.layer(layer, &x, &additive, train)?;
        }
        Ok(x)
    }

    fn layer(&self, layer: &Layer, x: &Tensor, additive: &Tensor, train: bool) -> Result<Tensor> {
        let s = &self.assets.spec;
        let attended = self.attention(layer, x, additive, train)?;
        let attended = self.dropout(&linear_tokens(&attended, &layer.attention_out)?, s.hidden_dropout_prob, train)?;
        let x = layer_norm(&(attended + x)?, &layer.attention_norm, s.layer_norm_eps, train)?;
        let h = linear_tokens(&x, &layer.intermediate)?;
        let h = match self.activation {
            Activation::Gelu => h.gelu_erf()?,
            Activation::GeluTanh => h.gelu()?,
            Activation::Relu => h.relu()?,
        };
        let h = self.dropout(&linear_tokens(&h, &layer.output)?, s.hidden_dropout_prob, train)?;
        layer_norm(&(h + x)?, &layer.output_norm, s.layer_norm_eps, train)
    }

    /// softmax(q·kᵀ/√d_h + mask)·v per head (Vaswani et al. 2017).
    fn attention(&self, layer: &Layer, x: &Tensor, additive: &Tensor, train: bool) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let heads = self.assets.spec.num_attention_heads;
        let hd = d / heads;
        let split = |l: &Linear| -> Result<Tensor> { linear_tokens(x, l)?.reshape((b, t, heads, hd))?.transpose(1, 2)?.contiguous() };
        let q = (split(&layer.query)? * (hd as f64).powf(-0.5))?;
        let (k, v) = (split(&layer.key)?, split(&layer.value)?);
        let scores = q.matmul(&k.t()?.contiguous()?)?.broadcast_add(additive)?;
        let weights = self.dropout(&crate::ssl::ops::softmax_last(&scores, train)?, self.assets.spec.attention_probs_dropout_prob, train)?;
        weights.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))
    }

    fn dropout(&self, x: &Tensor, p: f32, train: bool) -> Result<Tensor> {
        if train && p > 0.0 {
            candle_nn::ops::dropout(x, p)
        } else {
            Ok(x.clone())
        }
    }

    /// The stages for freezing, input first: the embeddings, then each layer.
    pub fn stage_prefixes(&self) -> Vec<Vec<String>> {
        let mut stages = vec![vec!["embeddings.".to_string()]];
        stages.extend((0..self.layers.len()).map(|i| vec![format!("encoder.layer.{i}.")]));
        stages
    }
}
