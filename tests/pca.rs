//! PCA finds the direction of largest variance, also on degenerate (rank-deficient) data.

use pretext::analysis::pca::{project, PcaModel, PcaSolver};
use pretext::analysis::Matrix;

fn line_data(n: usize, dir: [f32; 3], noise: f32) -> Matrix {
    let mut data = Vec::new();
    for i in 0..n {
        let t = i as f32 / n as f32 - 0.5;
        let wiggle = ((i * 7919) % 101) as f32 / 101.0 - 0.5;
        data.extend([t * dir[0] + noise * wiggle, t * dir[1] - noise * wiggle, t * dir[2] + 2.0]);
    }
    Matrix::new(data, n, 3)
}

#[test]
fn first_component_follows_the_line() {
    let x = line_data(500, [3.0, 4.0, 0.0], 0.01);
    let pca = PcaModel::fit(&x, 2).unwrap();
    let p = pca.transform(&x);
    // Scores along PC1 are (up to sign) t·|dir| = 5t, apart from the small noise.
    let sign = p.row(499)[0].signum();
    let worst = (0..500).map(|i| (sign * p.row(i)[0] - 5.0 * (i as f32 / 500.0 - 0.5)).abs()).fold(0.0, f32::max);
    assert!(worst < 0.03, "largest deviation from 5t: {worst}");
    let ratios = pca.explained_variance_ratio();
    assert!(ratios[0] > 0.99 && ratios[0] >= ratios[1], "{ratios:?}");
}

#[test]
fn rank_deficient_input_does_not_panic() {
    // Exactly on a line (rank 1) but asking for 2 components, and a constant matrix.
    let x = line_data(200, [1.0, 2.0, 2.0], 0.0);
    let p = project(&x, 2).unwrap();
    assert_eq!((p.rows, p.cols), (200, 2));
    assert!(p.data.iter().all(|v| v.is_finite()));
    assert!(((p.row(199)[0] - p.row(0)[0]).abs() - 3.0 * 199.0 / 200.0).abs() < 0.01);
    let constant = Matrix::new(vec![1.0; 50 * 4], 50, 4);
    let p = project(&constant, 2).unwrap();
    assert!(p.data.iter().all(|v| v.abs() < 1e-5));
}

/// Rows with a known, well-separated spectrum: column j has standard deviation 1/(j+1).
fn decaying_spectrum(n: usize, d: usize) -> Matrix {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    // Mix the axes with a fixed rotation-like map so components are not the unit axes.
    let raw: Vec<f32> = (0..n * d).map(|i| uniform() * 3.46 / ((i % d) as f32 + 1.0)).collect();
    let mix: Vec<f32> = (0..d * d).map(|i| if i / d == i % d { 1.0 } else { 0.05 * uniform() }).collect();
    let mut data = vec![0f32; n * d];
    for r in 0..n {
        for c in 0..d {
            data[r * d + c] = (0..d).map(|j| raw[r * d + j] * mix[j * d + c]).sum::<f32>() + 0.3;
        }
    }
    Matrix::new(data, n, d)
}

#[test]
fn covariance_route_matches_linfa_reduction() {
    // n ≥ 10·d, so Auto picks the covariance route; linfa-reduction's LOBPCG is the reference.
    let x = decaying_spectrum(3000, 40);
    let ours = PcaModel::fit(&x, 5).unwrap();
    assert_eq!(ours.solver, PcaSolver::CovarianceEigh);
    let linfa = PcaModel::fit_with(&x, 5, PcaSolver::Lobpcg).unwrap();
    assert_eq!(linfa.solver, PcaSolver::Lobpcg);
    for i in 0..5 {
        let dot: f32 = ours.component(i).iter().zip(linfa.component(i)).map(|(a, b)| a * b).sum();
        assert!(dot.abs() > 0.999, "component {i}: |cos| = {}", dot.abs());
    }
    let (a, b) = (ours.explained_variance_ratio(), linfa.explained_variance_ratio());
    for (p, q) in a.iter().zip(&b) {
        assert!((p - q).abs() < 1e-4, "{a:?} vs {b:?}");
    }
    // Both project the same way up to each component's sign.
    let (pa, pb) = (ours.transform(&x), linfa.transform(&x));
    for i in 0..5 {
        let sign = (pa.row(0)[i] * pb.row(0)[i]).signum();
        let worst = (0..x.rows).map(|r| (pa.row(r)[i] - sign * pb.row(r)[i]).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-3, "component {i}: projections differ by {worst}");
    }
}

#[test]
fn explained_variance_ratio_is_against_total_variance() {
    // As scikit-learn defines it: with all d components the ratios sum to 1, with fewer
    // they sum to less (linfa 0.8.1 normalises over the k kept components only).
    let x = decaying_spectrum(800, 12);
    let all: f32 = PcaModel::fit(&x, 12).unwrap().explained_variance_ratio().iter().sum();
    assert!((all - 1.0).abs() < 1e-3, "sum over all components {all}");
    for solver in [PcaSolver::CovarianceEigh, PcaSolver::Lobpcg] {
        let two = PcaModel::fit_with(&x, 2, solver).unwrap().explained_variance_ratio();
        let sum: f32 = two.iter().sum();
        assert!(sum < 0.95 && two[0] > two[1] && two[1] > 0.0, "{solver:?}: {two:?}");
    }
}

#[test]
fn as_many_components_as_columns_on_few_rows_transforms_without_panicking() {
    // The shape of the ItalyPowerDemand baseline: 67 rows of 24 values, 50 components asked.
    let data: Vec<f32> = (0..67 * 24).map(|i| (((i * 7919) % 997) as f32 / 997.0) + (i % 24) as f32 * 0.01).collect();
    let x = Matrix::new(data, 67, 24);
    let pca = PcaModel::fit(&x, 50).unwrap();
    let p = pca.transform(&x);
    assert_eq!((p.rows, p.cols), (67, 24));
    assert!(p.data.iter().all(|v| v.is_finite()));
}

#[test]
fn covariance_route_equals_the_covariance_of_centred_rows() {
    // Odd sizes: more rows than one chunk and a width that is not a multiple of the block.
    let (n, d) = (2_500, 131);
    let x = decaying_spectrum(n, d);
    let model = PcaModel::fit_with(&x, 5, PcaSolver::CovarianceEigh).unwrap();
    // Each component is an eigenvector of the covariance computed the plain way, in f64.
    let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| x.row(i)[j] as f64).sum::<f64>() / n as f64).collect();
    for c in 0..5 {
        let v: Vec<f64> = model.component(c).iter().map(|&a| a as f64).collect();
        let proj: Vec<f64> = (0..n).map(|i| x.row(i).iter().zip(&mean).zip(&v).map(|((&a, m), w)| (a as f64 - m) * w).sum()).collect();
        let cv: Vec<f64> = (0..d).map(|j| (0..n).map(|i| (x.row(i)[j] as f64 - mean[j]) * proj[i]).sum::<f64>() / (n - 1) as f64).collect();
        let lambda: f64 = cv.iter().zip(&v).map(|(a, b)| a * b).sum();
        let residual = cv.iter().zip(&v).map(|(a, b)| (a - lambda * b).powi(2)).sum::<f64>().sqrt();
        assert!(residual < 1e-3 * lambda.abs().max(1e-9), "component {c}: residual {residual}, eigenvalue {lambda}");
    }
}
