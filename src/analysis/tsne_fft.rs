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
}

impl Default for FftRepulsion {
    fn default() -> Self {
        Self { planner: FftPlanner::new() }
    }
}

impl FftRepulsion {
    /// Writes `Σ_j K(y_i, y_j)(y_i − y_j)` per point into `force` (n × 2) and returns `Z`.
    pub fn forces(&mut self, y: &[f32], force: &mut [f64]) -> f64 {
        let n = y.len() / 2;
        let (lo, hi) = y.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let (lo, hi) = (lo as f64, (hi as f64).max(lo as f64 + 1e-6));
        let boxes = smooth_size(((hi - lo).ceil() as usize).clamp(MIN_BOXES, MAX_BOXES));
        let width = (hi - lo) / boxes as f64 * (1.0 + 1e-9);
        let side = boxes * NODES;
        let m = 2 * side;
        let spacing = width / NODES as f64;
        let fwd = self.planner.plan_fft_forward(m);
        let inv = self.planner.plan_fft_inverse(m);

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
        let spread = |which: usize| {
            let mut g = vec![Complex::new(0.0, 0.0); m * m];
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
            g
        };
        let ((mut ga, mut gb), kernel_hat) = rayon::join(
            || rayon::join(|| spread(0), || spread(1)),
            || {
                fft2_forward(&mut kernel, &fwd, m, m);
                kernel
            },
        );
        rayon::join(
            || convolve(&mut ga, &kernel_hat, &fwd, &inv, m, side),
            || convolve(&mut gb, &kernel_hat, &fwd, &inv, m, side),
        );

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

fn transpose(src: &[Complex<f64>], dst: &mut [Complex<f64>], m: usize) {
    const T: usize = 32;
    for rb in (0..m).step_by(T) {
        for cb in (0..m).step_by(T) {
            for r in rb..(rb + T).min(m) {
                for c in cb..(cb + T).min(m) {
                    dst[c * m + r] = src[r * m + c];
                }
            }
        }
    }
}

fn rows_fft(buf: &mut [Complex<f64>], plan: &Arc<dyn Fft<f64>>, m: usize, rows: usize) {
    buf[..rows * m].par_chunks_mut(m * 32).for_each(|chunk| plan.process(chunk));
}

/// Forward 2D FFT of a grid whose rows beyond `nonzero_rows` are zero; the result is left
/// transposed (column-major), which is fine as long as every spectrum is.
fn fft2_forward(buf: &mut Vec<Complex<f64>>, plan: &Arc<dyn Fft<f64>>, m: usize, nonzero_rows: usize) {
    rows_fft(buf, plan, m, nonzero_rows);
    let mut t = vec![Complex::new(0.0, 0.0); m * m];
    transpose(buf, &mut t, m);
    rows_fft(&mut t, plan, m, m);
    *buf = t;
}

/// Circular convolution with the kernel spectrum; only the top-left `side × side` block of
/// the result is meaningful (and valid, thanks to the zero padding).
fn convolve(
    g: &mut Vec<Complex<f64>>,
    kernel_hat: &[Complex<f64>],
    fwd: &Arc<dyn Fft<f64>>,
    inv: &Arc<dyn Fft<f64>>,
    m: usize,
    side: usize,
) {
    fft2_forward(g, fwd, m, side);
    let scale = 1.0 / (m * m) as f64;
    g.par_iter_mut().zip(kernel_hat.par_iter()).for_each(|(v, k)| *v *= *k * scale);
    rows_fft(g, inv, m, m);
    let mut t = vec![Complex::new(0.0, 0.0); m * m];
    transpose(g, &mut t, m);
    rows_fft(&mut t, inv, m, side);
    *g = t;
}
