//! Orthogonal Procrustes in 2D, so each new projection lands on the previous one instead of
//! flipping or spinning (PCA's axes have arbitrary sign and order between snapshots).
//!
//! In 2D the optimal rotation has a closed form: with both layouts centred, the angle is
//! atan2(Σ x×y, Σ x·y) (the 2×2 SVD solution written out), and the best reflection is found
//! by trying the mirrored layout too. Scale matches the spread (root-mean-square radius) of
//! the reference rather than the least-squares factor: that factor shrinks the layout when
//! two snapshots agree only loosely, and repeated over a run the map would keep shrinking.
//! TODO: switch to `analysis::align::procrustes_align` once it lands on main.

/// Rotation/reflection, scale and translation applied to `moving` so that it best matches
/// `reference` point for point (both the same length).
pub fn align_to(reference: &[[f32; 2]], moving: &[[f32; 2]]) -> Vec<[f32; 2]> {
    if reference.len() != moving.len() || moving.is_empty() {
        return normalise(moving);
    }
    let n = moving.len() as f64;
    let mean = |p: &[[f32; 2]]| {
        let (sx, sy) = p.iter().fold((0.0, 0.0), |(a, b), q| (a + q[0] as f64, b + q[1] as f64));
        (sx / n, sy / n)
    };
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
        return moving.iter().map(|_| [rx as f32, ry as f32]).collect();
    }
    let (mirror, d, c) = if dot_m.hypot(cross_m) > dot.hypot(cross) { (-1.0, dot_m, cross_m) } else { (1.0, dot, cross) };
    let scale = (ref_norm / norm).sqrt();
    let (sin, cos) = c.atan2(d).sin_cos();
    moving
        .iter()
        .map(|m| {
            let (ax, ay) = (mirror * (m[0] as f64 - mx), m[1] as f64 - my);
            [(rx + scale * (cos * ax - sin * ay)) as f32, (ry + scale * (sin * ax + cos * ay)) as f32]
        })
        .collect()
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
    fn undoes_a_mirror_image() {
        let reference = layout();
        let mirrored: Vec<[f32; 2]> = reference.iter().map(|p| [-p[0], p[1]]).collect();
        assert!(max_err(&align_to(&reference, &mirrored), &reference) < 1e-3);
    }
}
