//! Training settings. Serialised into a run's config.json; `#[serde(default)]` so that runs
//! saved by an older version still open.

use serde::{Deserialize, Serialize};

pub use crate::data::AugmentConfig;
use crate::error::{PretextError, Result};
pub use crate::ssl::encoder_kind::{EncoderKind, TokenPool};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectiveKind {
    /// Contrastive: NT-Xent between two augmented views (Chen et al. 2020, SimCLR).
    Simclr,
    /// Contrastive with a momentum encoder and a queue of negatives (He et al. 2020, MoCo v2).
    Moco,
    /// Redundancy reduction: invariance, variance and covariance terms (Bardes et al. 2022).
    Vicreg,
    /// Redundancy reduction: cross-correlation of the views driven to the identity
    /// (Zbontar et al. 2021).
    Barlow,
    /// Self-distillation: an online network predicts a momentum teacher's projection of the
    /// other view (Grill et al. 2020).
    Byol,
    /// Predictive in embedding space: from a masked input, predict the momentum teacher's
    /// embedding of the whole input (after data2vec, Baevski et al. 2022).
    Data2vec,
    /// Generative: reconstruct the input from a masked copy (masked / denoising autoencoder).
    Mae,
    /// Generative: reconstruct the clean input from a noisy copy (denoising autoencoder,
    /// Vincent et al. 2008; swap noise for tables).
    Denoise,
}

impl ObjectiveKind {
    pub const ALL: [ObjectiveKind; 8] = [
        ObjectiveKind::Simclr,
        ObjectiveKind::Moco,
        ObjectiveKind::Vicreg,
        ObjectiveKind::Barlow,
        ObjectiveKind::Byol,
        ObjectiveKind::Data2vec,
        ObjectiveKind::Mae,
        ObjectiveKind::Denoise,
    ];

    /// The name on the command line and in config files.
    pub fn key(self) -> &'static str {
        match self {
            ObjectiveKind::Simclr => "simclr",
            ObjectiveKind::Moco => "moco",
            ObjectiveKind::Vicreg => "vicreg",
            ObjectiveKind::Barlow => "barlow",
            ObjectiveKind::Byol => "byol",
            ObjectiveKind::Data2vec => "data2vec",
            ObjectiveKind::Mae => "mae",
            ObjectiveKind::Denoise => "denoise",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ObjectiveKind::Simclr => "SimCLR (contrastive)",
            ObjectiveKind::Moco => "MoCo (contrastive, momentum queue)",
            ObjectiveKind::Vicreg => "VICReg (redundancy reduction)",
            ObjectiveKind::Barlow => "Barlow Twins (redundancy reduction)",
            ObjectiveKind::Byol => "BYOL (self-distillation)",
            ObjectiveKind::Data2vec => "data2vec (predictive, embedding space)",
            ObjectiveKind::Mae => "Masked autoencoder (generative)",
            ObjectiveKind::Denoise => "Denoising autoencoder (generative)",
        }
    }

    /// What the objective optimises, in one sentence (tooltips, `--help`, README).
    pub fn summary(self) -> &'static str {
        match self {
            ObjectiveKind::Simclr => "Pulls two augmented views of an item together and pushes the other items of the batch away (NT-Xent).",
            ObjectiveKind::Moco => "Like SimCLR, but the negatives are the keys of recent batches kept in a queue, encoded by a slowly moving copy of the encoder.",
            ObjectiveKind::Vicreg => "Makes the two views' projections equal while keeping every dimension's variance up and the dimensions decorrelated; no negatives.",
            ObjectiveKind::Barlow => "Drives the cross-correlation matrix of the two views' projections to the identity; no negatives.",
            ObjectiveKind::Byol => "An online network predicts a slowly moving teacher's projection of the other view; no negatives.",
            ObjectiveKind::Data2vec => "From an input with patches hidden, predicts a slowly moving teacher's embedding of the whole input.",
            ObjectiveKind::Mae => "Hides patches (or features) of the input and reconstructs them.",
            ObjectiveKind::Denoise => "Corrupts the input with noise (tables: swapped features) and reconstructs the clean input.",
        }
    }

    /// The objective a dataset of this modality starts with: the masked autoencoder for
    /// tables (it had the best mean kNN accuracy over scikit-learn's bundled tables and never
    /// fell far below raw features; the view objectives lost 7 points on digits), SimCLR
    /// elsewhere.
    pub fn default_for(modality: &crate::data::Modality) -> ObjectiveKind {
        match modality {
            crate::data::Modality::Table { .. } => ObjectiveKind::Mae,
            crate::data::Modality::Image { .. } | crate::data::Modality::Series { .. } | crate::data::Modality::Text { .. } | crate::data::Modality::Embedding { .. } => ObjectiveKind::Simclr,
        }
    }

    /// Objectives that keep a momentum (EMA) teacher of the encoder.
    pub fn has_teacher(self) -> bool {
        matches!(self, ObjectiveKind::Moco | ObjectiveKind::Byol | ObjectiveKind::Data2vec)
    }

    /// Objectives that learn from two augmented views of each item.
    pub fn uses_views(self) -> bool {
        !matches!(self, ObjectiveKind::Mae | ObjectiveKind::Denoise | ObjectiveKind::Data2vec)
    }

    /// Objectives that reconstruct their input.
    pub fn is_generative(self) -> bool {
        matches!(self, ObjectiveKind::Mae | ObjectiveKind::Denoise)
    }
}

impl std::str::FromStr for ObjectiveKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.to_ascii_lowercase();
        let s = if s == "barlowtwins" || s == "barlow-twins" { "barlow".to_string() } else { s };
        ObjectiveKind::ALL.into_iter().find(|o| o.key() == s).ok_or_else(|| {
            let names: Vec<&str> = ObjectiveKind::ALL.iter().map(|o| o.key()).collect();
            format!("unknown objective '{s}' (expected one of {})", names.join(", "))
        })
    }
}

/// Which encoder reads texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextEncoder {
    /// Mean of learned vectors of hashed words, word bigrams and character trigrams (fastText).
    Bag,
    /// Byte-level CNN, max-pooled over positions.
    Cnn,
}

impl TextEncoder {
    pub const ALL: [TextEncoder; 2] = [TextEncoder::Bag, TextEncoder::Cnn];

    pub fn key(self) -> &'static str {
        match self {
            TextEncoder::Bag => "bag",
            TextEncoder::Cnn => "cnn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TextEncoder::Bag => "bag of hashed n-grams",
            TextEncoder::Cnn => "byte-level CNN",
        }
    }

    pub fn summary(self) -> &'static str {
        match self {
            TextEncoder::Bag => "Averages learned vectors of the text's words, word pairs and character trigrams, hashed into a fixed table (fastText). Fast; words are given, the objective learns which belong together.",
            TextEncoder::Cnn => "Three 1-D convolutions over the bytes, max-pooled over positions (character-level CNN). Learns words from bytes; slower and needs more text.",
        }
    }

    /// Runs saved before there was a choice used the CNN.
    fn saved_before_choice() -> Self {
        TextEncoder::Cnn
    }
}

impl std::str::FromStr for TextEncoder {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        TextEncoder::ALL
            .into_iter()
            .find(|e| e.key().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown text encoder '{s}' (expected bag or cnn)"))
    }
}

/// Settings of particular objectives; each says which objective reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectiveParams {
    /// BYOL, MoCo, data2vec: the teacher's EMA momentum at the start; it rises to 1 on a
    /// cosine schedule over training (Grill et al. 2020).
    pub momentum: f64,
    /// MoCo: keys kept as negatives.
    pub queue_size: usize,
    /// MoCo: InfoNCE temperature.
    pub moco_temperature: f32,
    /// VICReg: weights of the invariance, variance and covariance terms.
    pub vicreg_invariance: f32,
    pub vicreg_variance: f32,
    pub vicreg_covariance: f32,
    /// Barlow Twins: weight of the off-diagonal (redundancy) term.
    pub barlow_lambda: f32,
    /// Denoising autoencoder: standard deviation of the added Gaussian noise.
    pub denoise_std: f32,
}

impl Default for ObjectiveParams {
    fn default() -> Self {
        Self {
            // 0.996 in BYOL's 300-epoch runs; minutes of CPU training want a faster teacher.
            momentum: 0.99,
            queue_size: 4096,
            moco_temperature: 0.2,
            vicreg_invariance: 25.0,
            vicreg_variance: 25.0,
            vicreg_covariance: 1.0,
            barlow_lambda: 0.0051,
            denoise_std: 0.3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub objective: ObjectiveKind,
    /// The backbone: the modality's own small encoder, or a ResNet, ViT or BERT-family
    /// encoder in its origin's parameter names.
    pub encoder: EncoderKind,
    /// ViT: side of the square patches (0: 16 for images of 224 px and more, 4 up to 32 px,
    /// 8 between).
    pub patch_size: usize,
    /// ViT: the embedding is the CLS token or the mean of the patch tokens.
    pub token_pool: TokenPool,
    /// A checkpoint the encoder starts from (safetensors or PyTorch weights; torchvision,
    /// timm, transformers, lightly, solo-learn or a pretext run folder), instead of seeded
    /// random weights. Kept with the run as where it began.
    pub init: Option<std::path::PathBuf>,
    /// BERT: the folder with the model's `config.json` and tokenizer, when it is not the
    /// folder of `init` (a reopened run points it at its own copy in `text_model/`).
    pub text_model: Option<std::path::PathBuf>,
    /// Stages of the encoder kept frozen (not trained) from the input on: ResNet stem and
    /// stages, ViT patch embedding and blocks, BERT embeddings and layers.
    pub freeze: usize,
    /// Width of the CNN's first block (doubles per block) or of the MLP's hidden layers.
    pub width: usize,
    /// Output size of the MLP encoder (tables). The CNN's embedding is its pooled conv output.
    pub embed_dim: usize,
    /// Texts: which encoder reads them.
    #[serde(default = "TextEncoder::saved_before_choice")]
    pub text_encoder: TextEncoder,
    /// Output size of the projection head the loss sees.
    pub proj_dim: usize,
    /// Augmented views per item for the view-based objectives (2 is the classic pair; more
    /// views average the loss over every pair, as multi-view SSL does).
    pub views: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// NT-Xent temperature.
    pub temperature: f32,
    pub epochs: f32,
    /// Wall-clock budget; training stops at whichever of epochs or minutes comes first.
    pub minutes: Option<f32>,
    pub augment: AugmentConfig,
    /// Settings of particular objectives (teacher momentum, queue, loss weights).
    pub objective_params: ObjectiveParams,
    /// Evaluate (kNN accuracy, collapse signals, map snapshot) every this many steps.
    pub eval_every: usize,
    /// The live map's share of the machine (the window): snapshots are then paced by their
    /// cost, at most every `eval_every` steps. None (the command line): a snapshot every
    /// `eval_every` steps, embedded beside training at low priority.
    #[serde(default)]
    pub live_map: Option<crate::ssl::live_map::LiveMap>,
    /// How many items the map and the live evaluation use (a seeded sample of the dataset).
    pub map_items: usize,
    pub seed: u64,
    /// Threads the training steps run on (their own rayon pool); 0 = one per core. Fewer
    /// leaves cores to the window and to projections running beside training.
    pub threads: usize,
    /// Where the steps compute. Not saved with a run: it says where this process runs, so a
    /// run trained on a GPU reopens on any machine (on the CPU unless asked again).
    #[serde(skip)]
    pub device: crate::ssl::DeviceChoice,
    /// A deliberate failure for the tests of failure reporting (`ssl::fault`); never saved
    /// and never set by the app.
    #[doc(hidden)]
    #[serde(skip)]
    pub fault: Option<crate::ssl::fault::Fault>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            objective: ObjectiveKind::Simclr,
            encoder: EncoderKind::Default,
            patch_size: 0,
            token_pool: TokenPool::Cls,
            init: None,
            text_model: None,
            freeze: 0,
            width: 32,
            embed_dim: 128,
            text_encoder: TextEncoder::Bag,
            proj_dim: 128,
            views: 2,
            batch_size: 256,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            temperature: 0.5,
            epochs: 5.0,
            minutes: None,
            augment: AugmentConfig::default(),
            objective_params: ObjectiveParams::default(),
            eval_every: 100,
            live_map: None,
            map_items: 10_000,
            seed: 0,
            threads: 0,
            device: crate::ssl::DeviceChoice::Cpu,
            fault: None,
        }
    }
}

impl TrainConfig {
    /// The defaults for a kind of data: its objective (`ObjectiveKind::default_for`), and for
    /// texts a lower temperature and a higher learning rate. Measured on the fortunes sample
    /// with the n-gram bag, one minute of SimCLR: kNN 0.49 at T = 0.5 and lr 2e-3, 0.55 at
    /// T = 0.1 and lr 1e-2 (T = 0.05 and lr 3e-2 were worse; SimCSE also uses a low T).
    pub fn for_modality(modality: &crate::data::Modality) -> TrainConfig {
        let mut cfg = TrainConfig { objective: ObjectiveKind::default_for(modality), ..TrainConfig::default() };
        if matches!(modality, crate::data::Modality::Text { .. }) {
            cfg.temperature = 0.1;
            cfg.learning_rate = 1e-2;
        }
        cfg
    }

    /// The peak learning rate when the encoder starts from a checkpoint: a tenth of the
    /// from-scratch default, so the first steps adapt the published weights rather than
    /// overwrite them (the usual fine-tuning practice; lightly's and solo-learn's fine-tuning
    /// recipes also lower it).
    pub fn finetune_learning_rate(&self) -> f64 {
        self.learning_rate / 10.0
    }

    /// Moves the settings that are still at the defaults of the data opened before (`from`,
    /// none at start-up) to the defaults of `to`; a setting the user changed stays.
    pub fn follow_modality(&mut self, from: Option<&crate::data::Modality>, to: &crate::data::Modality) {
        let old = from.map_or_else(TrainConfig::default, TrainConfig::for_modality);
        let new = TrainConfig::for_modality(to);
        if self.objective == old.objective {
            self.objective = new.objective;
        }
        if self.temperature == old.temperature {
            self.temperature = new.temperature;
        }
        if self.learning_rate == old.learning_rate {
            self.learning_rate = new.learning_rate;
        }
    }
}

/// More views per item than this would make one step take minutes on a CPU.
pub const MAX_VIEWS: usize = 16;

/// More training threads than this is a typo, not a machine: refused before any are spawned.
pub const MAX_THREADS: usize = 1024;

impl TrainConfig {
    /// Rejects settings that would fail deep inside training, with a message naming the field.
    pub fn check(&self) -> Result<()> {
        let bad = |msg: &str| Err(PretextError::InvalidConfig(msg.to_string()));
        if self.batch_size < 2 {
            return bad("batch size must be at least 2 (contrastive losses need negatives)");
        }
        if self.width == 0 || self.embed_dim == 0 || self.proj_dim == 0 {
            return bad("width, embedding and projection sizes must be positive");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad("learning rate must be a positive number");
        }
        if !(self.temperature > 0.0) {
            return bad("temperature must be positive");
        }
        if !(self.epochs > 0.0) && self.minutes.is_none() {
            return bad("give a positive number of epochs or minutes");
        }
        if self.minutes.is_some_and(|m| !(m > 0.0)) {
            return bad("minutes must be positive");
        }
        if self.eval_every == 0 {
            return bad("evaluation interval must be at least one step");
        }
        let a = &self.augment;
        if !(a.crop_min_scale > 0.0 && a.crop_min_scale <= 1.0) {
            return bad("crop scale must be in (0, 1]");
        }
        if !(0.0..1.0).contains(&a.mask_ratio) || !(0.0..=1.0).contains(&a.table_corruption) {
            return bad("mask ratio must be in [0, 1) and table corruption in [0, 1]");
        }
        if let Some(msg) = a.colour.problem() {
            return bad(msg);
        }
        a.text.check().map_err(PretextError::InvalidConfig)?;
        if !(2..=MAX_VIEWS).contains(&self.views) {
            return bad(&format!("views per item must be between 2 and {MAX_VIEWS}"));
        }
        let p = &self.objective_params;
        if !(0.0..1.0).contains(&p.momentum) {
            return bad("teacher momentum must be in [0, 1)");
        }
        if p.queue_size == 0 || !(p.moco_temperature > 0.0) {
            return bad("the MoCo queue must hold at least one key and its temperature must be positive");
        }
        let weights = [p.vicreg_invariance, p.vicreg_variance, p.vicreg_covariance, p.barlow_lambda, p.denoise_std];
        if weights.iter().any(|w| !(*w >= 0.0 && w.is_finite())) {
            return bad("loss weights and the denoising noise must be non-negative numbers");
        }
        a.series.check().map_err(PretextError::InvalidConfig)?;
        if let Some(init) = &self.init {
            if !init.exists() {
                return bad(&format!("the checkpoint to start from, {}, does not exist", init.display()));
            }
        }
        if self.freeze > 0 && self.init.is_none() {
            return bad("freezing stages only makes sense when the encoder starts from a checkpoint (--init)");
        }
        if self.threads > MAX_THREADS {
            return bad(&format!("training threads must be at most {MAX_THREADS} (0 means one per core)"));
        }
        Ok(())
    }
}
