//! t-SNE repulsive forces by polynomial interpolation on an equispaced grid and FFT
//! convolution (FIt-SNE, Linderman et al. 2019, as used by openTSNE).
//!
//! With `K(y_i, y_j) = (1 + |y_i − y_j|²)^−2`, four potentials
//! `φ_c(i) = Σ_j K(y_i, y_j) q_c(j)` for charges `q = (1, x, y, x² + y²)` give both the
//! repulsive force `Σ_j K (y_i − y_j) = y_i φ_0 − (φ_1, φ_2)` and the normaliser
//! `Z = Σ_i [(1 + |y_i|²) φ_0 − 2 y_i·(φ_1, φ_2) + φ_3] − n`. Charges are spread to 3×3
//! Lagrange nodes per grid box, convolved with the kernel by FFT, and read back the same way.
//! Since the kernel is real and even, two real charge grids travel as one complex grid.

use std::sync::Arc;

use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

const NODES: usize = 3;
const MIN_BOXES: usize = 50;
/// Beyond this the boxes just get wider than one unit: bounded memory (the grid is
/// (2·3·boxes)² complex values) if a layout spreads out unusually far.
const MAX_BOXES: usize = 200;

pub struct FftRepulsion {
    planner: FftPlanner<f64>,
    /// Kernel spectrum for the last (grid size, node spacing): the spacing is quantised so
    /// that it stays the same for many iterations and the kernel FFT is skipped.
    kernel: Option<(usize, u64, Vec<Complex<f64>>)>,
    grids: [Vec<Complex<f64>>; 2],
    scratch: [Vec<Complex<f64>>; 2],
}

impl Default for FftRepulsion {
    fn default() -> Self {
        Self { planner: FftPlanner::new(), kernel: None, grids: Default::default(), scratch: Default::default() }
    }
}

impl FftRepulsion {
    /// Writes `Σ_j K(y_i, y_j)(y_i − y_j)` per point into `force` (n × 2) and returns `Z`.
    pub fn forces(&mut self, y: &[f32], force: &mut [f64]) -> f64 {
        let n = y.len() / 2;
        let (lo, hi) = y.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let (lo, hi) = (lo as f64, (hi as f64).max(lo as f64 + 1e-6));
        // Box width: one unit once the layout spans MIN_BOXES units (openTSNE's one interval
        // per unit), else span / MIN_BOXES rounded up to a power of 2^(1/8).
        let width = if hi - lo >= MIN_BOXES as f64 {
            1.0
        } else {
            2f64.powf((8.0 * ((hi - lo) / MIN_BOXES as f64).log2()).ceil() / 8.0)
        };
        let needed = ((hi - lo) / width).ceil() as usize + 1;
        let boxes = smooth_size(needed.clamp(MIN_BOXES, MAX_BOXES));
        let width = width.max((hi - lo) / boxes as f64 * (1.0 + 1e-9));
        let side = boxes * NODES;
        let m = 2 * side;
        let spacing = width / NODES as f64;
        let fwd = self.planner.plan_fft_forward(m);
        let inv = self.planner.plan_fft_inverse(m);

        let key = spacing.to_bits();
        if !matches!(&self.kernel, Some((km, kk, _)) if *km == m && *kk == key) {
            // Kernel between nodes at every offset, embedded circulantly in the m × m grid.
            let mut kernel = vec![Complex::new(0.0, 0.0); m * m];
            for a in 0..side {
                for b in 0..side {
                    let d2 = ((a * a + b * b) as f64) * spacing * spacing;
                    let k = Complex::new(1.0 / (1.0 + d2).powi(2), 0.0);
                    for (r, c) in [(a, b), ((m - a) % m, b), (a, (m - b) % m), ((m - a) % m, (m - b) % m)] {
                        kernel[r * m + c] = k;
                    }
                }
            }
            let mut t = vec![Complex::new(0.0, 0.0); m * m];
            fft2_forward(&mut kernel, &mut t, &fwd, m, m);
            self.kernel = Some((m, key, t));
        }
        let kernel_hat = match &self.kernel {
            Some((_, _, k)) => k,
            None => return 0.0,
        };

        // Box and Lagrange weights of each point.
        let place: Vec<([usize; 2], [[f64; NODES]; 2])> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut cell = [0usize; 2];
                let mut w = [[0.0; NODES]; 2];
                for d in 0..2 {
                    let t = (y[2 * i + d] as f64 - lo) / width;
                    let b = (t.floor() as usize).min(boxes - 1);
                    cell[d] = b;
                    w[d] = lagrange(t - b as f64);
                }
                (cell, w)
            })
            .collect();

        // Spread: grid A carries charges 0 (re) and 1 (im), grid B charges 2 and 3.
        let spread = |which: usize, g: &mut Vec<Complex<f64>>| {
            g.clear();
            g.resize(m * m, Complex::new(0.0, 0.0));
            for (i, (cell, w)) in place.iter().enumerate() {
                let (x, yy) = (y[2 * i] as f64, y[2 * i + 1] as f64);
                let q = if which == 0 { Complex::new(1.0, x) } else { Complex::new(yy, x * x + yy * yy) };
                for jy in 0..NODES {
                    let row = (cell[1] * NODES + jy) * m + cell[0] * NODES;
                    for jx in 0..NODES {
                        g[row + jx] += q * (w[0][jx] * w[1][jy]);
                    }
                }
            }
        };
        let [ga, gb] = &mut self.grids;
        let [ta, tb] = &mut self.scratch;
        rayon::join(
            || {
                spread(0, ga);
                convolve(ga, ta, kernel_hat, &fwd, &inv, m, side)
            },
            || {
                spread(1, gb);
                convolve(gb, tb, kernel_hat, &fwd, &inv, m, side)
            },
        );
        let (ga, gb) = (&self.grids[0], &self.grids[1]);

        // Interpolate potentials back and assemble forces and Z.
        let z_parts: f64 = force
            .par_chunks_mut(2)
            .zip(place.par_iter())
            .enumerate()
            .map(|(i, (f, (cell, w)))| {
                let (mut pa, mut pb) = (Complex::new(0.0, 0.0), Complex::new(0.0, 0.0));
                for jy in 0..NODES {
                    let row = (cell[1] * NODES + jy) * m + cell[0] * NODES;
                    for jx in 0..NODES {
                        let wt = w[0][jx] * w[1][jy];
                        pa += ga[row + jx] * wt;
                        pb += gb[row + jx] * wt;
                    }
                }
                let (phi0, phi1, phi2, phi3) = (pa.re, pa.im, pb.re, pb.im);
                let (x, yy) = (y[2 * i] as f64, y[2 * i + 1] as f64);
                f[0] = x * phi0 - phi1;
                f[1] = yy * phi0 - phi2;
                (1.0 + x * x + yy * yy) * phi0 - 2.0 * (x * phi1 + yy * phi2) + phi3
            })
            .sum();
        (z_parts - n as f64).max(1e-12)
    }
}

/// Lagrange basis weights at `u ∈ [0, 1]` for nodes at the centres of `NODES` equal sub-boxes.
fn lagrange(u: f64) -> [f64; NODES] {
    let node = |j: usize| (j as f64 + 0.5) / NODES as f64;
    let mut w = [1.0; NODES];
    for (j, wj) in w.iter_mut().enumerate() {
        for k in 0..NODES {
            if k != j {
                *wj *= (u - node(k)) / (node(j) - node(k));
            }
        }
    }
    w
}

/// The next box count whose FFT length (2·3·boxes) factors into 2, 3 and 5 only.
fn smooth_size(min: usize) -> usize {
    (min..).find(|&b| {
        let mut v = b;
        for p in [2, 3, 5] {
            while v % p == 0 {
                v /= p;
            }
        }
        v == 1
    })
    .unwrap_or(min)
}

/// `dst[c][r] = src[r][c]` for the first `rows` rows of `src` (m × m, row-major); the rest
/// of `dst` is zeroed, as the skipped rows are zero.
fn transpose_rows(src: &[Complex<f64>], dst: &mut Vec<Complex<f64>>, m: usize, rows: usize) {
    const T: usize = 16;
    dst.clear();
    dst.resize(m * m, Complex::new(0.0, 0.0));
    dst.par_chunks_mut(m * T).enumerate().for_each(|(cb, block)| {
        let c0 = cb * T;
        for rb in (0..rows).step_by(T) {
            for (dc, out) in block.chunks_mut(m).enumerate() {
                let c = c0 + dc;
                for r in rb..(rb + T).min(rows) {
                    out[r] = src[r * m + c];
                }
            }
        }
    });
}

fn rows_fft(buf: &mut [Complex<f64>], plan: &Arc<dyn Fft<f64>>, m: usize, rows: usize) {
    buf[..rows * m].par_chunks_mut(m * 32).for_each(|chunk| plan.process(chunk));
}

/// Forward 2D FFT of `buf` (only its first `nonzero_rows` rows non-zero) into `out`, left
/// transposed (column-major), which is fine as long as every spectrum is.
fn fft2_forward(buf: &mut [Complex<f64>], out: &mut Vec<Complex<f64>>, plan: &Arc<dyn Fft<f64>>, m: usize, nonzero_rows: usize) {
    rows_fft(buf, plan, m, nonzero_rows);
    transpose_rows(buf, out, m, nonzero_rows);
    rows_fft(out, plan, m, m);
}

/// Circular convolution with the kernel spectrum, result back in `g`; only the top-left
/// `side × side` block is meaningful (and exact, thanks to the zero padding).
fn convolve(
    g: &mut Vec<Complex<f64>>,
    t: &mut Vec<Complex<f64>>,
    kernel_hat: &[Complex<f64>],
    fwd: &Arc<dyn Fft<f64>>,
    inv: &Arc<dyn Fft<f64>>,
    m: usize,
    side: usize,
) {
    fft2_forward(g, t, fwd, m, side);
    let scale = 1.0 / (m * m) as f64;
    t.par_iter_mut().zip(kernel_hat.par_iter()).for_each(|(v, k)| *v *= *k * scale);
    rows_fft(t, inv, m, m);
    // Back to row-major: only the first `side` rows of the result are needed.
    transpose_rows_back(t, g, m, side);
    rows_fft(g, inv, m, side);
}

/// `dst[r][c] = src[c][r]` for `r < rows` and every `c`: the inverse of [`transpose_rows`].
fn transpose_rows_back(src: &[Complex<f64>], dst: &mut Vec<Complex<f64>>, m: usize, rows: usize) {
    const T: usize = 16;
    dst.resize(m * m, Complex::new(0.0, 0.0));
    dst[..rows * m].par_chunks_mut(m * T).enumerate().for_each(|(rb, block)| {
        let r0 = rb * T;
        for cb in (0..m).step_by(T) {
            for (dr, out) in block.chunks_mut(m).enumerate() {
                let r = r0 + dr;
                for c in cb..(cb + T).min(m) {
                    out[c] = src[c * m + r];
                }
            }
        }
    });
}
