//! Which backbone encodes the items: the modality's own small encoder, or one of the field's
//! architectures (torchvision's ResNets, timm's ViTs, a BERT-family text encoder), each in
//! its origin's parameter names so published checkpoints load as they are.

use serde::{Deserialize, Serialize};

use crate::data::Modality;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EncoderKind {
    /// The modality's own small encoder: a three-block CNN for images, an MLP for tables, a
    /// dilated 1-D CNN for series, the n-gram bag or byte CNN for texts.
    #[default]
    Default,
    /// torchvision's ResNet-18 (He et al. 2016), ImageNet stem (7×7 stride-2 conv, max-pool).
    Resnet18,
    /// torchvision's ResNet-50 (bottleneck blocks), ImageNet stem.
    Resnet50,
    /// ResNet-18 with the CIFAR stem (3×3 stride-1 conv, no max-pool), for images of 64 px
    /// or less, as lightly and solo-learn use it.
    Resnet18Cifar,
    /// ResNet-50 with the CIFAR stem.
    Resnet50Cifar,
    /// timm's `vit_tiny_patch16_224` layout (Dosovitskiy et al. 2021): width 192, 12 blocks,
    /// 3 heads; the patch size is a setting.
    VitTiny,
    /// timm's `vit_small_patch16_224` layout: width 384, 12 blocks, 6 heads.
    VitSmall,
    /// A BERT-family text encoder (Devlin et al. 2019) in the layout Hugging Face
    /// transformers and sentence-transformers write, mean-pooled over tokens.
    Bert,
}

impl EncoderKind {
    pub const ALL: [EncoderKind; 8] = [
        EncoderKind::Default,
        EncoderKind::Resnet18,
        EncoderKind::Resnet50,
        EncoderKind::Resnet18Cifar,
        EncoderKind::Resnet50Cifar,
        EncoderKind::VitTiny,
        EncoderKind::VitSmall,
        EncoderKind::Bert,
    ];

    /// The name on the command line and in config files.
    pub fn key(self) -> &'static str {
        match self {
            EncoderKind::Default => "default",
            EncoderKind::Resnet18 => "resnet18",
            EncoderKind::Resnet50 => "resnet50",
            EncoderKind::Resnet18Cifar => "resnet18-cifar",
            EncoderKind::Resnet50Cifar => "resnet50-cifar",
            EncoderKind::VitTiny => "vit-tiny",
            EncoderKind::VitSmall => "vit-small",
            EncoderKind::Bert => "bert",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EncoderKind::Default => "pretext's small encoder",
            EncoderKind::Resnet18 => "ResNet-18 (torchvision)",
            EncoderKind::Resnet50 => "ResNet-50 (torchvision)",
            EncoderKind::Resnet18Cifar => "ResNet-18, CIFAR stem",
            EncoderKind::Resnet50Cifar => "ResNet-50, CIFAR stem",
            EncoderKind::VitTiny => "ViT-Tiny (timm)",
            EncoderKind::VitSmall => "ViT-Small (timm)",
            EncoderKind::Bert => "BERT family (transformers)",
        }
    }

    /// One sentence for tooltips and `--help`.
    pub fn summary(self) -> &'static str {
        match self {
            EncoderKind::Default => "The modality's own small encoder (a three-block CNN for images, an MLP for tables, a 1-D CNN for series, the n-gram bag for texts): fast on a CPU.",
            EncoderKind::Resnet18 => "torchvision's ResNet-18 with its ImageNet stem; embedding: the 512-d global average pool. Loads torchvision, timm, lightly and solo-learn checkpoints.",
            EncoderKind::Resnet50 => "torchvision's ResNet-50 with its ImageNet stem; embedding: the 2,048-d global average pool.",
            EncoderKind::Resnet18Cifar => "ResNet-18 with a 3×3 stride-1 stem and no max-pool, for images of 64 px or less (as lightly and solo-learn train on CIFAR).",
            EncoderKind::Resnet50Cifar => "ResNet-50 with the CIFAR stem, for images of 64 px or less.",
            EncoderKind::VitTiny => "timm's ViT-Tiny (192 wide, 12 blocks); embedding: the final-norm CLS token (or the mean of the tokens).",
            EncoderKind::VitSmall => "timm's ViT-Small (384 wide, 12 blocks); embedding: the final-norm CLS token (or the mean of the tokens).",
            EncoderKind::Bert => "A BERT-family encoder with its WordPiece tokenizer, sizes from the checkpoint's config.json; embedding: the mean of the token states (sentence-transformers).",
        }
    }

    /// Whose names an exported encoder carries, and how PyTorch loads it.
    pub fn origin_note(self) -> &'static str {
        match self {
            EncoderKind::Default => "pretext's own names; the architecture exists only in pretext",
            EncoderKind::Resnet18 | EncoderKind::Resnet50 => {
                "torchvision names: load_state_dict(strict=True) into torchvision.models.resnet18()/resnet50() with fc = nn.Identity()"
            }
            EncoderKind::Resnet18Cifar | EncoderKind::Resnet50Cifar => {
                "torchvision names: load into resnet18()/resnet50() with conv1 = Conv2d(3, 64, 3, 1, 1, bias=False), maxpool = fc = nn.Identity()"
            }
            EncoderKind::VitTiny | EncoderKind::VitSmall => "timm names: load_state_dict(strict=True) into timm.create_model(..., num_classes=0) with the same img_size and patch_size",
            EncoderKind::Bert => "transformers names: load_state_dict(strict=True) into BertModel(config, add_pooling_layer=False)",
        }
    }

    /// The architectures of the field that read images (ImageNet normalisation, 3 channels).
    pub fn is_image_backbone(self) -> bool {
        self.resnet().is_some() || self.vit().is_some()
    }

    /// Depth and stem of a ResNet encoder.
    pub fn resnet(self) -> Option<ResnetSpec> {
        let (depth, cifar_stem) = match self {
            EncoderKind::Resnet18 => (ResnetDepth::R18, false),
            EncoderKind::Resnet50 => (ResnetDepth::R50, false),
            EncoderKind::Resnet18Cifar => (ResnetDepth::R18, true),
            EncoderKind::Resnet50Cifar => (ResnetDepth::R50, true),
            EncoderKind::Default | EncoderKind::VitTiny | EncoderKind::VitSmall | EncoderKind::Bert => return None,
        };
        Some(ResnetSpec { depth, cifar_stem })
    }

    /// Width, depth and heads of a ViT encoder.
    pub fn vit(self) -> Option<VitSpec> {
        match self {
            EncoderKind::VitTiny => Some(VitSpec { width: 192, depth: 12, heads: 3 }),
            EncoderKind::VitSmall => Some(VitSpec { width: 384, depth: 12, heads: 6 }),
            EncoderKind::Default
            | EncoderKind::Resnet18
            | EncoderKind::Resnet50
            | EncoderKind::Resnet18Cifar
            | EncoderKind::Resnet50Cifar
            | EncoderKind::Bert => None,
        }
    }

    /// Why this encoder cannot read the data, if it cannot.
    pub fn problem_with(self, modality: &Modality) -> Option<String> {
        let wants = match self {
            EncoderKind::Default => return None,
            EncoderKind::Bert => "texts",
            EncoderKind::Resnet18
            | EncoderKind::Resnet50
            | EncoderKind::Resnet18Cifar
            | EncoderKind::Resnet50Cifar
            | EncoderKind::VitTiny
            | EncoderKind::VitSmall => "images",
        };
        let fits = match modality {
            Modality::Image { .. } => self.is_image_backbone(),
            Modality::Text { .. } => self == EncoderKind::Bert,
            Modality::Table { .. } | Modality::Series { .. } | Modality::Embedding { .. } => false,
        };
        (!fits).then(|| format!("the {} encoder reads {wants}, and this dataset holds {}", self.key(), modality.describe()))
    }
}

impl std::fmt::Display for EncoderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

impl std::str::FromStr for EncoderKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        EncoderKind::ALL.into_iter().find(|e| e.key() == s).ok_or_else(|| {
            let names: Vec<&str> = EncoderKind::ALL.iter().map(|e| e.key()).collect();
            format!("unknown encoder '{s}' (expected one of {})", names.join(", "))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResnetDepth {
    /// Basic blocks [2, 2, 2, 2].
    R18,
    /// Bottleneck blocks [3, 4, 6, 3], expansion 4.
    R50,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResnetSpec {
    pub depth: ResnetDepth,
    /// 3×3 stride-1 first conv and no max-pool (CIFAR-sized images).
    pub cifar_stem: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VitSpec {
    pub width: usize,
    pub depth: usize,
    pub heads: usize,
}

/// What a ViT's embedding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TokenPool {
    /// The final-norm CLS token (timm's pre-logits output with `global_pool='token'`).
    #[default]
    Cls,
    /// The mean of the final-norm patch tokens (timm's `global_pool='avg'`).
    Mean,
}

impl std::str::FromStr for TokenPool {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cls" | "token" => Ok(TokenPool::Cls),
            "mean" | "avg" => Ok(TokenPool::Mean),
            other => Err(format!("unknown pooling '{other}' (expected cls or mean)")),
        }
    }
}

/// ImageNet's per-channel mean and std (RGB), the normalisation torchvision, timm and lightly
/// checkpoints were trained with.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
