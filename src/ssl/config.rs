//! Training settings. Serialised into a run's config.json; `#[serde(default)]` so that runs
//! saved by an older version still open.

use serde::{Deserialize, Serialize};

pub use crate::data::AugmentConfig;
use crate::error::{PretextError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectiveKind {
    /// Contrastive: NT-Xent between two augmented views (Chen et al. 2020, SimCLR).
    Simclr,
    /// Generative: reconstruct the input from a masked copy (masked / denoising autoencoder).
    Mae,
}

impl ObjectiveKind {
    pub const ALL: [ObjectiveKind; 2] = [ObjectiveKind::Simclr, ObjectiveKind::Mae];

    pub fn label(self) -> &'static str {
        match self {
            ObjectiveKind::Simclr => "SimCLR (contrastive)",
            ObjectiveKind::Mae => "Masked autoencoder (generative)",
        }
    }
}

impl std::str::FromStr for ObjectiveKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "simclr" => Ok(Self::Simclr),
            "mae" => Ok(Self::Mae),
            other => Err(format!("unknown objective '{other}' (expected simclr or mae)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub objective: ObjectiveKind,
    /// Width of the CNN's first block (doubles per block) or of the MLP's hidden layers.
    pub width: usize,
    /// Output size of the MLP encoder (tables). The CNN's embedding is its pooled conv output.
    pub embed_dim: usize,
    /// Output size of the projection head the loss sees.
    pub proj_dim: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// NT-Xent temperature.
    pub temperature: f32,
    pub epochs: f32,
    /// Wall-clock budget; training stops at whichever of epochs or minutes comes first.
    pub minutes: Option<f32>,
    pub augment: AugmentConfig,
    /// Evaluate (kNN accuracy, collapse signals, map snapshot) every this many steps.
    pub eval_every: usize,
    /// How many items the map and the live evaluation use (a seeded sample of the dataset).
    pub map_items: usize,
    pub seed: u64,
    /// Threads the training steps run on (their own rayon pool); 0 = one per core. Fewer
    /// leaves cores to the window and to projections running beside training.
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            objective: ObjectiveKind::Simclr,
            width: 32,
            embed_dim: 128,
            proj_dim: 128,
            batch_size: 256,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            temperature: 0.5,
            epochs: 5.0,
            minutes: None,
            augment: AugmentConfig::default(),
            eval_every: 100,
            map_items: 10_000,
            seed: 0,
            threads: 0,
        }
    }
}

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
        if self.threads > MAX_THREADS {
            return bad(&format!("training threads must be at most {MAX_THREADS} (0 means one per core)"));
        }
        Ok(())
    }
}
