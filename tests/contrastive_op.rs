//! The fused NT-Xent op against the same loss composed from candle ops (value and gradient
//! w.r.t. both views, several sizes and temperatures) and against finite differences.

use candle_core::{Device, Tensor, Var};
use pretext::ssl::contrastive::{nt_xent, nt_xent_composed};

mod common;
use common::{assert_matches_finite_differences, flat, randn, rel_err_above};

/// Gradients here can be small everywhere, so the scale floor is 1e-3 rather than 1.
fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    rel_err_above(a, b, 1e-3)
}

/// Loss and gradients w.r.t. both views of `loss * 0.7` (an upstream gradient other than 1).
fn loss_and_grads(z1: &Tensor, z2: &Tensor, t: f64, fused: bool) -> (f32, Vec<f32>, Vec<f32>) {
    let (a, b) = (Var::from_tensor(z1).unwrap(), Var::from_tensor(z2).unwrap());
    let loss = if fused { nt_xent(a.as_tensor(), b.as_tensor(), t) } else { nt_xent_composed(a.as_tensor(), b.as_tensor(), t) };
    let loss = loss.unwrap();
    let g = (&loss * 0.7).unwrap().backward().unwrap();
    (loss.to_scalar::<f32>().unwrap(), flat(g.get(a.as_tensor()).unwrap()), flat(g.get(b.as_tensor()).unwrap()))
}

#[test]
fn fused_nt_xent_matches_the_composed_loss() {
    for &(n, d) in &[(1, 1), (2, 3), (5, 8), (33, 17), (256, 64)] {
        for t in [0.1, 0.5, 1.0] {
            let (z1, z2) = (randn(&[n, d], (n * d) as u64), randn(&[n, d], (n + d) as u64));
            let (l, g1, g2) = loss_and_grads(&z1, &z2, t, true);
            let (l0, g10, g20) = loss_and_grads(&z1, &z2, t, false);
            assert!((l - l0).abs() <= 1e-5 * l0.abs().max(1.0), "loss n{n} d{d} t{t}: {l} vs {l0}");
            assert!(rel_err(&g1, &g10) <= 1e-4, "view 1 grad n{n} d{d} t{t}: {}", rel_err(&g1, &g10));
            assert!(rel_err(&g2, &g20) <= 1e-4, "view 2 grad n{n} d{d} t{t}: {}", rel_err(&g2, &g20));
        }
    }
}

#[test]
fn fused_nt_xent_gradient_matches_finite_differences() {
    let (n, d, t) = (3, 4, 0.5);
    let (z1, z2) = (randn(&[n, d], 1), randn(&[n, d], 2));
    let (_, g1, g2) = loss_and_grads(&z1, &z2, t, true);
    let grad: Vec<f32> = g1.iter().chain(&g2).map(|g| g / 0.7).collect();
    let base: Vec<f32> = flat(&z1).into_iter().chain(flat(&z2)).collect();
    let loss = |v: &[f32]| -> f64 {
        let a = Tensor::from_slice(&v[..n * d], (n, d), &Device::Cpu).unwrap();
        let b = Tensor::from_slice(&v[n * d..], (n, d), &Device::Cpu).unwrap();
        nt_xent(&a, &b, t).unwrap().to_scalar::<f32>().unwrap() as f64
    };
    assert_matches_finite_differences("z", &base, &grad, 1e-2, 2e-3, &loss);
}

#[test]
fn nt_xent_rejects_mismatched_views_and_bad_temperatures() {
    assert!(nt_xent(&randn(&[3, 4], 1), &randn(&[2, 4], 2), 0.5).is_err());
    assert!(nt_xent(&randn(&[3, 4], 1), &randn(&[3, 4], 2), 0.0).is_err());
    assert!(nt_xent(&randn(&[3, 0], 1), &randn(&[3, 0], 2), 0.5).is_err());
}
