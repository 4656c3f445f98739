//! Helpers the custom-op, optimizer, trainer and loader tests share.
#![allow(dead_code)] // each test binary uses a subset

use candle_core::{Device, Tensor};

/// Uniform values in [−1, 1) from a small LCG, so each case is reproducible without depending
/// on candle's RNG seeding.
pub fn randn(shape: &[usize], seed: u64) -> Tensor {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

pub fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// Largest absolute difference relative to the larger of `floor` and the reference's largest
/// magnitude.
pub fn rel_err_above(a: &[f32], b: &[f32], floor: f32) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let scale = b.iter().fold(floor, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0f32, |m, (p, q)| m.max((p - q).abs())) / scale
}

/// [`rel_err_above`] with a floor of 1.
pub fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    rel_err_above(a, b, 1.0)
}

/// Asserts that `grad` matches central differences of `loss` around `base` with step `h`:
/// |fd − grad| ≤ `tol`·(1 + |fd|) for every coordinate.
pub fn assert_matches_finite_differences(name: &str, base: &[f32], grad: &[f32], h: f32, tol: f64, loss: &dyn Fn(&[f32]) -> f64) {
    assert_eq!(base.len(), grad.len(), "{name}: gradient length");
    for i in 0..base.len() {
        let (mut up, mut down) = (base.to_vec(), base.to_vec());
        up[i] += h;
        down[i] -= h;
        let fd = (loss(&up) - loss(&down)) / (2.0 * h as f64);
        assert!((fd - grad[i] as f64).abs() <= tol * (1.0 + fd.abs()), "{name}[{i}]: finite difference {fd} vs {}", grad[i]);
    }
}

/// Everything a trainer says during one training phase, up to `Finished` or `Error`.
pub fn run_phase(trainer: &pretext::ssl::Trainer) -> Vec<pretext::ssl::TrainEvent> {
    trainer.send(pretext::ssl::TrainCommand::Start);
    collect_until_finished(trainer)
}

/// Events up to `Finished` or `Error` (a hang guard of five minutes).
pub fn collect_until_finished(trainer: &pretext::ssl::Trainer) -> Vec<pretext::ssl::TrainEvent> {
    use pretext::ssl::TrainEvent;
    let mut events = Vec::new();
    while let Some(ev) = trainer.recv_timeout(std::time::Duration::from_secs(300)) {
        let done = matches!(ev, TrainEvent::Finished { .. } | TrainEvent::Error(_));
        events.push(ev);
        if done {
            break;
        }
    }
    events
}

/// The loss of every step among `events`.
pub fn losses(events: &[pretext::ssl::TrainEvent]) -> Vec<f32> {
    events.iter().filter_map(|e| if let pretext::ssl::TrainEvent::Step { loss, .. } = e { Some(*loss) } else { None }).collect()
}

/// An MNIST-style folder: `n` images of 4×3 whose pixel values encode their index.
pub fn write_idx_set(dir: &std::path::Path, prefix: &str, n: usize, gzip: bool) {
    let pixels: Vec<u8> = (0..n * 12).map(|i| (i % 251) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
    let ext = if gzip { ".gz" } else { "" };
    pretext::data::idx::write_idx(&dir.join(format!("{prefix}-images-idx3-ubyte{ext}")), &[n, 4, 3], &pixels, gzip).unwrap();
    pretext::data::idx::write_idx(&dir.join(format!("{prefix}-labels-idx1-ubyte{ext}")), &[n], &labels, gzip).unwrap();
}
