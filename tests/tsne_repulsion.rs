//! Barnes-Hut and FFT repulsion agree with the direct O(n²) sums they approximate.

use pretext::analysis::tsne_bh;
use pretext::analysis::tsne_fft::FftRepulsion;
use rand::{Rng, SeedableRng};

/// Direct sums: `Σ_j q²(y_i − y_j)` per point and `Z = Σ_{i≠j} q`, `q = 1 / (1 + d²)`.
fn exact(y: &[f32]) -> (Vec<f64>, f64) {
    let n = y.len() / 2;
    let mut force = vec![0.0; 2 * n];
    let mut z = 0.0;
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let (dx, dy) = ((y[2 * i] - y[2 * j]) as f64, (y[2 * i + 1] - y[2 * j + 1]) as f64);
            let q = 1.0 / (1.0 + dx * dx + dy * dy);
            z += q;
            force[2 * i] += q * q * dx;
            force[2 * i + 1] += q * q * dy;
        }
    }
    (force, z)
}

/// A clustered layout with some exact duplicates (which the quadtree must not split forever).
fn layout(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut y = Vec::with_capacity(2 * n);
    for i in 0..n {
        if i % 50 == 49 {
            let (a, b) = (y[0], y[1]);
            y.extend([a, b]);
            continue;
        }
        let centre = (i % 5) as f32 * 12.0;
        y.extend([centre + rng.random_range(-4.0..4.0), rng.random_range(-6.0..6.0) - centre / 2.0]);
    }
    y
}

/// Force errors relative to the exact forces: (largest error / largest force, mean error /
/// mean force).
fn relative_error(approx: &[f64], exact: &[f64]) -> (f64, f64) {
    let norms: Vec<f64> = exact.chunks(2).map(|f| f[0].hypot(f[1])).collect();
    let errors: Vec<f64> = approx.chunks(2).zip(exact.chunks(2)).map(|(a, e)| (a[0] - e[0]).hypot(a[1] - e[1])).collect();
    let max = errors.iter().fold(0.0, |m: f64, &e| m.max(e)) / norms.iter().fold(0.0, |m: f64, &v| m.max(v));
    (max, errors.iter().sum::<f64>() / norms.iter().sum::<f64>())
}

#[test]
fn barnes_hut_with_zero_angle_is_exact() {
    let y = layout(600, 1);
    let (want, z_want) = exact(&y);
    let mut got = vec![0.0; y.len()];
    let z = tsne_bh::forces(&y, 0.0, &mut got);
    assert!((z - z_want).abs() < 1e-9 * z_want, "Z {z} vs {z_want}");
    // Only rounding differs (the direct sum subtracts in f32 before widening).
    let (max, _) = relative_error(&got, &want);
    assert!(max < 1e-6, "largest error {max}");
}

#[test]
fn barnes_hut_and_fft_approximate_the_direct_sums() {
    let y = layout(3000, 2);
    let (want, z_want) = exact(&y);
    let mut bh = vec![0.0; y.len()];
    let z_bh = tsne_bh::forces(&y, 0.5, &mut bh);
    assert!((z_bh - z_want).abs() < 0.01 * z_want, "BH Z {z_bh} vs {z_want}");
    let (max, mean) = relative_error(&bh, &want);
    assert!(max < 0.02 && mean < 0.03, "BH force error: largest {max}, mean {mean}");
    let mut fft = vec![0.0; y.len()];
    let z_fft = FftRepulsion::default().forces(&y, &mut fft);
    assert!((z_fft - z_want).abs() < 0.01 * z_want, "FFT Z {z_fft} vs {z_want}");
    // Three interpolation nodes per unit box (openTSNE's default) trade accuracy for speed.
    let (max, mean) = relative_error(&fft, &want);
    assert!(max < 0.15 && mean < 0.03, "FFT force error: largest {max}, mean {mean}");
}

