//! Aligning one 2D layout onto another (orthogonal Procrustes, Schönemann 1966, with a
//! translation and one uniform scale), so each new projection lands on the previous one
//! instead of flipping or spinning (PCA's axes have arbitrary sign and order between
//! snapshots), and the window can animate between them. The one alignment every map path
//! uses: the first layout, each live snapshot, a warm-started re-projection, another run's
//! subset.
//!
//! In 2D the optimal rotation has a closed form: with both layouts centred, the angle is
//! atan2(Σ x×y, Σ x·y) (the 2×2 SVD solution written out), and the best reflection is found
//! by trying the mirrored layout too. Scale matches the spread (root-mean-square radius) of
//! the reference rather than the least-squares factor: that factor shrinks the layout when
//! two snapshots agree only loosely, and repeated over a run the map would keep shrinking.

use super::Matrix;
use crate::error::{PretextError, Result};

/// `align_to` for `n × 2` matrices (row for row).
pub fn procrustes_align(reference: &Matrix, moving: &Matrix) -> Result<Matrix> {
    if reference.cols != 2 || moving.cols != 2 || reference.rows != moving.rows {
        return Err(PretextError::Analysis(format!(
            "Procrustes needs two n×2 layouts, got {}×{} and {}×{}",
            reference.rows, reference.cols, moving.rows, moving.cols
        )));
    }
    let points = |m: &Matrix| m.data.chunks_exact(2).map(|p| [p[0], p[1]]).collect::<Vec<[f32; 2]>>();
    let aligned = align_to(&points(reference), &points(moving));
    Ok(Matrix::new(aligned.into_iter().flatten().collect(), moving.rows, 2))
}

/// Rotation/reflection, scale and translation applied to `moving` so that it best matches
/// `reference` point for point (both the same length).
pub fn align_to(reference: &[[f32; 2]], moving: &[[f32; 2]]) -> Vec<[f32; 2]> {
    if reference.len() != moving.len() || moving.is_empty() {
        return normalise(moving);
    }
    match Similarity::fit(reference, moving) {
        Some(t) => t.apply_all(moving),
        None => {
            let (rx, ry) = mean(reference);
            moving.iter().map(|_| [rx as f32, ry as f32]).collect()
        }
    }
}

/// Aligns a layout of other items onto the one on screen through the items both show
/// (another run's map subset): the transform is fitted on the shared items and applied to
/// all. With fewer than three shared items there is nothing to fit and the layout is only
/// normalised.
pub fn align_on_shared(reference: &[[f32; 2]], reference_items: &[usize], moving: &[[f32; 2]], moving_items: &[usize]) -> Vec<[f32; 2]> {
    if reference.len() != reference_items.len() || moving.len() != moving_items.len() {
        return normalise(moving);
    }
    let row_of: std::collections::HashMap<usize, usize> = reference_items.iter().enumerate().map(|(r, &i)| (i, r)).collect();
    let (shared_ref, shared_mov): (Vec<[f32; 2]>, Vec<[f32; 2]>) =
        moving_items.iter().zip(moving).filter_map(|(i, &m)| row_of.get(i).map(|&r| (reference[r], m))).unzip();
    match Similarity::fit(&shared_ref, &shared_mov).filter(|_| shared_ref.len() >= 3) {
        Some(t) => t.apply_all(moving),
        None => normalise(moving),
    }
}

fn mean(p: &[[f32; 2]]) -> (f64, f64) {
    let n = p.len().max(1) as f64;
    let (sx, sy) = p.iter().fold((0.0, 0.0), |(a, b), q| (a + q[0] as f64, b + q[1] as f64));
    (sx / n, sy / n)
}

/// A 2D similarity transform: optional mirror in x, rotation, scale, translation.
struct Similarity {
    moving_mean: (f64, f64),
    reference_mean: (f64, f64),
    mirror: f64,
    scale: f64,
    sin: f64,
    cos: f64,
}

impl Similarity {
    /// The transform taking `moving` onto `reference` (same length); None when `moving` has
    /// no spread to rotate.
    fn fit(reference: &[[f32; 2]], moving: &[[f32; 2]]) -> Option<Self> {
        if reference.len() != moving.len() || moving.is_empty() {
            return None;
        }
        let (rx, ry) = mean(reference);
        let (mx, my) = mean(moving);
        // Sums for the rotation of the moving layout (dot and cross), plain and mirrored in x.
        let (mut dot, mut cross, mut dot_m, mut cross_m, mut norm, mut ref_norm) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for (r, m) in reference.iter().zip(moving) {
            let (ax, ay) = (m[0] as f64 - mx, m[1] as f64 - my);
            let (bx, by) = (r[0] as f64 - rx, r[1] as f64 - ry);
            dot += ax * bx + ay * by;
            cross += ax * by - ay * bx;
            dot_m += -ax * bx + ay * by;
            cross_m += -ax * by - ay * bx;
            norm += ax * ax + ay * ay;
            ref_norm += bx * bx + by * by;
        }
        if norm <= 0.0 {
            return None;
        }
        let (mirror, d, c) = if dot_m.hypot(cross_m) > dot.hypot(cross) { (-1.0, dot_m, cross_m) } else { (1.0, dot, cross) };
        let (sin, cos) = c.atan2(d).sin_cos();
        Some(Self { moving_mean: (mx, my), reference_mean: (rx, ry), mirror, scale: (ref_norm / norm).sqrt(), sin, cos })
    }

    fn apply_all(&self, points: &[[f32; 2]]) -> Vec<[f32; 2]> {
        let ((mx, my), (rx, ry)) = (self.moving_mean, self.reference_mean);
        points
            .iter()
            .map(|m| {
                let (ax, ay) = (self.mirror * (m[0] as f64 - mx), m[1] as f64 - my);
                [(rx + self.scale * (self.cos * ax - self.sin * ay)) as f32, (ry + self.scale * (self.sin * ax + self.cos * ay)) as f32]
            })
            .collect()
    }
}

/// Centred at the origin with unit root-mean-square radius: the frame of the first layout.
pub fn normalise(points: &[[f32; 2]]) -> Vec<[f32; 2]> {
    let n = points.len().max(1) as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), q| (a + q[0] as f64, b + q[1] as f64));
    let (cx, cy) = (sx / n, sy / n);
    let rms = (points.iter().map(|q| (q[0] as f64 - cx).powi(2) + (q[1] as f64 - cy).powi(2)).sum::<f64>() / n).sqrt();
    let s = if rms > 0.0 { 1.0 / rms } else { 1.0 };
    points.iter().map(|q| [((q[0] as f64 - cx) * s) as f32, ((q[1] as f64 - cy) * s) as f32]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Vec<[f32; 2]> {
        (0..50).map(|i| [(i as f32 * 0.37).sin() * i as f32, (i as f32 * 0.11).cos() + 0.1 * i as f32]).collect()
    }

    fn max_err(a: &[[f32; 2]], b: &[[f32; 2]]) -> f32 {
        a.iter().zip(b).map(|(p, q)| (p[0] - q[0]).abs().max((p[1] - q[1]).abs())).fold(0.0, f32::max)
    }

    #[test]
    fn undoes_rotation_scale_and_shift() {
        let reference = layout();
        let (s, c) = 1.1f32.sin_cos();
        let moved: Vec<[f32; 2]> = reference.iter().map(|p| [3.0 * (c * p[0] - s * p[1]) + 5.0, 3.0 * (s * p[0] + c * p[1]) - 2.0]).collect();
        assert!(max_err(&align_to(&reference, &moved), &reference) < 1e-3);
    }

    #[test]
    fn aligns_another_subset_through_the_shared_items() {
        // The moving layout shows items 10..60 (the reference shows 0..50), rotated and
        // mirrored; the shared items 10..50 must land where the reference has them.
        let reference = layout();
        let reference_items: Vec<usize> = (0..50).collect();
        let moving_items: Vec<usize> = (10..60).collect();
        let truth: Vec<[f32; 2]> = (10..60).map(|i| [(i as f32 * 0.37).sin() * i as f32, (i as f32 * 0.11).cos() + 0.1 * i as f32]).collect();
        let (s, c) = 2.0f32.sin_cos();
        let moved: Vec<[f32; 2]> = truth.iter().map(|p| [-(c * p[0] - s * p[1]) * 0.5 + 1.0, (s * p[0] + c * p[1]) * 0.5]).collect();
        let aligned = align_on_shared(&reference, &reference_items, &moved, &moving_items);
        assert!(max_err(&aligned, &truth) < 1e-3, "shared items and the rest follow the same transform");
        // No shared items: only normalised, not fitted to anything.
        let apart: Vec<usize> = (100..150).collect();
        assert!(max_err(&align_on_shared(&reference, &reference_items, &moved, &apart), &normalise(&moved)) < 1e-6);
    }

    #[test]
    fn undoes_a_mirror_image() {
        let reference = layout();
        let mirrored: Vec<[f32; 2]> = reference.iter().map(|p| [-p[0], p[1]]).collect();
        assert!(max_err(&align_to(&reference, &mirrored), &reference) < 1e-3);
    }
}
