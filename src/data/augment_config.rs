//! View settings: how strongly the augmentations perturb an item. Part of a run's
//! config.json; `#[serde(default)]` so that runs saved by an older version still open.

use serde::{Deserialize, Serialize};

use crate::data::augment_colour::ColourAugment;

/// How strongly views are perturbed. Image fields act on images, `table_corruption` on rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AugmentConfig {
    /// Smallest crop side as a fraction of the image side (random resized crop).
    pub crop_min_scale: f32,
    /// Mirror left-right with probability 0.5.
    pub flip: bool,
    /// Brightness jitter: add a uniform offset in ±brightness (greyscale images, and RGB
    /// images when the colour distortion is off).
    pub brightness: f32,
    /// Contrast jitter: scale around the mean by a factor in 1 ± contrast (as brightness).
    pub contrast: f32,
    /// Standard deviation of added Gaussian pixel noise.
    pub noise_std: f32,
    /// Fraction of table features replaced by draws from their empirical marginal (SCARF).
    pub table_corruption: f32,
    /// Fraction of the input hidden from the masked autoencoder.
    pub mask_ratio: f32,
    /// Colour jitter, random greyscale and blur for RGB images (greyscale images ignore it).
    pub colour: ColourAugment,
    /// Time series views (jitter, scaling, warps, crop, permutation).
    #[serde(default)]
    pub series: crate::data::augment_series::SeriesAugment,
    /// Text views (crop, word dropout, character noise, span masking, SimCSE).
    pub text: crate::data::augment_text::TextAugment,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            crop_min_scale: 0.4,
            flip: true,
            brightness: 0.4,
            contrast: 0.4,
            noise_std: 0.05,
            table_corruption: 0.6,
            mask_ratio: 0.5,
            colour: ColourAugment::default(),
            series: Default::default(),
            text: Default::default(),
        }
    }
}
