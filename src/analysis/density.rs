//! Density contours of a 2D layout, as Embedding Atlas draws them over its maps: the points
//! are binned on a grid, smoothed with a Gaussian kernel (a binned kernel density estimate),
//! and the iso-lines at a few fractions of the peak density are traced by marching squares
//! (Lorensen & Cline 1987, in its 2D form), with the saddle cells resolved by the value at
//! the cell's centre.

/// Grid size, smoothing and levels of [`density_contours`].
#[derive(Debug, Clone, PartialEq)]
pub struct ContourParams {
    /// Cells along each axis.
    pub grid: usize,
    /// Standard deviation of the smoothing kernel, in cells.
    pub bandwidth: f32,
    /// Iso-levels as fractions of the peak density, each in (0, 1).
    pub levels: Vec<f32>,
}

impl Default for ContourParams {
    fn default() -> Self {
        Self { grid: 128, bandwidth: 2.0, levels: vec![0.08, 0.25, 0.6] }
    }
}

/// One iso-line set per level: unordered line segments in layout coordinates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DensityContours {
    pub levels: Vec<f32>,
    pub segments: Vec<Vec<[[f32; 2]; 2]>>,
}

/// Contours of the density of `points` (non-finite points are ignored).
pub fn density_contours(points: &[[f32; 2]], params: &ContourParams) -> DensityContours {
    let mut out = DensityContours { levels: params.levels.clone(), segments: vec![Vec::new(); params.levels.len()] };
    let finite: Vec<[f32; 2]> = points.iter().copied().filter(|p| p[0].is_finite() && p[1].is_finite()).collect();
    let g = params.grid.max(4);
    if finite.len() < 2 {
        return out;
    }
    let Some(frame) = Frame::around(&finite, g, params.bandwidth.max(0.5)) else { return out };
    let density = smooth(&frame.histogram(&finite), g, params.bandwidth.max(0.5));
    let peak = density.iter().copied().fold(0f32, f32::max);
    if peak <= 0.0 {
        return out;
    }
    for (level, segments) in params.levels.iter().zip(out.segments.iter_mut()) {
        *segments = march(&density, g, level * peak).into_iter().map(|s| s.map(|p| frame.to_layout(p))).collect();
    }
    out
}

/// Where the grid sits in layout coordinates: cell centres at `origin + (i + 0.5) · cell`.
struct Frame {
    origin: [f32; 2],
    cell: [f32; 2],
    grid: usize,
}

impl Frame {
    /// A grid over the points (their outermost 0.5 % on each side ignored, so one far outlier
    /// does not flatten everything), padded by three kernel widths so contours close.
    fn around(points: &[[f32; 2]], grid: usize, bandwidth: f32) -> Option<Self> {
        let (mut lo, mut hi) = ([0f32; 2], [0f32; 2]);
        for k in 0..2 {
            let mut axis: Vec<f32> = points.iter().map(|p| p[k]).collect();
            let cut = axis.len() / 200;
            let last = axis.len() - 1 - cut;
            lo[k] = *axis.select_nth_unstable_by(cut, f32::total_cmp).1;
            hi[k] = *axis.select_nth_unstable_by(last, f32::total_cmp).1;
        }
        let pad = 3.0 * bandwidth + 1.0;
        let mut cell = [0f32; 2];
        for k in 0..2 {
            let span = (hi[k] - lo[k]).max(1e-6);
            cell[k] = span / (grid as f32 - 2.0 * pad).max(1.0);
            lo[k] -= pad * cell[k];
        }
        (cell[0] > 0.0 && cell[1] > 0.0).then_some(Self { origin: lo, cell, grid })
    }

    fn histogram(&self, points: &[[f32; 2]]) -> Vec<f32> {
        let g = self.grid;
        let mut counts = vec![0f32; g * g];
        for p in points {
            let i = ((p[0] - self.origin[0]) / self.cell[0]).floor();
            let j = ((p[1] - self.origin[1]) / self.cell[1]).floor();
            if i >= 0.0 && j >= 0.0 && (i as usize) < g && (j as usize) < g {
                counts[j as usize * g + i as usize] += 1.0;
            }
        }
        counts
    }

    /// Grid coordinates (in cells, centres at integers) to layout coordinates.
    fn to_layout(&self, p: [f32; 2]) -> [f32; 2] {
        [self.origin[0] + (p[0] + 0.5) * self.cell[0], self.origin[1] + (p[1] + 0.5) * self.cell[1]]
    }
}

/// Separable Gaussian smoothing of a `g × g` row-major grid (zero outside).
fn smooth(grid: &[f32], g: usize, sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius).map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let pass = |src: &[f32], along_rows: bool| {
        let mut dst = vec![0f32; g * g];
        for a in 0..g {
            for b in 0..g {
                let mut sum = 0.0;
                for (t, w) in kernel.iter().enumerate() {
                    let c = b as isize + t as isize - radius;
                    if c < 0 || c >= g as isize {
                        continue;
                    }
                    let idx = if along_rows { a * g + c as usize } else { c as usize * g + a };
                    sum += w * src[idx];
                }
                dst[if along_rows { a * g + b } else { b * g + a }] = sum;
            }
        }
        dst
    };
    pass(&pass(grid, true), false)
}

/// Marching squares over the grid at `level`: segments in grid coordinates. Cell corners are
/// a (i, j), b (i+1, j), c (i+1, j+1), d (i, j+1); edges 0 = ab, 1 = bc, 2 = dc, 3 = ad.
fn march(f: &[f32], g: usize, level: f32) -> Vec<[[f32; 2]; 2]> {
    let at = |i: usize, j: usize| f[j * g + i];
    let mut segments = Vec::new();
    for j in 0..g - 1 {
        for i in 0..g - 1 {
            let (a, b, c, d) = (at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j + 1));
            let case = (a > level) as u8 | ((b > level) as u8) << 1 | ((c > level) as u8) << 2 | ((d > level) as u8) << 3;
            if case == 0 || case == 15 {
                continue;
            }
            let t = |u: f32, v: f32| if (v - u).abs() > f32::EPSILON { ((level - u) / (v - u)).clamp(0.0, 1.0) } else { 0.5 };
            let (x, y) = (i as f32, j as f32);
            let edge = |e: u8| match e {
                0 => [x + t(a, b), y],
                1 => [x + 1.0, y + t(b, c)],
                2 => [x + t(d, c), y + 1.0],
                _ => [x, y + t(a, d)],
            };
            let centre_above = (a + b + c + d) / 4.0 > level;
            let pairs: &[(u8, u8)] = match case {
                1 | 14 => &[(3, 0)],
                2 | 13 => &[(0, 1)],
                3 | 12 => &[(3, 1)],
                4 | 11 => &[(1, 2)],
                6 | 9 => &[(0, 2)],
                7 | 8 => &[(2, 3)],
                5 if centre_above => &[(0, 1), (2, 3)],
                5 => &[(3, 0), (1, 2)],
                10 if centre_above => &[(3, 0), (1, 2)],
                _ => &[(0, 1), (2, 3)],
            };
            segments.extend(pairs.iter().map(|&(p, q)| [edge(p), edge(q)]));
        }
    }
    segments
}
