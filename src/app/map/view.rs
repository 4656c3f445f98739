//! Pan and zoom of the map: a centre in layout coordinates and a scale in pixels per unit.

use egui::{Pos2, Rect, Vec2};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub center: [f32; 2],
    /// Pixels per layout unit.
    pub scale: f32,
}

impl Default for View {
    fn default() -> Self {
        Self { center: [0.0, 0.0], scale: 100.0 }
    }
}

impl View {
    /// A view that shows `points` inside `rect` with a small margin, ignoring the outermost
    /// 0.5% on each side of each axis (one far outlier would otherwise shrink everything).
    pub fn fit(points: &[[f32; 2]], rect: Rect) -> View {
        let finite: Vec<[f32; 2]> = points.iter().copied().filter(|p| p[0].is_finite() && p[1].is_finite()).collect();
        if finite.is_empty() {
            return View::default();
        }
        let (mut lo, mut hi) = ([0f32; 2], [0f32; 2]);
        for k in 0..2 {
            let mut axis: Vec<f32> = finite.iter().map(|p| p[k]).collect();
            let n = axis.len();
            let cut = n / 200;
            lo[k] = *axis.select_nth_unstable_by(cut, f32::total_cmp).1;
            hi[k] = *axis.select_nth_unstable_by(n - 1 - cut, f32::total_cmp).1;
        }
        let span = [(hi[0] - lo[0]).max(1e-6), (hi[1] - lo[1]).max(1e-6)];
        let scale = 0.9 * (rect.width() / span[0]).min(rect.height() / span[1]);
        View { center: [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0], scale: scale.max(1e-3) }
    }

    /// Screen position of a layout point (y grows upwards on the map, downwards on screen).
    pub fn to_screen(&self, rect: Rect, p: [f32; 2]) -> Pos2 {
        rect.center() + Vec2::new((p[0] - self.center[0]) * self.scale, -(p[1] - self.center[1]) * self.scale)
    }

    pub fn to_layout(&self, rect: Rect, s: Pos2) -> [f32; 2] {
        let d = s - rect.center();
        [self.center[0] + d.x / self.scale, self.center[1] - d.y / self.scale]
    }

    pub fn pan(&mut self, screen_delta: Vec2) {
        self.center[0] -= screen_delta.x / self.scale;
        self.center[1] += screen_delta.y / self.scale;
    }

    /// Zooms by `factor` keeping the layout point under `anchor` fixed on screen.
    pub fn zoom_at(&mut self, rect: Rect, anchor: Pos2, factor: f32) {
        let before = self.to_layout(rect, anchor);
        self.scale = (self.scale * factor).clamp(1e-3, 1e7);
        let after = self.to_layout(rect, anchor);
        self.center[0] += before[0] - after[0];
        self.center[1] += before[1] - after[1];
    }
}

/// Ray-casting point-in-polygon test (even-odd rule), for lasso selection.
pub fn inside_polygon(poly: &[Pos2], p: Pos2) -> bool {
    let mut inside = false;
    let mut j = poly.len().wrapping_sub(1);
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[j]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_keeps_anchor_fixed_and_round_trips() {
        let rect = Rect::from_min_size(Pos2::ZERO, Vec2::new(400.0, 300.0));
        let mut v = View::fit(&[[-1.0, -1.0], [3.0, 2.0]], rect);
        let anchor = Pos2::new(120.0, 80.0);
        let before = v.to_layout(rect, anchor);
        v.zoom_at(rect, anchor, 2.5);
        let back = v.to_screen(rect, before);
        assert!((back - anchor).length() < 1e-3);
    }

    #[test]
    fn lasso_contains_inside_not_outside() {
        let square = [Pos2::new(0.0, 0.0), Pos2::new(10.0, 0.0), Pos2::new(10.0, 10.0), Pos2::new(0.0, 10.0)];
        assert!(inside_polygon(&square, Pos2::new(5.0, 5.0)));
        assert!(!inside_polygon(&square, Pos2::new(15.0, 5.0)));
    }
}
