//! Aligning one 2D layout onto another (orthogonal Procrustes, Schönemann 1966, with
//! translation and one uniform scale), so a re-projected map keeps its orientation and the
//! GUI can animate between frames. Closed form for 2D: the best rotation angle is
//! `atan2(Σ a×b, Σ a·b)` over centred point pairs; a reflection is tried the same way.

use super::Matrix;
use crate::error::{PretextError, Result};

/// Rotates/reflects, scales and shifts `moving` to best match `reference` row by row
/// (least squares). Both must be `n × 2` with the same `n`.
pub fn procrustes_align(reference: &Matrix, moving: &Matrix) -> Result<Matrix> {
    if reference.cols != 2 || moving.cols != 2 || reference.rows != moving.rows {
        return Err(PretextError::Analysis(format!(
            "Procrustes needs two n×2 layouts, got {}×{} and {}×{}",
            reference.rows, reference.cols, moving.rows, moving.cols
        )));
    }
    let n = reference.rows;
    if n == 0 {
        return Ok(moving.clone());
    }
    let mean = |m: &Matrix| {
        let (sx, sy) = (0..n).fold((0.0f64, 0.0f64), |(x, y), i| (x + m.data[2 * i] as f64, y + m.data[2 * i + 1] as f64));
        (sx / n as f64, sy / n as f64)
    };
    let (ra, rb) = (mean(reference), mean(moving));
    // dot = Σ a·b, cross = Σ (a_y b_x − a_x b_y), plus the same with b reflected (b_y → −b_y).
    let (mut dot, mut cross, mut dot_f, mut cross_f, mut norm_b) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        let (ax, ay) = (reference.data[2 * i] as f64 - ra.0, reference.data[2 * i + 1] as f64 - ra.1);
        let (bx, by) = (moving.data[2 * i] as f64 - rb.0, moving.data[2 * i + 1] as f64 - rb.1);
        dot += ax * bx + ay * by;
        cross += ay * bx - ax * by;
        dot_f += ax * bx - ay * by;
        cross_f += ay * bx + ax * by;
        norm_b += bx * bx + by * by;
    }
    if norm_b <= f64::EPSILON {
        // A collapsed layout has no orientation: just move it onto the reference centre.
        let data = (0..n).flat_map(|_| [ra.0 as f32, ra.1 as f32]).collect();
        return Ok(Matrix::new(data, n, 2));
    }
    let (fit, fit_f) = (dot.hypot(cross), dot_f.hypot(cross_f));
    let reflect = fit_f > fit;
    let (theta, fit) = if reflect { (cross_f.atan2(dot_f), fit_f) } else { (cross.atan2(dot), fit) };
    let (c, s) = (theta.cos(), theta.sin());
    let scale = fit / norm_b;
    let mut data = Vec::with_capacity(2 * n);
    for i in 0..n {
        let bx = moving.data[2 * i] as f64 - rb.0;
        let by = moving.data[2 * i + 1] as f64 - rb.1;
        let by = if reflect { -by } else { by };
        data.push((scale * (bx * c - by * s) + ra.0) as f32);
        data.push((scale * (bx * s + by * c) + ra.1) as f32);
    }
    Ok(Matrix::new(data, n, 2))
}
