//! 2D picking on the map (hover, rectangle and lasso selection) with a uniform bucket grid.
//! A grid rather than a k-d tree: map points are spread fairly evenly, the grid is rebuilt in
//! one O(n) pass whenever the layout moves (every streamed t-SNE/UMAP frame), and a query
//! touches a handful of cells.

use super::Matrix;
use crate::error::{PretextError, Result};

pub struct PointGrid {
    xs: Vec<f32>,
    ys: Vec<f32>,
    min: (f32, f32),
    cell: f32,
    dims: (usize, usize),
    /// Point ids ordered by cell; cell `c` holds `ids[starts[c]..starts[c + 1]]`.
    starts: Vec<usize>,
    ids: Vec<u32>,
}

impl PointGrid {
    pub fn new(layout: &Matrix) -> Result<Self> {
        if layout.cols != 2 {
            return Err(PretextError::Analysis(format!("2D picking needs 2 columns, got {}", layout.cols)));
        }
        let xs: Vec<f32> = (0..layout.rows).map(|i| layout.data[2 * i]).collect();
        let ys: Vec<f32> = (0..layout.rows).map(|i| layout.data[2 * i + 1]).collect();
        if xs.iter().chain(&ys).any(|v| !v.is_finite()) {
            return Err(PretextError::BadData("layout contains NaN or infinite positions".into()));
        }
        let fold = |it: &[f32]| it.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let ((x0, x1), (y0, y1)) = if layout.rows == 0 { ((0.0, 1.0), (0.0, 1.0)) } else { (fold(&xs), fold(&ys)) };
        let (w, h) = ((x1 - x0).max(1e-6), (y1 - y0).max(1e-6));
        // About two points per cell.
        let cell = ((w * h) / (layout.rows.max(1) as f32 / 2.0)).sqrt().max(1e-6);
        let dims = (((w / cell) as usize + 1).min(4096), ((h / cell) as usize + 1).min(4096));
        let cell = cell.max(w / dims.0 as f32).max(h / dims.1 as f32);
        let mut grid = Self { xs, ys, min: (x0, y0), cell, dims, starts: Vec::new(), ids: Vec::new() };
        let cells: Vec<usize> = (0..layout.rows).map(|i| grid.cell_of(grid.xs[i], grid.ys[i])).collect();
        let mut counts = vec![0usize; dims.0 * dims.1 + 1];
        cells.iter().for_each(|&c| counts[c + 1] += 1);
        for c in 1..counts.len() {
            counts[c] += counts[c - 1];
        }
        let mut fill = counts.clone();
        let mut ids = vec![0u32; layout.rows];
        for (i, &c) in cells.iter().enumerate() {
            ids[fill[c]] = i as u32;
            fill[c] += 1;
        }
        grid.starts = counts;
        grid.ids = ids;
        Ok(grid)
    }

    fn cell_xy(&self, x: f32, y: f32) -> (usize, usize) {
        let cx = ((x - self.min.0) / self.cell).floor().clamp(0.0, (self.dims.0 - 1) as f32) as usize;
        let cy = ((y - self.min.1) / self.cell).floor().clamp(0.0, (self.dims.1 - 1) as f32) as usize;
        (cx, cy)
    }

    fn cell_of(&self, x: f32, y: f32) -> usize {
        let (cx, cy) = self.cell_xy(x, y);
        cy * self.dims.0 + cx
    }

    fn bucket(&self, cx: usize, cy: usize) -> &[u32] {
        let c = cy * self.dims.0 + cx;
        &self.ids[self.starts[c]..self.starts[c + 1]]
    }

    /// The point closest to `(x, y)` and its distance; `None` for an empty layout.
    pub fn nearest_2d(&self, x: f32, y: f32) -> Option<(usize, f32)> {
        self.knn_2d(x, y, 1).into_iter().next()
    }

    /// The `k` points closest to `(x, y)`, nearest first, searching rings of cells outwards
    /// until the ring is farther away than the k-th best.
    pub fn knn_2d(&self, x: f32, y: f32, k: usize) -> Vec<(usize, f32)> {
        let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
        if k == 0 || self.ids.is_empty() || !x.is_finite() || !y.is_finite() {
            return best;
        }
        let (cx, cy) = self.cell_xy(x, y);
        let max_ring = self.dims.0.max(self.dims.1);
        for ring in 0..=max_ring {
            let (x_lo, x_hi) = (cx.saturating_sub(ring), (cx + ring).min(self.dims.0 - 1));
            let (y_lo, y_hi) = (cy.saturating_sub(ring), (cy + ring).min(self.dims.1 - 1));
            for gy in y_lo..=y_hi {
                for gx in x_lo..=x_hi {
                    let on_ring = gx + ring == cx || gx == cx + ring || gy + ring == cy || gy == cy + ring;
                    if !on_ring {
                        continue;
                    }
                    for &id in self.bucket(gx, gy) {
                        let i = id as usize;
                        let d = (self.xs[i] - x).powi(2) + (self.ys[i] - y).powi(2);
                        if best.len() < k || d < best[best.len() - 1].1 {
                            let pos = best.partition_point(|b| b.1 <= d);
                            best.insert(pos, (i, d));
                            best.truncate(k);
                        }
                    }
                }
            }
            // Every unvisited point is at least `ring * cell` away from the query.
            if best.len() == k && best[k - 1].1 <= (ring as f32 * self.cell).powi(2) {
                break;
            }
        }
        best.into_iter().map(|(i, d)| (i, d.sqrt())).collect()
    }

    /// Points inside the axis-aligned rectangle spanned by two corners (any order).
    pub fn in_rect(&self, a: (f32, f32), b: (f32, f32)) -> Vec<usize> {
        let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
        let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
        self.candidates(x0, y0, x1, y1)
            .filter(|&i| self.xs[i] >= x0 && self.xs[i] <= x1 && self.ys[i] >= y0 && self.ys[i] <= y1)
            .collect()
    }

    /// Points inside a closed polygon (lasso), by the even-odd crossing rule.
    pub fn in_polygon(&self, polygon: &[(f32, f32)]) -> Vec<usize> {
        if polygon.len() < 3 {
            return Vec::new();
        }
        let fold = polygon.iter().fold((f32::MAX, f32::MAX, f32::MIN, f32::MIN), |b, p| {
            (b.0.min(p.0), b.1.min(p.1), b.2.max(p.0), b.3.max(p.1))
        });
        self.candidates(fold.0, fold.1, fold.2, fold.3)
            .filter(|&i| point_in_polygon(self.xs[i], self.ys[i], polygon))
            .collect()
    }

    fn candidates(&self, x0: f32, y0: f32, x1: f32, y1: f32) -> impl Iterator<Item = usize> + '_ {
        let (cx0, cy0) = self.cell_xy(x0, y0);
        let (cx1, cy1) = self.cell_xy(x1, y1);
        let empty = self.ids.is_empty() || !(x0 <= x1 && y0 <= y1);
        (cy0..=cy1)
            .filter(move |_| !empty)
            .flat_map(move |gy| (cx0..=cx1).flat_map(move |gx| self.bucket(gx, gy).iter().map(|&id| id as usize)))
    }
}

fn point_in_polygon(x: f32, y: f32, poly: &[(f32, f32)]) -> bool {
    let mut inside = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (xi, yi) = poly[i];
        let (xj, yj) = poly[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}
