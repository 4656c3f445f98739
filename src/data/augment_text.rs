//! Views of texts for the view-based objectives, on the byte codes of `data::text`: random
//! crop to a run of words, word dropout, character noise and span masking (the noising
//! functions of text denoising pretraining, e.g. BART, Lewis et al. 2020, and the
//! contrastive text views of DeCLUTR and CLEAR). With `simcse` the two views are the text
//! itself and only the encoder's dropout tells them apart (SimCSE, Gao et al. 2021).

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data::text::{MASK, PAD};

/// How text views are made. Nested in `AugmentConfig` as `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextAugment {
    /// Random crop: keep a run of at least this fraction of the words (1 = no crop).
    pub crop_min: f32,
    /// Word dropout: each word of the crop is left out with this probability.
    pub word_dropout: f32,
    /// Character noise: each byte is replaced by a random lowercase letter with this probability.
    pub char_noise: f32,
    /// Span masking: this fraction of the bytes is hidden, in spans of `SPAN_LEN`.
    pub span_mask: f32,
    /// SimCSE: no augmentation; the two views differ only by the encoder's dropout.
    pub simcse: bool,
    /// Dropout in the text encoder while training (what SimCSE views rely on): n-grams left
    /// out by the bag, activations zeroed by the CNN.
    pub dropout: f32,
}

impl Default for TextAugment {
    fn default() -> Self {
        Self { crop_min: 0.6, word_dropout: 0.1, char_noise: 0.03, span_mask: 0.1, simcse: false, dropout: 0.1 }
    }
}

impl TextAugment {
    /// A message naming the first setting out of range.
    pub fn check(&self) -> Result<(), String> {
        if !(self.crop_min > 0.0 && self.crop_min <= 1.0) {
            return Err("text crop must be in (0, 1]".into());
        }
        for (name, v) in [("word dropout", self.word_dropout), ("character noise", self.char_noise), ("span mask", self.span_mask)] {
            if !(0.0..1.0).contains(&v) {
                return Err(format!("{name} must be in [0, 1)"));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err("text encoder dropout must be in [0, 1)".into());
        }
        Ok(())
    }
}

/// Length of one masked span, in bytes (about a short word).
pub const SPAN_LEN: usize = 4;

const SPACE: f32 = b' ' as f32 + 1.0;

/// Number of codes before the padding.
fn text_len(codes: &[f32]) -> usize {
    codes.iter().position(|&c| c == PAD as f32).unwrap_or(codes.len())
}

/// Writes one view of the text `src` (byte codes) into `out` (same length).
pub fn text_view(src: &[f32], cfg: &TextAugment, rng: &mut impl Rng, out: &mut [f32]) {
    let len = text_len(src);
    if cfg.simcse || len == 0 {
        out.copy_from_slice(src);
        return;
    }
    // Words as ranges of codes between spaces.
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, &c) in src[..len].iter().enumerate() {
        match (c == SPACE, start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, len));
    }
    // Random crop to a run of words, then word dropout inside it (never every word).
    let n = words.len().max(1);
    let keep = ((n as f32 * rng.random_range(cfg.crop_min.min(1.0)..=1.0)).ceil() as usize).clamp(1, n);
    let first = rng.random_range(0..=n - keep);
    let crop = &words[first.min(words.len())..(first + keep).min(words.len())];
    let spare = rng.random_range(0..crop.len().max(1));
    let mut w = 0;
    for (k, &(a, b)) in crop.iter().enumerate() {
        if k != spare && rng.random::<f32>() < cfg.word_dropout {
            continue;
        }
        if w > 0 && w < out.len() {
            out[w] = SPACE;
            w += 1;
        }
        for &c in &src[a..b] {
            if w == out.len() {
                break;
            }
            out[w] = if c != SPACE && rng.random::<f32>() < cfg.char_noise {
                (b'a' + rng.random_range(0..26u8)) as f32 + 1.0
            } else {
                c
            };
            w += 1;
        }
    }
    out[w..].fill(PAD as f32);
    mask_spans(&mut out[..w], cfg.span_mask, rng, None);
}

/// Hides about `ratio` of `codes` in spans of `SPAN_LEN` (set to the mask code); marks hidden
/// positions with 1.0 in `mask` when given.
pub fn mask_spans(codes: &mut [f32], ratio: f32, rng: &mut impl Rng, mut mask: Option<&mut [f32]>) {
    let len = codes.len();
    if len == 0 || ratio <= 0.0 {
        return;
    }
    let spans = ((len as f32 * ratio) / SPAN_LEN as f32).round() as usize;
    for _ in 0..spans {
        let at = rng.random_range(0..len);
        for i in at..(at + SPAN_LEN).min(len) {
            codes[i] = MASK as f32;
            if let Some(m) = mask.as_deref_mut() {
                m[i] = 1.0;
            }
        }
    }
}

/// The masked autoencoder's input for a text: spans covering about `ratio` of its bytes hidden.
pub fn masked_text_view(src: &[f32], ratio: f32, rng: &mut impl Rng, out: &mut [f32], mask: &mut [f32]) {
    out.copy_from_slice(src);
    mask.fill(0.0);
    let len = text_len(src);
    mask_spans(&mut out[..len], ratio, rng, Some(&mut mask[..len]));
}
