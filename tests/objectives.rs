//! Losses on inputs small enough to check by hand.

use candle_core::{Device, Tensor};
use pretext::ssl::objective::{masked_mse, nt_xent};

fn t(rows: &[[f32; 2]]) -> Tensor {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (rows.len(), 2), &Device::Cpu).unwrap()
}

fn scalar(x: Tensor) -> f32 {
    x.to_scalar::<f32>().unwrap()
}

#[test]
fn nt_xent_of_identical_orthogonal_views_matches_hand_value() {
    // Two items along e1 and e2, both views identical. For each of the 4 rows the partner has
    // similarity 1 and the other two rows 0, so with T = 1: loss = -ln(e / (e + 2)).
    let z = t(&[[1.0, 0.0], [0.0, 1.0]]);
    let loss = scalar(nt_xent(&z, &z, 1.0).unwrap());
    let e = std::f32::consts::E;
    assert!((loss - (-(e / (e + 2.0)).ln())).abs() < 1e-5, "{loss}");
    // Scale does not matter (projections are L2-normalised), temperature does: T = 0.5.
    let z3 = t(&[[3.0, 0.0], [0.0, 7.0]]);
    let loss = scalar(nt_xent(&z3, &z3, 0.5).unwrap());
    let e2 = e * e;
    assert!((loss - (-(e2 / (e2 + 2.0)).ln())).abs() < 1e-5, "{loss}");
}

#[test]
fn nt_xent_prefers_matching_views_to_random_ones() {
    let n = 64;
    let z1 = Tensor::randn(0f32, 1.0, (n, 16), &Device::Cpu).unwrap();
    let z2_close = (&z1 + Tensor::randn(0f32, 0.05, (n, 16), &Device::Cpu).unwrap()).unwrap();
    let z2_random = Tensor::randn(0f32, 1.0, (n, 16), &Device::Cpu).unwrap();
    let aligned = scalar(nt_xent(&z1, &z2_close, 0.5).unwrap());
    let random = scalar(nt_xent(&z1, &z2_random, 0.5).unwrap());
    // Random views sit near ln(2n - 1), the loss of a uniform guess.
    assert!((random - ((2 * n - 1) as f32).ln()).abs() < 0.5, "{random}");
    assert!(aligned < random - 1.0, "aligned {aligned} vs random {random}");
}

#[test]
fn masked_mse_scores_only_hidden_entries() {
    let recon = t(&[[1.0, 5.0], [0.0, 0.0]]);
    let target = t(&[[0.0, 0.0], [0.0, 2.0]]);
    let mask = t(&[[1.0, 0.0], [0.0, 1.0]]);
    // Hidden entries: (0,0) error 1, (1,1) error 2 → (1 + 4) / 2; the visible 5 is ignored.
    assert!((scalar(masked_mse(&recon, &target, &mask).unwrap()) - 2.5).abs() < 1e-6);
    let none = t(&[[0.0, 0.0], [0.0, 0.0]]);
    assert!((scalar(masked_mse(&recon, &target, &none).unwrap()) - (1.0 + 25.0 + 4.0) / 4.0).abs() < 1e-6);
}
