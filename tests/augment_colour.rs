//! The colour distortion of RGB views: each part does what its setting says, and greyscale
//! images are left exactly as before.

use pretext::data::augment::image_view;
use pretext::data::augment_colour::{distort, gaussian_blur, hsv_to_rgb, rgb_to_hsv, ColourAugment};
use pretext::data::AugmentConfig;
use rand::{Rng, SeedableRng};

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// The distortion of a copy of `src` (3×h×w).
fn distorted(src: &[f32], (h, w): (usize, usize), cfg: &ColourAugment, r: &mut rand::rngs::StdRng) -> Vec<f32> {
    let mut out = src.to_vec();
    distort(cfg, (h, w), r, &mut out);
    out
}

fn nothing() -> ColourAugment {
    ColourAugment { jitter_prob: 0.0, greyscale_prob: 0.0, blur_prob: 0.0, ..Default::default() }
}

fn random_rgb(h: usize, w: usize, seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    (0..3 * h * w).map(|_| r.random()).collect()
}

#[test]
fn greyscale_images_get_the_same_views_with_or_without_colour_settings() {
    // The greyscale recipe (and its random stream) must not move: Fashion-MNIST's figures.
    let src = random_rgb(28, 28, 1)[..28 * 28].to_vec();
    let on = AugmentConfig::default();
    let off = AugmentConfig { colour: ColourAugment { enabled: false, ..Default::default() }, ..Default::default() };
    assert!(on.colour.enabled);
    let (mut a, mut b) = (vec![0.0; src.len()], vec![0.0; src.len()]);
    let (mut ra, mut rb) = (rng(5), rng(5));
    for _ in 0..20 {
        image_view(&src, (1, 28, 28), &on, &mut ra, &mut a);
        image_view(&src, (1, 28, 28), &off, &mut rb, &mut b);
        assert_eq!(a, b);
    }
}

#[test]
fn colour_views_differ_from_plain_jitter_and_stay_in_range() {
    let src = random_rgb(16, 16, 2);
    let on = AugmentConfig { noise_std: 0.0, ..Default::default() };
    let off = AugmentConfig { colour: ColourAugment { enabled: false, ..Default::default() }, ..on.clone() };
    let (mut a, mut b) = (vec![0.0; src.len()], vec![0.0; src.len()]);
    image_view(&src, (3, 16, 16), &on, &mut rng(7), &mut a);
    image_view(&src, (3, 16, 16), &off, &mut rng(7), &mut b);
    assert_ne!(a, b);
    assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn with_nothing_drawn_the_image_passes_unchanged() {
    let src = random_rgb(12, 12, 3);
    let out = distorted(&src, (12, 12), &nothing(), &mut rng(1));
    for (o, s) in out.iter().zip(&src) {
        assert!((o - s).abs() < 1e-6);
    }
}

#[test]
fn greyscale_sets_every_channel_to_the_luma() {
    let src = random_rgb(8, 8, 4);
    let plane = 64;
    let out = distorted(&src, (8, 8), &ColourAugment { greyscale_prob: 1.0, ..nothing() }, &mut rng(2));
    for i in 0..plane {
        let luma = 0.299 * src[i] + 0.587 * src[plane + i] + 0.114 * src[2 * plane + i];
        for c in 0..3 {
            assert!((out[c * plane + i] - luma).abs() < 1e-5);
        }
    }
}

#[test]
fn jitter_is_applied_at_its_probability() {
    let src = random_rgb(8, 8, 5);
    let cfg = ColourAugment { jitter_prob: 0.8, ..nothing() };
    let mut r = rng(3);
    let trials = 2000;
    let changed = (0..trials)
        .filter(|_| distorted(&src, (8, 8), &cfg, &mut r).iter().zip(&src).any(|(o, s)| (o - s).abs() > 1e-4))
        .count();
    let rate = changed as f32 / trials as f32;
    assert!((rate - 0.8).abs() < 0.04, "jittered {rate}");
}

#[test]
fn saturation_moves_towards_grey_and_hue_keeps_saturation_and_value() {
    let src = random_rgb(6, 6, 6);
    let plane = 36;
    let spread = |img: &[f32]| (0..plane).map(|i| (img[i] - img[plane + i]).abs() + (img[plane + i] - img[2 * plane + i]).abs()).sum::<f32>();
    // Saturation factors are drawn from [0, 2]: some views come out much greyer.
    let saturation = ColourAugment { jitter_prob: 1.0, brightness: 0.0, contrast: 0.0, saturation: 1.0, hue: 0.0, ..nothing() };
    let mut r = rng(4);
    let greyer = (0..20).filter(|_| spread(&distorted(&src, (6, 6), &saturation, &mut r)) < 0.5 * spread(&src)).count();
    assert!(greyer > 0, "a low saturation factor makes the image greyer");
    let hue = ColourAugment { jitter_prob: 1.0, brightness: 0.0, contrast: 0.0, saturation: 0.0, hue: 0.5, ..nothing() };
    let out = distorted(&src, (6, 6), &hue, &mut r);
    let mut moved = 0.0;
    for i in 0..plane {
        let (h0, s0, v0) = rgb_to_hsv(src[i], src[plane + i], src[2 * plane + i]);
        let (h1, s1, v1) = rgb_to_hsv(out[i], out[plane + i], out[2 * plane + i]);
        assert!((s0 - s1).abs() < 1e-4 && (v0 - v1).abs() < 1e-4, "pixel {i}: s {s0}→{s1}, v {v0}→{v1}");
        moved += ((h1 - h0).rem_euclid(1.0)).min((h0 - h1).rem_euclid(1.0));
    }
    assert!(moved / plane as f32 > 1e-3, "hue rotated");
}

#[test]
fn hsv_round_trips() {
    let mut r = rng(8);
    for _ in 0..1000 {
        let (red, green, blue): (f32, f32, f32) = (r.random(), r.random(), r.random());
        let (h, s, v) = rgb_to_hsv(red, green, blue);
        let (a, b, c) = hsv_to_rgb(h, s, v);
        assert!((a - red).abs() < 1e-5 && (b - green).abs() < 1e-5 && (c - blue).abs() < 1e-5, "{red} {green} {blue} → {a} {b} {c}");
    }
    // Pure red turned by a third of the wheel is pure green.
    let (h, s, v) = rgb_to_hsv(1.0, 0.0, 0.0);
    let (a, b, c) = hsv_to_rgb(h + 1.0 / 3.0, s, v);
    assert!(a.abs() < 1e-5 && (b - 1.0).abs() < 1e-5 && c.abs() < 1e-5);
}

#[test]
fn blur_keeps_flat_planes_and_the_mean_and_smooths_edges() {
    let (h, w) = (30, 30);
    let mut flat = vec![0.4f32; h * w];
    gaussian_blur(&mut flat, (h, w), 1.5);
    assert!(flat.iter().all(|v| (v - 0.4).abs() < 1e-5));
    // A vertical edge: blurred, the step spreads over neighbouring columns, the sum stays.
    let mut edge: Vec<f32> = (0..h * w).map(|i| if i % w < w / 2 { 0.0 } else { 1.0 }).collect();
    let before: f32 = edge.iter().sum();
    gaussian_blur(&mut edge, (h, w), 2.0);
    let after: f32 = edge.iter().sum();
    assert!((before - after).abs() < 1e-2 * before, "{before} vs {after}");
    let row = &edge[5 * w..6 * w];
    assert!(row[w / 2 - 1] > 0.05 && row[w / 2] < 0.95, "edge smoothed: {:?}", &row[w / 2 - 2..w / 2 + 2]);
    assert!(row[0] < 1e-6 && row[w - 1] > 1.0 - 1e-6, "far from the edge nothing moves");
}

#[test]
fn out_of_range_colour_settings_are_refused() {
    let cfg = pretext::ssl::TrainConfig::default();
    assert!(cfg.check().is_ok());
    for bad in [
        ColourAugment { jitter_prob: 1.5, ..Default::default() },
        ColourAugment { hue: 0.7, ..Default::default() },
        ColourAugment { blur_sigma: (2.0, 0.1), ..Default::default() },
    ] {
        let mut c = cfg.clone();
        c.augment.colour = bad;
        assert!(c.check().is_err());
    }
}
