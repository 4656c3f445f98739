//! PCA finds the direction of largest variance, also on degenerate (rank-deficient) data.

use pretext::analysis::pca::{project, PcaModel};
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
