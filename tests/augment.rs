//! Views stay valid inputs, and each augmentation does what its setting says.

use pretext::data::augment::{image_view, masked_view, table_view, MASK_PATCH};
use pretext::data::augment_colour::ColourAugment;
use pretext::data::{Modality, Split};
use pretext::ssl::AugmentConfig;
use rand::SeedableRng;

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(3)
}

fn off() -> AugmentConfig {
    let colour = ColourAugment { enabled: false, ..Default::default() };
    AugmentConfig { crop_min_scale: 1.0, flip: false, brightness: 0.0, contrast: 0.0, noise_std: 0.0, colour, ..Default::default() }
}

#[test]
fn constant_image_survives_geometric_augmentation() {
    // Cropping, resizing and flipping a flat image cannot change any pixel.
    let src = vec![0.3f32; 3 * 10 * 12];
    let mut out = vec![0.0; src.len()];
    let cfg = AugmentConfig { crop_min_scale: 0.3, flip: true, ..off() };
    for _ in 0..20 {
        image_view(&src, (3, 10, 12), &cfg, &mut rng(), &mut out);
        assert!(out.iter().all(|&v| (v - 0.3).abs() < 1e-6));
    }
}

#[test]
fn photometric_jitter_changes_pixels_but_stays_in_range() {
    let src: Vec<f32> = (0..28 * 28).map(|i| (i % 28) as f32 / 27.0).collect();
    let mut out = vec![0.0; src.len()];
    let mut r = rng();
    let mut changed = 0;
    for _ in 0..10 {
        image_view(&src, (1, 28, 28), &AugmentConfig::default(), &mut r, &mut out);
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
        changed += (out.iter().zip(&src).filter(|(a, b)| (*a - *b).abs() > 0.01).count() > 100) as usize;
    }
    assert_eq!(changed, 10, "default augmentations always change the image");
}

#[test]
fn flip_mirrors_a_ramp() {
    // With crop scale 1 the crop may still be narrower (aspect ratio), but a left-to-right
    // ramp must then run right-to-left in flipped views.
    let src: Vec<f32> = (0..16 * 16).map(|i| (i % 16) as f32 / 15.0).collect();
    let mut out = vec![0.0; src.len()];
    let cfg = AugmentConfig { flip: true, ..off() };
    let mut r = rng();
    let mut seen = (false, false);
    for _ in 0..30 {
        image_view(&src, (1, 16, 16), &cfg, &mut r, &mut out);
        if out[0] < out[15] { seen.0 = true } else { seen.1 = true }
    }
    assert!(seen.0 && seen.1, "both orientations appear: {seen:?}");
}

#[test]
fn scarf_corruption_draws_from_column_marginals() {
    let pool = Split::new(vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0], None, 2);
    let src = [100.0f32, 200.0];
    let mut out = [0.0; 2];
    table_view(&src, &pool, &AugmentConfig { table_corruption: 0.0, ..Default::default() }, &mut rng(), &mut out);
    assert_eq!(out, src);
    let mut r = rng();
    for _ in 0..20 {
        table_view(&src, &pool, &AugmentConfig { table_corruption: 1.0, ..Default::default() }, &mut r, &mut out);
        assert!([1.0, 2.0, 3.0].contains(&out[0]) && [10.0, 20.0, 30.0].contains(&out[1]), "{out:?}");
    }
}

#[test]
fn masking_hides_whole_patches_at_the_requested_ratio() {
    let (h, w) = (28, 28);
    let src = vec![1.0f32; h * w];
    let (mut out, mut mask) = (vec![0.0; h * w], vec![0.0; h * w]);
    let modality = Modality::Image { channels: 1, height: h, width: w };
    let mut r = rng();
    let mut hidden = 0.0;
    for _ in 0..200 {
        masked_view(&src, &modality, 0.5, &mut r, &mut out, &mut mask);
        for i in 0..h * w {
            assert_eq!(out[i], 1.0 - mask[i], "hidden pixels are zero, visible ones untouched");
            // Patches are whole: a pixel shares its mask with its patch's top-left pixel.
            let (y, x) = (i / w, i % w);
            assert_eq!(mask[i], mask[(y / MASK_PATCH * MASK_PATCH) * w + x / MASK_PATCH * MASK_PATCH]);
        }
        hidden += mask.iter().sum::<f32>() / (h * w) as f32;
    }
    assert!((hidden / 200.0 - 0.5).abs() < 0.03, "{}", hidden / 200.0);
}
