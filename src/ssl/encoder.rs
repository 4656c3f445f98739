//! Encoders and heads (candle-nn parameters; the CPU forward and backward passes are
//! `ssl::conv` and `ssl::dense` ops). The embedding the user explores is the backbone output;
//! the projection head (SimCLR) and the decoder (masked autoencoder) exist only for the loss.

use candle_core::{Device, Result, Tensor};
use candle_nn::{batch_norm, linear, BatchNorm, Linear, VarBuilder};

use crate::data::Modality;
use crate::ssl::config::{ObjectiveKind, TrainConfig};
use crate::ssl::dense;
use crate::ssl::encoder_bert::Bert;
use crate::ssl::encoder_kind::{EncoderKind, IMAGENET_MEAN, IMAGENET_STD};
use crate::ssl::encoder_resnet::Resnet;
use crate::ssl::encoder_series::SeriesEncoder;
use crate::ssl::encoder_vit::Vit;

/// Three conv(3×3, pad 1) → BatchNorm → ReLU → 2×2 max-pool blocks, widths w, 2w, 4w. The
/// embedding is the flattened output of the last block (1,152-d for 28×28 input and w = 32):
/// kNN on this pooled conv output beats a linear bottleneck after it.
pub struct CnnEncoder {
    blocks: Vec<(Tensor, BatchNorm)>,
    out_dim: usize,
}

impl CnnEncoder {
    pub fn new(channels: usize, height: usize, width: usize, base: usize, vb: VarBuilder) -> Result<Self> {
        let mut blocks = Vec::new();
        let (mut c_in, mut h, mut w) = (channels, height, width);
        for (i, c_out) in [base, base * 2, base * 4].into_iter().enumerate() {
            let vb = vb.pp(format!("block{i}"));
            let bound = 1.0 / ((c_in * 9) as f64).sqrt();
            let kernel = vb.get_with_hints((c_out, c_in, 3, 3), "conv.weight", candle_nn::Init::Uniform { lo: -bound, up: bound })?;
            // No conv bias: BatchNorm right after it would cancel it.
            let bn = batch_norm(c_out, candle_nn::BatchNormConfig::default(), vb.pp("bn"))?;
            blocks.push((kernel, bn));
            c_in = c_out;
            h /= 2;
            w /= 2;
        }
        if h == 0 || w == 0 {
            candle_core::bail!("images of {height}×{width} are too small for three pooling blocks (need at least 8×8)");
        }
        Ok(Self { blocks, out_dim: c_in * h * w })
    }

    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = x.clone();
        for (kernel, bn) in &self.blocks {
            x = crate::ssl::ops::conv_bn_relu_pool(&x, kernel, bn, train, 1, 2)?;
        }
        x.flatten_from(1)
    }
}

/// Linear → BatchNorm → ReLU layers then a linear output: the table encoder and the heads.
pub struct Mlp {
    hidden: Vec<(Linear, BatchNorm)>,
    out: Linear,
}

impl Mlp {
    pub fn new(sizes: &[usize], vb: VarBuilder) -> Result<Self> {
        let mut hidden = Vec::new();
        for i in 0..sizes.len().saturating_sub(2) {
            let l = linear(sizes[i], sizes[i + 1], vb.pp(format!("fc{i}")))?;
            let bn = batch_norm(sizes[i + 1], candle_nn::BatchNormConfig::default(), vb.pp(format!("bn{i}")))?;
            hidden.push((l, bn));
        }
        let n = sizes.len();
        let out = linear(sizes[n - 2], sizes[n - 1], vb.pp("out"))?;
        Ok(Self { hidden, out })
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = x.clone();
        for (l, bn) in &self.hidden {
            x = dense::batch_norm_relu(&dense::linear(&x, l, false)?, bn, train)?;
        }
        dense::linear(&x, &self.out, false)
    }
}

/// The modality's own small encoder, its embedding size and the item shape it reads.
fn small_backbone(modality: &Modality, cfg: &TrainConfig, vb: VarBuilder) -> Result<(Backbone, usize, Vec<usize>)> {
    Ok(match modality {
        Modality::Image { channels, height, width } => {
            let cnn = CnnEncoder::new(*channels, *height, *width, cfg.width, vb.clone())?;
            let d = cnn.out_dim();
            (Backbone::Cnn(cnn), d, vec![*channels, *height, *width])
        }
        Modality::Table { columns } => {
            let hidden = (cfg.width * 8).max(64);
            let mlp = Mlp::new(&[columns.len(), hidden, hidden, cfg.embed_dim], vb.clone())?;
            (Backbone::Mlp(mlp), cfg.embed_dim, vec![columns.len()])
        }
        Modality::Series { channels, length } => {
            let enc = SeriesEncoder::new(*channels, *length, cfg.width, cfg.embed_dim, vb.clone())?;
            (Backbone::Series(enc), cfg.embed_dim, vec![*channels, *length])
        }
        Modality::Embedding { .. } => return Err(candle_core::Error::Msg(crate::data::NOT_TRAINABLE.into())),
        Modality::Text { max_len } => match cfg.text_encoder {
            crate::ssl::TextEncoder::Cnn => {
                let cnn = crate::ssl::encoder_text::TextCnn::new(cfg.width, cfg.augment.text.dropout, vb.clone())?;
                let d = cnn.out_dim();
                (Backbone::Text(cnn), d, vec![*max_len])
            }
            crate::ssl::TextEncoder::Bag => {
                let bag = crate::ssl::encoder_text_bag::TextBag::new(cfg.width, cfg.augment.text.dropout, vb.clone())?;
                let d = bag.out_dim();
                (Backbone::TextBag(bag), d, vec![*max_len])
            }
        },
    })
}

/// C×H×W of an image dataset, for the image backbones.
fn image_shape(modality: &Modality) -> Result<Vec<usize>> {
    match modality {
        Modality::Image { channels, height, width } => Ok(vec![*channels, *height, *width]),
        other => candle_core::bail!("the image encoders read images, and this dataset holds {}", other.describe()),
    }
}

pub enum Backbone {
    Cnn(CnnEncoder),
    Mlp(Mlp),
    Series(SeriesEncoder),
    Text(crate::ssl::encoder_text::TextCnn),
    TextBag(crate::ssl::encoder_text_bag::TextBag),
    Resnet(Resnet),
    Vit(Vit),
    Bert(Bert),
}

impl Backbone {
    /// Parameter-name prefixes (under `encoder.`) of the backbone's stages, input first, for
    /// freezing the first N. The small encoders are one stage each.
    pub fn stage_prefixes(&self) -> Vec<Vec<String>> {
        match self {
            Backbone::Resnet(_) => Resnet::stage_prefixes().into_iter().map(|s| s.into_iter().map(String::from).collect()).collect(),
            Backbone::Vit(vit) => vit.stage_prefixes(),
            Backbone::Bert(bert) => bert.stage_prefixes(),
            Backbone::Cnn(_) | Backbone::Mlp(_) | Backbone::Series(_) | Backbone::Text(_) | Backbone::TextBag(_) => vec![vec![String::new()]],
        }
    }
}

/// Backbone plus the heads the objective needs.
pub struct SslModel {
    pub backbone: Backbone,
    /// View objectives: projector to the loss space. Generative: decoder back to the input.
    /// data2vec: predictor of the teacher's embedding.
    pub head: Mlp,
    /// BYOL: the online network's predictor on top of the projector.
    pub predictor: Option<Mlp>,
    pub embed_dim: usize,
    pub input_shape: Vec<usize>,
    /// The field's image backbones: grey images are repeated to three channels and every
    /// image normalised with ImageNet's mean and std before the backbone, as their
    /// checkpoints expect.
    imagenet_input: bool,
    /// Where the weights live; inputs are made here.
    device: Device,
}

impl SslModel {
    /// The student: backbone, head and (BYOL) predictor.
    pub fn new(modality: &Modality, cfg: &TrainConfig, vb: VarBuilder) -> Result<Self> {
        Self::with_predictor(modality, cfg, vb, cfg.objective == ObjectiveKind::Byol)
    }

    /// A momentum teacher: the same backbone and head, never a predictor.
    pub fn teacher(modality: &Modality, cfg: &TrainConfig, vb: VarBuilder) -> Result<Self> {
        Self::with_predictor(modality, cfg, vb, false)
    }

    fn with_predictor(modality: &Modality, cfg: &TrainConfig, vb: VarBuilder, predictor: bool) -> Result<Self> {
        if let Some(problem) = cfg.encoder.problem_with(modality) {
            candle_core::bail!("{problem}");
        }
        let imagenet_input = cfg.encoder.is_image_backbone();
        let (backbone, embed_dim, input_shape) = match cfg.encoder {
            EncoderKind::Default => small_backbone(modality, cfg, vb.pp("encoder"))?,
            EncoderKind::Resnet18 | EncoderKind::Resnet50 | EncoderKind::Resnet18Cifar | EncoderKind::Resnet50Cifar => {
                let (spec, shape) = (cfg.encoder.resnet(), image_shape(modality)?);
                let spec = spec.ok_or_else(|| candle_core::Error::Msg(format!("{} is no ResNet", cfg.encoder)))?;
                let net = Resnet::new(spec, 3, vb.pp("encoder"))?;
                let d = net.out_dim();
                (Backbone::Resnet(net), d, shape)
            }
            EncoderKind::VitTiny | EncoderKind::VitSmall => {
                let (spec, shape) = (cfg.encoder.vit(), image_shape(modality)?);
                let spec = spec.ok_or_else(|| candle_core::Error::Msg(format!("{} is no ViT", cfg.encoder)))?;
                let (height, width) = (shape[1], shape[2]);
                let patch = match cfg.patch_size {
                    0 => crate::ssl::encoder_vit::auto_patch(height.min(width)),
                    p => p,
                };
                let net = Vit::new(spec, 3, (height, width), patch, cfg.token_pool, vb.pp("encoder"))?;
                let d = net.out_dim();
                (Backbone::Vit(net), d, shape)
            }
            EncoderKind::Bert => {
                let Modality::Text { max_len } = modality else { candle_core::bail!("the bert encoder reads texts") };
                let dir = crate::ssl::bert_tokens::assets_dir(cfg.text_model.as_deref(), cfg.init.as_deref()).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
                let assets = crate::ssl::bert_tokens::BertAssets::read(&dir).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
                let net = Bert::new(assets, vb.pp("encoder"))?;
                let d = net.out_dim();
                (Backbone::Bert(net), d, vec![*max_len])
            }
        };
        let head_hidden = 512.min(embed_dim.max(cfg.proj_dim) * 2).max(cfg.proj_dim);
        // Generative objectives reconstruct the item; data2vec predicts the teacher's
        // embedding; the view objectives compare projections.
        let head_out = match cfg.objective {
            ObjectiveKind::Mae | ObjectiveKind::Denoise => modality.item_len(),
            ObjectiveKind::Data2vec => embed_dim,
            ObjectiveKind::Simclr | ObjectiveKind::Moco | ObjectiveKind::Vicreg | ObjectiveKind::Barlow | ObjectiveKind::Byol => cfg.proj_dim,
        };
        let head = Mlp::new(&[embed_dim, head_hidden, head_out], vb.pp("head"))?;
        let predictor = if predictor {
            Some(Mlp::new(&[head_out, head_hidden, head_out], vb.pp("predictor"))?)
        } else {
            None
        };
        Ok(Self { backbone, head, predictor, embed_dim, input_shape, imagenet_input, device: vb.device().clone() })
    }

    /// A model with seeded weights on `cfg.device`, with the VarMap that owns its weights.
    pub fn build(modality: &Modality, cfg: &TrainConfig) -> crate::Result<(candle_nn::VarMap, SslModel)> {
        Self::build_with(modality, cfg, SslModel::new)
    }

    /// `build` with the constructor to use (`SslModel::new` or `SslModel::teacher`).
    pub fn build_with(
        modality: &Modality,
        cfg: &TrainConfig,
        make: impl FnOnce(&Modality, &TrainConfig, VarBuilder) -> Result<SslModel>,
    ) -> crate::Result<(candle_nn::VarMap, SslModel)> {
        let device = crate::ssl::compute_device(cfg.device)?;
        let varmap = candle_nn::VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &device);
        let model = make(modality, cfg, vb)
            .map_err(|e| crate::PretextError::InvalidConfig(format!("cannot build the model: {e}")))?;
        crate::ssl::init::reseed(&varmap, cfg.seed)?;
        Ok((varmap, model))
    }

    /// The weights the optimiser updates: all of them, less the encoder's first `freeze`
    /// stages (`Backbone::stage_prefixes`).
    pub fn trainable_vars(&self, varmap: &candle_nn::VarMap, freeze: usize) -> crate::Result<Vec<candle_core::Var>> {
        if freeze == 0 {
            return Ok(varmap.all_vars());
        }
        let stages = self.backbone.stage_prefixes();
        if freeze > stages.len() {
            return Err(crate::PretextError::InvalidConfig(format!(
                "the encoder has {} stage(s) to freeze; {freeze} were asked for",
                stages.len()
            )));
        }
        let frozen: Vec<String> = stages[..freeze].iter().flatten().map(|p| format!("{}{p}", crate::ssl::checkpoint::ENCODER_PREFIX)).collect();
        let data = varmap.data().lock().map_err(|_| crate::PretextError::BadData("the model's weights are poisoned".into()))?;
        Ok(data.iter().filter(|(name, _)| !frozen.iter().any(|p| name.starts_with(p.as_str()))).map(|(_, v)| v.clone()).collect())
    }

    /// The device the model computes on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Reshapes a flat batch (n × item_len) to what the backbone takes.
    pub fn shape_input(&self, flat: &Tensor) -> Result<Tensor> {
        let n = flat.dim(0)?;
        let mut dims = vec![n];
        dims.extend_from_slice(&self.input_shape);
        flat.reshape(dims)
    }

    /// Grey to three channels and ImageNet's normalisation, for the field's image backbones.
    fn imagenet_normalise(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let x = match c {
            1 => x.broadcast_as((n, 3, h, w))?.contiguous()?,
            3 => x.clone(),
            other => candle_core::bail!("the {} encoder reads grey or RGB images, not {other} channels", "image"),
        };
        let mean = Tensor::from_slice(&IMAGENET_MEAN, (1, 3, 1, 1), x.device())?;
        let std = Tensor::from_slice(&IMAGENET_STD, (1, 3, 1, 1), x.device())?;
        x.broadcast_sub(&mean)?.broadcast_div(&std)
    }

    /// Backbone embedding of a flat batch.
    pub fn embed(&self, flat: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = self.shape_input(flat)?;
        if self.imagenet_input {
            x = self.imagenet_normalise(&x)?;
        }
        match &self.backbone {
            Backbone::Cnn(cnn) => cnn.forward_t(&x, train),
            Backbone::Mlp(mlp) => mlp.forward_t(&x, train),
            Backbone::Series(enc) => enc.forward_t(&x, train),
            Backbone::Text(cnn) => cnn.forward_t(&x, train),
            Backbone::TextBag(bag) => bag.forward_t(&x, train),
            Backbone::Resnet(net) => net.forward_t(&x, train),
            Backbone::Vit(net) => net.forward_t(&x, train),
            Backbone::Bert(net) => net.forward_t(&x, train),
        }
    }
}
