//! Trustworthiness against scikit-learn, the disagreement score, the linear probe,
//! Procrustes alignment and HDBSCAN.

use pretext::analysis::align::procrustes_align;
use pretext::analysis::hdbscan::{hdbscan, HdbscanParams};
use pretext::analysis::index::Metric;
use pretext::analysis::probe::{linear_probe, ProbeParams};
use pretext::analysis::quality::{neighbor_disagreement, trustworthiness};
use pretext::analysis::Matrix;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// 80 × 6 deterministic data and a lossy 2D projection of it. The same formula in numpy
/// float32 gives scikit-learn 1.9.1's
/// `sklearn.manifold.trustworthiness(x, y, n_neighbors=5) = 0.8393402777777778` and
/// `n_neighbors=10 → 0.851375968992248` (script: tests/oracles/trustworthiness.py,
/// `x[i,j] = sin(0.731 i + 1.913 j) + 0.5 cos(0.117 i (j+3))`, `y = (x0 + 0.3 x2, x1 − 0.2 x3)`).
fn fixed_data() -> (Matrix, Matrix) {
    let (n, d) = (80, 6);
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        for j in 0..d {
            let a = i as f32 * 0.731 + j as f32 * 1.913;
            let b = (i * (j + 3)) as f32 * 0.117;
            x.push(a.sin() + 0.5 * b.cos());
        }
    }
    let y = (0..n).flat_map(|i| [x[i * d] + 0.3 * x[i * d + 2], x[i * d + 1] - 0.2 * x[i * d + 3]]).collect();
    (Matrix::new(x, n, d), Matrix::new(y, n, 2))
}

#[test]
fn trustworthiness_matches_scikit_learn() {
    let (x, y) = fixed_data();
    let t5 = trustworthiness(&x, &y, 5).unwrap();
    let t10 = trustworthiness(&x, &y, 10).unwrap();
    assert!((t5 - 0.8393402777777778).abs() < 1e-9, "k=5: {t5}");
    assert!((t10 - 0.851375968992248).abs() < 1e-9, "k=10: {t10}");
    // The data themselves as the "layout" keep every neighbourhood.
    assert!((trustworthiness(&x, &x, 5).unwrap() - 1.0).abs() < 1e-12);
}

#[test]
fn trustworthiness_rejects_mismatched_inputs() {
    let (x, y) = fixed_data();
    assert!(trustworthiness(&x, &y.select_rows(&[0, 1, 2]), 5).is_err());
    assert!(trustworthiness(&x, &y, 40).is_err());
}

fn blobs(per: usize, dim: usize, centers: usize, spread: f32, seed: u64) -> (Matrix, Vec<u32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for c in 0..centers {
        let center: Vec<f32> = (0..dim).map(|_| rng.random_range(-10.0..10.0f32)).collect();
        for _ in 0..per {
            data.extend(center.iter().map(|m| m + spread * rng.sample::<f32, _>(StandardNormal)));
            labels.push(c as u32);
        }
    }
    (Matrix::new(data, per * centers, dim), labels)
}

#[test]
fn disagreement_is_zero_for_a_faithful_map_and_high_for_a_shuffled_one() {
    let (x, _) = blobs(100, 2, 3, 1.0, 1);
    let same = neighbor_disagreement(&x, &x, 10, Metric::Euclidean).unwrap();
    assert!(same.iter().all(|&v| v < 1e-6), "identical map should agree everywhere");
    let mut order: Vec<usize> = (0..x.rows).collect();
    order.reverse();
    let shuffled = x.select_rows(&order);
    let bad = neighbor_disagreement(&x, &shuffled, 10, Metric::Euclidean).unwrap();
    let mean = bad.iter().sum::<f32>() / bad.len() as f32;
    assert!(mean > 0.8, "mean disagreement of a scrambled map was {mean}");
}

#[test]
fn linear_probe_beats_chance_on_separable_data() {
    let (x, labels) = blobs(300, 20, 3, 2.0, 2);
    let train_idx: Vec<usize> = (0..x.rows).filter(|i| i % 3 != 0).collect();
    let test_idx: Vec<usize> = (0..x.rows).filter(|i| i % 3 == 0).collect();
    let pick = |idx: &[usize]| idx.iter().map(|&i| labels[i]).collect::<Vec<_>>();
    let params = ProbeParams { fractions: vec![0.05, 1.0], epochs: 100, ..ProbeParams::default() };
    let results = linear_probe(&x.select_rows(&train_idx), &pick(&train_idx), &x.select_rows(&test_idx), &pick(&test_idx), &params).unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].train_size, 30);
    for r in &results {
        assert!(r.test_accuracy > 0.9, "probe with {} labels: accuracy {}", r.train_size, r.test_accuracy);
    }
}

#[test]
fn probe_fails_cleanly_on_bad_fraction() {
    let (x, labels) = blobs(10, 3, 2, 1.0, 3);
    let params = ProbeParams { fractions: vec![1.5], ..ProbeParams::default() };
    assert!(linear_probe(&x, &labels, &x, &labels, &params).is_err());
}

#[test]
fn procrustes_undoes_rotation_reflection_scale_and_shift() {
    let (x, _) = blobs(50, 2, 2, 1.0, 4);
    for reflect in [false, true] {
        let (c, s) = (0.7f32.cos(), 0.7f32.sin());
        let moved: Vec<f32> = (0..x.rows)
            .flat_map(|i| {
                let (px, py) = (x.data[2 * i], x.data[2 * i + 1]);
                let py = if reflect { -py } else { py };
                [2.5 * (px * c - py * s) + 7.0, 2.5 * (px * s + py * c) - 3.0]
            })
            .collect();
        let aligned = procrustes_align(&x, &Matrix::new(moved, x.rows, 2)).unwrap();
        let err = aligned.data.iter().zip(&x.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(err < 1e-3, "reflect={reflect}: max error {err}");
    }
}

#[test]
fn hdbscan_finds_blobs_and_marks_outliers_as_noise() {
    let (mut x, labels) = blobs(60, 3, 2, 0.3, 5);
    // Three isolated points far from both blobs and from each other.
    for p in [[100.0f32, 100.0, 100.0], [-100.0, 100.0, -100.0], [100.0, -100.0, 50.0]] {
        x.data.extend_from_slice(&p);
        x.rows += 1;
    }
    let found = hdbscan(&x, &HdbscanParams { min_cluster_size: 10, min_samples: 5 }).unwrap();
    assert_eq!(found.len(), x.rows);
    assert!(found[120..].iter().all(Option::is_none), "outliers must be noise: {:?}", &found[120..]);
    // Every blob maps onto one cluster and the two blobs onto different ones.
    let a = found[0].expect("blob point clustered");
    let b = found[60].expect("blob point clustered");
    assert_ne!(a, b);
    for i in 0..120 {
        let want = if labels[i] == 0 { a } else { b };
        assert_eq!(found[i], Some(want), "point {i}");
    }
}
