//! Helpers the custom-op and optimizer tests share.
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
