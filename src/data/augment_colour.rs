//! Colour distortion for RGB images, after SimCLR (Chen et al. 2020, appendix A): colour jitter
//! in the manner of torchvision's `ColorJitter` (brightness, contrast, saturation and hue
//! factors, applied in a random order) with probability 0.8, random greyscale with probability
//! 0.2, and Gaussian blur with a kernel about a tenth of the image side and sigma drawn from
//! [0.1, 2.0] (SimCLR, BYOL). Crops alone can be matched by colour histograms; distorting colour
//! makes the encoder match shapes instead. Greyscale images have no hue or saturation: all of
//! this acts on 3-channel images only.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Settings of the colour distortion. On 3-channel images, when `enabled`, its jitter replaces
/// the plain brightness/contrast jitter; greyscale images ignore it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ColourAugment {
    /// Master switch for everything below.
    pub enabled: bool,
    /// Probability that a view gets colour jitter at all.
    pub jitter_prob: f32,
    /// Brightness: multiply by a factor in [1 − b, 1 + b].
    pub brightness: f32,
    /// Contrast: blend with the image's mean grey level by a factor in [1 − c, 1 + c].
    pub contrast: f32,
    /// Saturation: blend with each pixel's grey level by a factor in [1 − s, 1 + s].
    pub saturation: f32,
    /// Hue: rotate the hue by up to ±hue of a full turn (at most 0.5).
    pub hue: f32,
    /// Probability that a view is turned grey (all three channels set to its luma).
    pub greyscale_prob: f32,
    /// Probability that a view is blurred.
    pub blur_prob: f32,
    /// Range the blur's standard deviation (in pixels) is drawn from.
    pub blur_sigma: (f32, f32),
}

impl Default for ColourAugment {
    /// SimCLR's ImageNet strength (s = 1: jitter 0.8/0.8/0.8/0.2), greyscale 0.2, blur 0.5.
    fn default() -> Self {
        Self {
            enabled: true,
            jitter_prob: 0.8,
            brightness: 0.8,
            contrast: 0.8,
            saturation: 0.8,
            hue: 0.2,
            greyscale_prob: 0.2,
            blur_prob: 0.5,
            blur_sigma: (0.1, 2.0),
        }
    }
}

impl ColourAugment {
    /// Whether it acts on images with `channels` channels.
    pub fn applies_to(&self, channels: usize) -> bool {
        self.enabled && channels == 3
    }

    /// A message naming the first setting out of range, if any.
    pub fn problem(&self) -> Option<&'static str> {
        let prob = |p: f32| (0.0..=1.0).contains(&p);
        if !(prob(self.jitter_prob) && prob(self.greyscale_prob) && prob(self.blur_prob)) {
            return Some("colour jitter, greyscale and blur probabilities must be in [0, 1]");
        }
        let factor = |f: f32| (0.0..=1.0).contains(&f);
        if !(factor(self.brightness) && factor(self.contrast) && factor(self.saturation)) {
            return Some("colour brightness, contrast and saturation must be in [0, 1]");
        }
        if !(0.0..=0.5).contains(&self.hue) {
            return Some("hue jitter must be in [0, 0.5]");
        }
        let (lo, hi) = self.blur_sigma;
        if !(lo > 0.0 && lo <= hi && hi.is_finite()) {
            return Some("blur sigma range must be positive and ordered (min ≤ max)");
        }
        None
    }
}

/// ITU-R 601 luma weights, as torchvision's greyscale conversion uses.
const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

fn luma(img: &[f32], plane: usize, i: usize) -> f32 {
    LUMA[0] * img[i] + LUMA[1] * img[plane + i] + LUMA[2] * img[2 * plane + i]
}

fn factor(strength: f32, rng: &mut impl Rng) -> Option<f32> {
    (strength > 0.0).then(|| rng.random_range((1.0 - strength).max(0.0)..=1.0 + strength))
}

/// Distorts the colours of one 3×`h`×`w` image in [0, 1] in place.
pub fn distort(cfg: &ColourAugment, (h, w): (usize, usize), rng: &mut impl Rng, img: &mut [f32]) {
    let plane = h * w;
    if rng.random::<f32>() < cfg.jitter_prob {
        let mut order = [0, 1, 2, 3];
        order.shuffle(rng);
        for op in order {
            match op {
                0 => {
                    if let Some(f) = factor(cfg.brightness, rng) {
                        img.iter_mut().for_each(|v| *v = (*v * f).clamp(0.0, 1.0));
                    }
                }
                1 => {
                    if let Some(f) = factor(cfg.contrast, rng) {
                        let mean = (0..plane).map(|i| luma(img, plane, i)).sum::<f32>() / plane as f32;
                        img.iter_mut().for_each(|v| *v = (f * *v + (1.0 - f) * mean).clamp(0.0, 1.0));
                    }
                }
                2 => {
                    if let Some(f) = factor(cfg.saturation, rng) {
                        for i in 0..plane {
                            let grey = luma(img, plane, i);
                            for c in 0..3 {
                                let v = &mut img[c * plane + i];
                                *v = (f * *v + (1.0 - f) * grey).clamp(0.0, 1.0);
                            }
                        }
                    }
                }
                _ => {
                    if cfg.hue > 0.0 {
                        let shift = rng.random_range(-cfg.hue..=cfg.hue);
                        for i in 0..plane {
                            let (hue, s, v) = rgb_to_hsv(img[i], img[plane + i], img[2 * plane + i]);
                            let (r, g, b) = hsv_to_rgb((hue + shift).rem_euclid(1.0), s, v);
                            (img[i], img[plane + i], img[2 * plane + i]) = (r, g, b);
                        }
                    }
                }
            }
        }
    }
    if rng.random::<f32>() < cfg.greyscale_prob {
        for i in 0..plane {
            let grey = luma(img, plane, i);
            (img[i], img[plane + i], img[2 * plane + i]) = (grey, grey, grey);
        }
    }
    if rng.random::<f32>() < cfg.blur_prob {
        let sigma = rng.random_range(cfg.blur_sigma.0..=cfg.blur_sigma.1);
        for c in 0..3 {
            gaussian_blur(&mut img[c * plane..(c + 1) * plane], (h, w), sigma);
        }
    }
}

/// Hue, saturation and value, each in [0, 1].
pub fn rgb_to_hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let delta = max - min;
    let s = if max > 0.0 { delta / max } else { 0.0 };
    if delta <= 0.0 {
        return (0.0, s, max);
    }
    let h = if max == r {
        ((g - b) / delta).rem_euclid(6.0)
    } else if max == g {
        (b - r) / delta + 2.0
    } else {
        (r - g) / delta + 4.0
    };
    (h / 6.0, s, max)
}

pub fn hsv_to_rgb(h: f32, s: f32, v: f32) -> (f32, f32, f32) {
    let h6 = (h * 6.0).rem_euclid(6.0);
    let sector = h6.floor();
    let f = h6 - sector;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    match sector as u32 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    }
}

/// Odd kernel side about a tenth of the image side (at least 3), as SimCLR sizes its blur.
pub fn blur_kernel_side(side: usize) -> usize {
    ((side / 10) | 1).max(3)
}

thread_local! {
    /// The blur's intermediate plane, reused so that views allocate nothing per item.
    static BLUR_SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Separable Gaussian blur of one `h`×`w` plane in place, mirrored at the borders.
pub fn gaussian_blur(plane: &mut [f32], (h, w): (usize, usize), sigma: f32) {
    let radius = (blur_kernel_side(h.max(w)) / 2) as isize;
    let mut kernel = [0.0f32; 64];
    let taps = (2 * radius + 1).min(64) as usize;
    let radius = (taps / 2) as isize;
    for (k, d) in kernel.iter_mut().zip(-radius..=radius) {
        *k = (-((d * d) as f32) / (2.0 * sigma * sigma)).exp();
    }
    let total: f32 = kernel[..taps].iter().sum();
    kernel[..taps].iter_mut().for_each(|k| *k /= total);
    let kernel = &kernel[..taps];
    let reflect = |i: isize, n: usize| -> usize {
        let n = n as isize;
        let r = if i < 0 { -i } else if i >= n { 2 * (n - 1) - i } else { i };
        r.clamp(0, n - 1) as usize
    };
    BLUR_SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        scratch.resize(h * w, 0.0);
        for y in 0..h {
            for x in 0..w {
                let taps = kernel.iter().zip(-radius..=radius);
                scratch[y * w + x] = taps.map(|(k, d)| k * plane[y * w + reflect(x as isize + d, w)]).sum();
            }
        }
        for y in 0..h {
            for x in 0..w {
                let taps = kernel.iter().zip(-radius..=radius);
                plane[y * w + x] = taps.map(|(k, d)| k * scratch[reflect(y as isize + d, h) * w + x]).sum();
            }
        }
    });
}
