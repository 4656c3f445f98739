//! Views of time series for the view-based objectives: jitter, scaling, magnitude warp, time
//! warp (Um et al. 2017, "Data augmentation of wearable sensor data"), random crop resized
//! back to full length (as TS2Vec crops, Yue et al. 2022) and permutation of segments (the
//! strong view of TS-TCC, Eldele et al. 2021). Series are C×T, channel-major, z-normalised.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::{Distribution, Normal, StandardNormal};
use serde::{Deserialize, Serialize};

/// How strongly series views are perturbed; 0 (or 1 for `crop_min`) turns one off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeriesAugment {
    /// Standard deviation of Gaussian noise added to every value (series are z-normalised,
    /// so this is in units of the series' own spread).
    pub jitter: f32,
    /// Standard deviation of a random factor around 1 that scales each channel.
    pub scaling: f32,
    /// Standard deviation of a smooth random curve around 1 that multiplies the series
    /// (slowly varying gain).
    pub magnitude_warp: f32,
    /// Standard deviation of a smooth random speed curve around 1: parts of the series are
    /// stretched, others compressed, the ends stay in place.
    pub time_warp: f32,
    /// Shortest random window, as a fraction of the length, cropped and stretched back to
    /// the full length.
    pub crop_min: f32,
    /// Cut the series into 2..=this many segments and shuffle them (0 or 1: off).
    pub permute_segments: usize,
}

impl Default for SeriesAugment {
    fn default() -> Self {
        Self { jitter: 0.05, scaling: 0.1, magnitude_warp: 0.2, time_warp: 0.2, crop_min: 0.6, permute_segments: 0 }
    }
}

impl SeriesAugment {
    /// A message naming the setting that is out of range.
    pub fn check(&self) -> Result<(), String> {
        let strengths = [self.jitter, self.scaling, self.magnitude_warp, self.time_warp];
        if strengths.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err("series jitter, scaling, magnitude and time warp must be zero or positive".into());
        }
        if !(self.crop_min > 0.0 && self.crop_min <= 1.0) {
            return Err("series crop must be in (0, 1]".into());
        }
        Ok(())
    }
}

/// Interior knots of the warp curves (Um et al. use four).
const KNOTS: usize = 4;

/// Catmull-Rom interpolation through `knots` spread evenly over [0, 1]: a smooth curve.
fn smooth_curve(knots: &[f32], t: f32) -> f32 {
    let last = knots.len() - 1;
    let x = t.clamp(0.0, 1.0) * last as f32;
    let i = (x as usize).min(last.saturating_sub(1));
    let u = x - i as f32;
    let k = |j: isize| knots[j.clamp(0, last as isize) as usize];
    let (p0, p1, p2, p3) = (k(i as isize - 1), k(i as isize), k(i as isize + 1), k(i as isize + 2));
    let (u2, u3) = (u * u, u * u * u);
    0.5 * (2.0 * p1 + (p2 - p0) * u + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * u2 + (3.0 * p1 - p0 - 3.0 * p2 + p3) * u3)
}

fn random_knots(sigma: f32, rng: &mut impl Rng) -> Vec<f32> {
    (0..KNOTS + 2)
        .map(|_| {
            let z: f32 = StandardNormal.sample(rng);
            1.0 + sigma * z
        })
        .collect()
}

/// Value of `channel` at fractional position `p` (linear interpolation).
fn at(channel: &[f32], p: f32) -> f32 {
    let last = channel.len() - 1;
    let p = p.clamp(0.0, last as f32);
    let lo = (p as usize).min(last.saturating_sub(1));
    let t = p - lo as f32;
    if last == 0 {
        return channel[0];
    }
    channel[lo] * (1.0 - t) + channel[lo + 1] * t
}

/// Where each output step reads from in the source: the composition of permutation, time
/// warp and crop, all shared by the channels (they stay aligned in time).
fn source_positions(len: usize, cfg: &SeriesAugment, rng: &mut impl Rng) -> Vec<f32> {
    let span = (len - 1).max(1) as f32;
    // Crop: a window of at least crop_min of the length, stretched over the whole output.
    let frac = if cfg.crop_min < 1.0 { rng.random_range(cfg.crop_min..=1.0) } else { 1.0 };
    let start = rng.random_range(0.0..=(1.0 - frac)) * span;
    // Time warp: the cumulative sum of a positive speed curve, scaled so the ends stay fixed.
    let warp: Option<Vec<f32>> = (cfg.time_warp > 0.0 && len > 2).then(|| {
        let knots: Vec<f32> = random_knots(cfg.time_warp, rng).into_iter().map(|k| k.max(0.1)).collect();
        let mut cum = Vec::with_capacity(len);
        let mut total = 0.0;
        for t in 0..len {
            cum.push(total);
            total += smooth_curve(&knots, t as f32 / span).max(0.05);
        }
        let end = cum[len - 1].max(f32::EPSILON);
        cum.iter().map(|c| c / end * span).collect()
    });
    // Permutation: output step t reads step order[t] of the unpermuted sequence.
    let order: Vec<usize> = if cfg.permute_segments >= 2 && len >= 2 {
        let pieces = rng.random_range(2..=cfg.permute_segments.min(len));
        let mut cuts: Vec<usize> = rand::seq::index::sample(rng, len - 1, pieces - 1).into_iter().map(|c| c + 1).collect();
        cuts.sort_unstable();
        let mut bounds = vec![0];
        bounds.extend(cuts);
        bounds.push(len);
        let mut segments: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        segments.shuffle(rng);
        segments.into_iter().flat_map(|(a, b)| a..b).collect()
    } else {
        (0..len).collect()
    };
    order
        .into_iter()
        .map(|t| {
            let warped = warp.as_ref().map_or(t as f32, |w| w[t]);
            start + warped * frac
        })
        .collect()
}

/// Writes one augmented view of a C×T series into `out` (same shape).
pub fn series_view(src: &[f32], channels: usize, len: usize, cfg: &SeriesAugment, rng: &mut impl Rng, out: &mut [f32]) {
    if len == 0 || channels == 0 {
        return;
    }
    let positions = source_positions(len, cfg, rng);
    let gain_knots = (cfg.magnitude_warp > 0.0).then(|| random_knots(cfg.magnitude_warp, rng));
    let span = (len - 1).max(1) as f32;
    let noise = Normal::new(0.0, cfg.jitter.max(0.0)).ok();
    for c in 0..channels {
        let channel = &src[c * len..(c + 1) * len];
        let scale = if cfg.scaling > 0.0 {
            let z: f32 = StandardNormal.sample(rng);
            1.0 + cfg.scaling * z
        } else {
            1.0
        };
        for (t, (o, &p)) in out[c * len..(c + 1) * len].iter_mut().zip(&positions).enumerate() {
            let gain = gain_knots.as_ref().map_or(1.0, |k| smooth_curve(k, t as f32 / span));
            let jitter = match (&noise, cfg.jitter > 0.0) {
                (Some(n), true) => n.sample(rng),
                _ => 0.0,
            };
            *o = at(channel, p) * gain * scale + jitter;
        }
    }
}

/// Segments a series is cut into for masking (each hidden with the mask ratio).
pub const MASK_SEGMENTS: usize = 16;

/// Copies a C×T series into `out` with random time segments hidden (zeroed) across all
/// channels; `mask` gets 1.0 where hidden.
pub fn masked_series(src: &[f32], channels: usize, len: usize, ratio: f32, rng: &mut impl Rng, out: &mut [f32], mask: &mut [f32]) {
    let seg = len.div_ceil(MASK_SEGMENTS).max(1);
    let hidden: Vec<bool> = (0..len.div_ceil(seg)).map(|_| rng.random::<f32>() < ratio).collect();
    for c in 0..channels {
        for t in 0..len {
            let i = c * len + t;
            let m = hidden[t / seg];
            mask[i] = if m { 1.0 } else { 0.0 };
            out[i] = if m { 0.0 } else { src[i] };
        }
    }
}
