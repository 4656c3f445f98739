//! t-SNE repulsive forces by the Barnes-Hut approximation (van der Maaten 2014): a quadtree
//! over the layout, and any cell that looks small from a point (`width / distance < θ`)
//! acts as one body of its points' total count at their centre of mass.
//!
//! The tree is rebuilt every iteration by partitioning an index array in place, so each
//! cell's points are one contiguous range (no per-node allocation); forces are summed per
//! point in parallel.

use rayon::prelude::*;

/// Points per leaf; below this, direct sums beat descending further.
const LEAF: usize = 8;
/// Depth cap, so that coincident points end in one leaf instead of splitting forever.
const MAX_DEPTH: usize = 32;

struct Cell {
    /// Centre of mass and number of points.
    cx: f64,
    cy: f64,
    count: f64,
    /// Side length of the square cell.
    width: f64,
    /// Children (`first..first + 4` in `QuadTree::cells`), or none for a leaf.
    first_child: Option<u32>,
    /// The cell's points: `order[start..end]`.
    start: u32,
    end: u32,
}

pub struct QuadTree {
    cells: Vec<Cell>,
    order: Vec<u32>,
}

impl QuadTree {
    pub fn build(y: &[f32]) -> Self {
        let n = y.len() / 2;
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in y.chunks_exact(2) {
            for d in 0..2 {
                lo[d] = lo[d].min(p[d] as f64);
                hi[d] = hi[d].max(p[d] as f64);
            }
        }
        let width = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1e-9) * (1.0 + 1e-9);
        let mut tree = QuadTree { cells: Vec::with_capacity(2 * n / LEAF + 1), order: (0..n as u32).collect() };
        tree.cells.push(Cell { cx: 0.0, cy: 0.0, count: 0.0, width, first_child: None, start: 0, end: n as u32 });
        tree.split(0, y, lo, 0);
        tree
    }

    /// Fills in cell `c` (corner `lo`), splitting it into quadrants while it is large.
    fn split(&mut self, c: usize, y: &[f32], lo: [f64; 2], depth: usize) {
        let (start, end, width) = (self.cells[c].start as usize, self.cells[c].end as usize, self.cells[c].width);
        let (mut sx, mut sy) = (0.0, 0.0);
        for &i in &self.order[start..end] {
            sx += y[2 * i as usize] as f64;
            sy += y[2 * i as usize + 1] as f64;
        }
        let count = (end - start) as f64;
        let cell = &mut self.cells[c];
        (cell.cx, cell.cy, cell.count) = (sx / count.max(1.0), sy / count.max(1.0), count);
        if end - start <= LEAF || depth >= MAX_DEPTH {
            return;
        }
        let half = width / 2.0;
        let mid = [lo[0] + half, lo[1] + half];
        let quadrant = |i: u32| {
            let (x, yy) = (y[2 * i as usize] as f64, y[2 * i as usize + 1] as f64);
            usize::from(x >= mid[0]) + 2 * usize::from(yy >= mid[1])
        };
        // Two in-place partitions: by y (bottom half first), then each half by x.
        let slice = &mut self.order[start..end];
        let top = partition(slice, |i| quadrant(i) >= 2);
        let (bottom, upper) = slice.split_at_mut(top);
        let b_right = partition(bottom, |i| quadrant(i) % 2 == 1);
        let u_right = partition(upper, |i| quadrant(i) % 2 == 1);
        let bounds = [start, start + b_right, start + top, start + top + u_right, end];
        let first = self.cells.len();
        self.cells[c].first_child = Some(first as u32);
        for q in 0..4 {
            self.cells.push(Cell {
                cx: 0.0,
                cy: 0.0,
                count: 0.0,
                width: half,
                first_child: None,
                start: bounds[q] as u32,
                end: bounds[q + 1] as u32,
            });
        }
        for q in 0..4 {
            let corner = [lo[0] + half * (q % 2) as f64, lo[1] + half * (q / 2) as f64];
            if bounds[q + 1] > bounds[q] {
                self.split(first + q, y, corner, depth + 1);
            }
        }
    }

    /// `Σ_j K(y_i, y_j)(y_i − y_j)` and `Σ_j q_ij` for point `i`, `K = q² = (1 + d²)^−2`.
    fn point_forces(&self, i: usize, y: &[f32], theta_sq: f64, stack: &mut Vec<u32>) -> ([f64; 2], f64) {
        let (xi, yi) = (y[2 * i] as f64, y[2 * i + 1] as f64);
        let (mut force, mut z) = ([0.0f64; 2], 0.0f64);
        stack.clear();
        stack.push(0);
        while let Some(c) = stack.pop() {
            let cell = &self.cells[c as usize];
            if cell.count == 0.0 {
                continue;
            }
            let (dx, dy) = (xi - cell.cx, yi - cell.cy);
            let d2 = dx * dx + dy * dy;
            match cell.first_child {
                Some(first) if cell.width * cell.width >= theta_sq * d2 => stack.extend(first..first + 4),
                Some(_) => {
                    let q = 1.0 / (1.0 + d2);
                    z += cell.count * q;
                    force[0] += cell.count * q * q * dx;
                    force[1] += cell.count * q * q * dy;
                }
                None => {
                    for &j in &self.order[cell.start as usize..cell.end as usize] {
                        if j as usize == i {
                            continue;
                        }
                        let (dx, dy) = (xi - y[2 * j as usize] as f64, yi - y[2 * j as usize + 1] as f64);
                        let q = 1.0 / (1.0 + dx * dx + dy * dy);
                        z += q;
                        force[0] += q * q * dx;
                        force[1] += q * q * dy;
                    }
                }
            }
        }
        (force, z)
    }
}

/// Moves the items for which `right` holds to the end; returns how many stayed in front.
fn partition(items: &mut [u32], right: impl Fn(u32) -> bool) -> usize {
    let mut front = 0;
    for k in 0..items.len() {
        if !right(items[k]) {
            items.swap(front, k);
            front += 1;
        }
    }
    front
}

/// Writes `Σ_j K(y_i, y_j)(y_i − y_j)` per point into `force` (n × 2) and returns `Z`, the
/// same contract as the FFT method, with opening angle `theta` (0 = exact).
pub fn forces(y: &[f32], theta: f64, force: &mut [f64]) -> f64 {
    let tree = QuadTree::build(y);
    let theta_sq = theta * theta;
    force
        .par_chunks_mut(2)
        .enumerate()
        .map_init(Vec::new, |stack, (i, f)| {
            let (fi, zi) = tree.point_forces(i, y, theta_sq, stack);
            f.copy_from_slice(&fi);
            zi
        })
        .sum()
}
