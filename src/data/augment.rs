//! Views for self-supervised objectives: image augmentations (random resized crop, flip,
//! brightness/contrast jitter, Gaussian noise, as in SimCLR, Chen et al. 2020; colour
//! distortion and blur for RGB images in `augment_colour`), table corruption from empirical
//! marginals (SCARF, Bahri et al. 2022), text views (`augment_text`), and input masking for
//! the masked autoencoder. All write into caller-owned buffers: no allocation per item.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::data::{augment_colour, AugmentConfig, Modality, Split};

/// Writes one augmented view of a C×H×W image in [0, 1] into `out` (same shape).
pub fn image_view(src: &[f32], shape: (usize, usize, usize), cfg: &AugmentConfig, rng: &mut impl Rng, out: &mut [f32]) {
    let (c, h, w) = shape;
    // Random resized crop: side scale in [crop_min_scale, 1], aspect ratio in [3/4, 4/3].
    let scale = rng.random_range(cfg.crop_min_scale.min(1.0)..=1.0);
    let log_ratio = rng.random_range((0.75f32).ln()..=(4.0f32 / 3.0).ln());
    let ratio = log_ratio.exp().sqrt();
    let crop_w = (scale * ratio).min(1.0) * w as f32;
    let crop_h = (scale / ratio).min(1.0) * h as f32;
    let x0 = rng.random_range(0.0..=(w as f32 - crop_w).max(0.0));
    let y0 = rng.random_range(0.0..=(h as f32 - crop_h).max(0.0));
    let flip = cfg.flip && rng.random_bool(0.5);
    let sx = crop_w / w as f32;
    let sy = crop_h / h as f32;
    for ch in 0..c {
        let plane = &src[ch * h * w..(ch + 1) * h * w];
        let dst = &mut out[ch * h * w..(ch + 1) * h * w];
        for oy in 0..h {
            let fy = (y0 + (oy as f32 + 0.5) * sy - 0.5).clamp(0.0, (h - 1) as f32);
            let y_lo = fy as usize;
            let y_hi = (y_lo + 1).min(h - 1);
            let ty = fy - y_lo as f32;
            for ox in 0..w {
                let src_x = if flip { w - 1 - ox } else { ox };
                let fx = (x0 + (src_x as f32 + 0.5) * sx - 0.5).clamp(0.0, (w - 1) as f32);
                let x_lo = fx as usize;
                let x_hi = (x_lo + 1).min(w - 1);
                let tx = fx - x_lo as f32;
                let top = plane[y_lo * w + x_lo] * (1.0 - tx) + plane[y_lo * w + x_hi] * tx;
                let bottom = plane[y_hi * w + x_lo] * (1.0 - tx) + plane[y_hi * w + x_hi] * tx;
                dst[oy * w + ox] = top * (1.0 - ty) + bottom * ty;
            }
        }
    }
    if cfg.colour.applies_to(c) {
        // Colour distortion takes the place of the plain jitter on RGB images.
        augment_colour::distort(&cfg.colour, (h, w), rng, out);
        add_noise(cfg.noise_std, rng, out);
        return;
    }
    // Photometric jitter on the whole image, then noise; clamp back to the pixel range.
    let brightness = if cfg.brightness > 0.0 { rng.random_range(-cfg.brightness..=cfg.brightness) } else { 0.0 };
    let contrast = if cfg.contrast > 0.0 { rng.random_range(1.0 - cfg.contrast..=1.0 + cfg.contrast) } else { 1.0 };
    let mean = out.iter().sum::<f32>() / out.len().max(1) as f32;
    for v in out.iter_mut() {
        let mut p = (*v - mean) * contrast + mean + brightness;
        if cfg.noise_std > 0.0 {
            let z: f32 = StandardNormal.sample(rng);
            p += cfg.noise_std * z;
        }
        *v = p.clamp(0.0, 1.0);
    }
}

fn add_noise(std: f32, rng: &mut impl Rng, out: &mut [f32]) {
    if std > 0.0 {
        for v in out.iter_mut() {
            let z: f32 = StandardNormal.sample(rng);
            *v = (*v + std * z).clamp(0.0, 1.0);
        }
    }
}

/// SCARF corruption: each feature is, with probability `table_corruption`, replaced by the
/// same feature of a random row of `pool` (a draw from its empirical marginal; a streamed
/// split's in-memory sample).
pub fn table_view(src: &[f32], pool: &Split, cfg: &AugmentConfig, rng: &mut impl Rng, out: &mut [f32]) {
    let d = src.len();
    let (pool, pool_rows) = pool.marginal_pool();
    for j in 0..d {
        out[j] = if pool_rows > 0 && rng.random::<f32>() < cfg.table_corruption {
            pool[rng.random_range(0..pool_rows) * d + j]
        } else {
            src[j]
        };
    }
}

/// Side of the square patches an image is masked in (4×4 pixels, 49 patches on 28×28).
pub const MASK_PATCH: usize = 4;

/// Copies `src` into `out` with a random `ratio` of it hidden (zeroed): square patches for
/// images, time segments for series, single features for tables, byte spans for texts. `mask` gets 1.0 where hidden, 0.0 elsewhere.
pub fn masked_view(
    src: &[f32],
    modality: &Modality,
    ratio: f32,
    rng: &mut impl Rng,
    out: &mut [f32],
    mask: &mut [f32],
) {
    match modality {
        Modality::Image { channels, height, width } => {
            let (gh, gw) = (height.div_ceil(MASK_PATCH), width.div_ceil(MASK_PATCH));
            let hidden: Vec<bool> = (0..gh * gw).map(|_| rng.random::<f32>() < ratio).collect();
            for ch in 0..*channels {
                for y in 0..*height {
                    for x in 0..*width {
                        let i = (ch * height + y) * width + x;
                        let m = hidden[(y / MASK_PATCH) * gw + x / MASK_PATCH];
                        mask[i] = if m { 1.0 } else { 0.0 };
                        out[i] = if m { 0.0 } else { src[i] };
                    }
                }
            }
        }
        Modality::Series { channels, length } => {
            crate::data::augment_series::masked_series(src, *channels, *length, ratio, rng, out, mask)
        }
        Modality::Text { .. } => crate::data::augment_text::masked_text_view(src, ratio, rng, out, mask),
        Modality::Table { .. } | Modality::Embedding { .. } => {
            for i in 0..src.len() {
                let m = rng.random::<f32>() < ratio;
                mask[i] = if m { 1.0 } else { 0.0 };
                out[i] = if m { 0.0 } else { src[i] };
            }
        }
    }
}

/// Writes one augmented view of `src` into `out` with the augmentations of its modality: the
/// one place the view-based objectives (and the views panel) choose them.
pub fn view(src: &[f32], modality: &Modality, pool: &Split, cfg: &AugmentConfig, rng: &mut impl Rng, out: &mut [f32]) {
    match modality {
        Modality::Image { channels, height, width } => image_view(src, (*channels, *height, *width), cfg, rng, out),
        Modality::Table { .. } | Modality::Embedding { .. } => table_view(src, pool, cfg, rng, out),
        Modality::Series { channels, length } => {
            crate::data::augment_series::series_view(src, *channels, *length, &cfg.series, rng, out)
        }
        Modality::Text { .. } => crate::data::augment_text::text_view(src, &cfg.text, rng, out),
    }
}

/// A few views of one item as the view-based objectives see them (for "show augmented
/// views" in the GUI and for tests).
pub fn sample_views(
    item: &[f32],
    modality: &Modality,
    pool: &Split,
    cfg: &AugmentConfig,
    count: usize,
    rng: &mut impl Rng,
) -> Vec<Vec<f32>> {
    (0..count)
        .map(|_| {
            let mut out = vec![0.0; item.len()];
            view(item, modality, pool, cfg, rng, &mut out);
            out
        })
        .collect()
}
