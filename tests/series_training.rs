//! Time series through the training stack: the augmentations keep shape and respect their
//! settings, the encoder trains with every objective (none has series-specific code), and
//! the loss stays finite.

use std::sync::Arc;
use std::time::Duration;

use pretext::data::augment::{masked_view, sample_views};
use pretext::data::augment_series::{series_view, SeriesAugment};
use pretext::data::synthetic::waves_dataset;
use pretext::data::Modality;
use pretext::ssl::{FinishReason, ObjectiveKind, TrainCommand, TrainConfig, TrainEvent, Trainer};
use rand::SeedableRng;

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(5)
}

fn ramp(channels: usize, len: usize) -> Vec<f32> {
    (0..channels * len).map(|i| (i % len) as f32 / len as f32 + (i / len) as f32).collect()
}

#[test]
fn series_view_with_everything_off_is_the_identity() {
    let off = SeriesAugment { jitter: 0.0, scaling: 0.0, magnitude_warp: 0.0, time_warp: 0.0, crop_min: 1.0, permute_segments: 0 };
    let src = ramp(2, 30);
    let mut out = vec![0.0; src.len()];
    series_view(&src, 2, 30, &off, &mut rng(), &mut out);
    for (a, b) in src.iter().zip(&out) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn each_series_augmentation_changes_the_view_and_keeps_it_finite() {
    let off = SeriesAugment { jitter: 0.0, scaling: 0.0, magnitude_warp: 0.0, time_warp: 0.0, crop_min: 1.0, permute_segments: 0 };
    let src = ramp(2, 40);
    let settings = [
        SeriesAugment { jitter: 0.2, ..off.clone() },
        SeriesAugment { scaling: 0.3, ..off.clone() },
        SeriesAugment { magnitude_warp: 0.3, ..off.clone() },
        SeriesAugment { time_warp: 0.3, ..off.clone() },
        SeriesAugment { crop_min: 0.3, ..off.clone() },
        SeriesAugment { permute_segments: 4, ..off.clone() },
    ];
    for cfg in &settings {
        let mut r = rng();
        let mut out = vec![0.0; src.len()];
        let changed = (0..5).any(|_| {
            series_view(&src, 2, 40, cfg, &mut r, &mut out);
            assert!(out.iter().all(|v| v.is_finite()), "{cfg:?}");
            out.iter().zip(&src).any(|(a, b)| (a - b).abs() > 1e-3)
        });
        assert!(changed, "{cfg:?} never changed the series");
    }
    // Time-only augmentations move values in time but never invent new ones: a view of a
    // rising ramp stays within its range and the channels stay aligned (same warp).
    let mut out = vec![0.0; src.len()];
    series_view(&src, 2, 40, &SeriesAugment { time_warp: 0.4, crop_min: 0.5, ..off.clone() }, &mut rng(), &mut out);
    assert!(out.windows(2).take(39).all(|w| w[1] >= w[0] - 1e-5), "crop and warp keep a ramp rising");
    for t in 0..40 {
        assert!((out[40 + t] - out[t] - 1.0).abs() < 1e-4, "channel 1 is channel 0 + 1 at step {t}");
    }
}

#[test]
fn masked_series_hides_whole_time_segments_across_channels() {
    let modality = Modality::Series { channels: 2, length: 64 };
    let src = ramp(2, 64);
    let (mut out, mut mask) = (vec![0.0; 128], vec![0.0; 128]);
    masked_view(&src, &modality, 0.5, &mut rng(), &mut out, &mut mask);
    assert_eq!(&mask[..64], &mask[64..], "the same steps are hidden in every channel");
    let hidden = mask.iter().filter(|&&m| m > 0.0).count();
    assert!(hidden > 0 && hidden < 128, "{hidden} hidden");
    assert_eq!(hidden % 8, 0, "whole segments of 64/16 = 4 steps, in both channels");
    for i in 0..128 {
        assert_eq!(out[i], if mask[i] > 0.0 { 0.0 } else { src[i] });
    }
}

#[test]
fn views_dispatch_on_the_series_modality() {
    let ds = waves_dataset(4, 50, 1);
    let cfg = pretext::ssl::AugmentConfig::default();
    let views = sample_views(&ds.train.item(0, 50), &ds.modality, &ds.train, &cfg, 3, &mut rng());
    assert_eq!(views.len(), 3);
    assert!(views.iter().all(|v| v.len() == 50 && v.as_slice() != &*ds.train.item(0, 50)));
}

fn train_a_few_steps(objective: ObjectiveKind) -> Vec<f32> {
    let ds = Arc::new(waves_dataset(24, 48, 3));
    let cfg = TrainConfig { objective, width: 8, embed_dim: 16, proj_dim: 16, batch_size: 16, epochs: 1.0, eval_every: 2, map_items: 1000, ..Default::default() };
    let trainer = Trainer::spawn(ds, cfg, None).unwrap();
    trainer.send(TrainCommand::Start);
    let mut losses = Vec::new();
    let mut snapshot_rows = None;
    while let Some(ev) = trainer.recv_timeout(Duration::from_secs(120)) {
        match ev {
            TrainEvent::Step { loss, .. } => losses.push(loss),
            TrainEvent::Snapshot { embeddings, .. } => snapshot_rows = Some((embeddings.rows, embeddings.cols)),
            TrainEvent::Error(e) => panic!("{objective:?}: {e}"),
            TrainEvent::Finished { reason, .. } => {
                assert!(matches!(reason, FinishReason::Completed), "{reason:?}");
                break;
            }
            _ => {}
        }
    }
    assert_eq!(snapshot_rows, Some((72, 16)), "a snapshot of every series, 16-d");
    losses
}

#[test]
fn every_objective_trains_on_series_with_finite_loss() {
    for objective in ObjectiveKind::ALL {
        let losses = train_a_few_steps(objective);
        assert!(losses.len() >= 2, "{objective:?}: {} steps", losses.len());
        assert!(losses.iter().all(|l| l.is_finite()), "{objective:?}: {losses:?}");
    }
}
