//! NT-Xent (normalised temperature-scaled cross entropy; Chen et al. 2020, "A Simple
//! Framework for Contrastive Learning of Visual Representations") as one candle op.
//!
//! For 2n projections z (rows 0..n one view, n..2n the other), with u = z/‖z‖ and row i's
//! partner p(i) = i ± n:
//!   ℓ_ij = u_i·u_j / T (j ≠ i),   loss = mean_i [ logΣ_{j≠i} exp ℓ_ij − ℓ_{i,p(i)} ].
//! With P the row-wise softmax of ℓ (P_ii = 0) and g the upstream gradient, c = g/(2n·T):
//!   dU = c·(P + Pᵀ)·U − 2c·U_p,   dz_i = du_i/r_i − z_i·(z_i·du_i)/(r_i²·‖z_i‖),  r = ‖z‖ + 1e-8.
//!
//! Why one op: composed from candle ops the loss is about 25 tensor ops on the 2n × 2n
//! similarity matrix and as many backward, each a single-threaded pass that allocates; it was
//! ~2–3 ms of a ~12 ms MLP step. Here the similarities and dU are GEMMs over the rayon pool,
//! the softmax one parallel pass, and P is kept for the backward instead of recomputed.

use std::sync::Mutex;

use candle_core::{bail, CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor, D};
use rayon::prelude::*;

use crate::ssl::cpu::{f32_slice, gemm_into, is_cpu_f32, with_f32, View};

/// Added to each norm before dividing, as the composed version does.
const NORM_EPS: f32 = 1e-8;

/// NT-Xent of two views' projections (each n × d), as a scalar. On the CPU in f32 one op;
/// otherwise `nt_xent_composed`.
pub fn nt_xent(z1: &Tensor, z2: &Tensor, temperature: f64) -> Result<Tensor> {
    let ((n, d), (n2, d2)) = (z1.dims2()?, z2.dims2()?);
    if (n, d) != (n2, d2) || n == 0 || d == 0 {
        bail!("nt-xent: views of {n}×{d} and {n2}×{d2}; both must be the same, non-empty");
    }
    if !(temperature > 0.0) {
        bail!("nt-xent: temperature must be positive, got {temperature}");
    }
    if !is_cpu_f32(z1) || !is_cpu_f32(z2) {
        return nt_xent_composed(z1, z2, temperature);
    }
    let z = Tensor::cat(&[z1, z2], 0)?.contiguous()?;
    z.apply_op1(NtXentOp { n, inv_t: (1.0 / temperature) as f32, saved: Mutex::new(None) })
}

/// The same loss from candle ops (the reference the op is tested against; any device).
pub fn nt_xent_composed(z1: &Tensor, z2: &Tensor, temperature: f64) -> Result<Tensor> {
    let n = z1.dim(0)?;
    let z = Tensor::cat(&[z1, z2], 0)?;
    let z = z.broadcast_div(&(z.sqr()?.sum_keepdim(D::Minus1)?.sqrt()? + NORM_EPS as f64)?)?;
    let logits = (z.matmul(&z.t()?)? / temperature)?;
    // Self-similarity out of the softmax: exp of this offset underflows to exactly 0.
    let eye = Tensor::eye(2 * n, DType::F32, z.device())?;
    let logits = (logits - (eye * 1e4)?)?;
    let max = logits.max_keepdim(1)?.detach();
    let lse = (logits.broadcast_sub(&max)?.exp()?.sum_keepdim(1)?.log()? + &max)?.squeeze(1)?;
    let (a, b) = (z.narrow(0, 0, n)?, z.narrow(0, n, n)?);
    let pos = ((a * b)?.sum(1)? / temperature)?;
    let pos = Tensor::cat(&[&pos, &pos], 0)?;
    (lse - pos)?.mean_all()
}

struct NtXentOp {
    n: usize,
    inv_t: f32,
    saved: Mutex<Option<Saved>>,
}

/// What the backward pass needs: the unit rows, the norms, and the softmax.
struct Saved {
    u: Vec<f32>,
    norm: Vec<f32>,
    p: Vec<f32>,
}

fn poisoned() -> candle_core::Error {
    candle_core::Error::Msg("nt-xent state poisoned".into())
}

/// Rows per rayon task over an m-row pass (one block per worker).
fn rows_per_task(m: usize) -> usize {
    m.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

impl CustomOp1 for NtXentOp {
    fn name(&self) -> &'static str {
        "pretext-nt-xent"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (m, d) = l.shape().dims2()?;
        if m != 2 * self.n {
            bail!("nt-xent: {m} rows for two views of {}", self.n);
        }
        let z = f32_slice(s, l)?;
        let norm: Vec<f32> = z.chunks_exact(d).map(|r| r.iter().map(|v| v * v).sum::<f32>().sqrt()).collect();
        let mut u = z.to_vec();
        u.chunks_exact_mut(d).zip(&norm).for_each(|(r, &nz)| r.iter_mut().for_each(|v| *v /= nz + NORM_EPS));
        let rows = rows_per_task(m);
        let mut p = vec![0f32; m * m];
        // Similarities U·Uᵀ, then each row turned into its softmax in place.
        let row_losses: Vec<f64> = p
            .par_chunks_mut(rows * m)
            .enumerate()
            .map(|(t, ps)| {
                let first = t * rows;
                gemm_into(ps.len() / m, m, d, ps, false, View::rows(&u[first * d..], d), View::cols(&u, d));
                ps.chunks_exact_mut(m).enumerate().map(|(j, row)| self.softmax_row(first + j, row) as f64).sum()
            })
            .collect();
        let loss = row_losses.iter().sum::<f64>() / m as f64;
        *self.saved.lock().map_err(|_| poisoned())? = Some(Saved { u, norm, p });
        Ok((CpuStorage::F32(vec![loss as f32]), Shape::from(())))
    }

    fn bwd(&self, z: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let guard = self.saved.lock().map_err(|_| poisoned())?;
        let Some(s) = guard.as_ref() else { bail!("nt-xent: backward before forward") };
        let (m, d) = z.dims2()?;
        let g = grad.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let Some(&g) = g.first() else { bail!("nt-xent: empty upstream gradient") };
        let c = g / m as f32 * self.inv_t;
        let rows = rows_per_task(m);
        let mut dz = vec![0f32; m * d];
        with_f32(z, |zs| {
            dz.par_chunks_mut(rows * d).enumerate().for_each(|(t, dzs)| {
                let (first, count) = (t * rows, dzs.len() / d);
                // (P + Pᵀ)·U for this block of rows: Pᵀ is P read column-wise.
                gemm_into(count, d, m, dzs, false, View::rows(&s.p[first * m..], m), View::rows(&s.u, d));
                gemm_into(count, d, m, dzs, true, View::cols(&s.p[first..], m), View::rows(&s.u, d));
                for (j, du) in dzs.chunks_exact_mut(d).enumerate() {
                    let i = first + j;
                    let partner = &s.u[self.partner(i) * d..][..d];
                    du.iter_mut().zip(partner).for_each(|(v, &up)| *v = c * *v - 2.0 * c * up);
                    // Through u = z / (‖z‖ + ε).
                    let (zi, nz) = (&zs[i * d..][..d], s.norm[i]);
                    let r = nz + NORM_EPS;
                    let dot: f32 = zi.iter().zip(du.iter()).map(|(a, b)| a * b).sum();
                    let k = if nz > 0.0 { dot / (r * r * nz) } else { 0.0 };
                    du.iter_mut().zip(zi).for_each(|(v, &zv)| *v = *v / r - zv * k);
                }
            });
            Ok(())
        })?;
        Ok(Some(Tensor::from_vec(dz, (m, d), z.device())?))
    }
}

impl NtXentOp {
    fn partner(&self, i: usize) -> usize {
        if i < self.n { i + self.n } else { i - self.n }
    }

    /// Row i of the similarities becomes its softmax over j ≠ i (P_ii = 0); returns row i's
    /// loss, logΣexp − the partner's logit. Each pass is a plain loop over the row (eight
    /// lanes for the reductions), so all of them vectorise.
    fn softmax_row(&self, i: usize, row: &mut [f32]) -> f32 {
        row.iter_mut().for_each(|v| *v *= self.inv_t);
        row[i] = f32::NEG_INFINITY;
        let max = lanes(row, f32::NEG_INFINITY, |a, b| if b > a { b } else { a });
        let pos = row[self.partner(i)];
        row.iter_mut().for_each(|v| *v = exp(*v - max));
        row[i] = 0.0;
        let sum = lanes(row, 0.0, |a, b| a + b);
        let inv = 1.0 / sum;
        row.iter_mut().for_each(|v| *v *= inv);
        max + sum.ln() - pos
    }
}

/// A reduction over eight interleaved lanes, then across them.
fn lanes(v: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; 8];
    let mut chunks = v.chunks_exact(8);
    for ch in &mut chunks {
        for k in 0..8 {
            acc[k] = f(acc[k], ch[k]);
        }
    }
    let tail = chunks.remainder().iter().fold(init, |a, &b| f(a, b));
    acc.iter().fold(tail, |a, &b| f(a, b))
}

/// eˣ to within about 2 ulp, in straight-line arithmetic the compiler vectorises (libm's
/// `expf` is a call per value, and the 2n × 2n exponentials were a third of the loss):
/// x = k·ln2 + r with |r| ≤ ln2/2 (Cody & Waite's two-part ln2), eʳ by its degree-6 Taylor
/// polynomial (truncation < 1.3e-7 relative), 2ᵏ built in the exponent bits. Inputs below
/// −87 give ~1e-38 instead of 0, negligible next to the row maximum's e⁰ = 1.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and removing 1.5·2²³ rounds to the nearest integer without a rounding instruction.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let k = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((k as i32 + 127) << 23) as u32)
}

#[cfg(test)]
mod tests {
    use crate::ssl::cpu::{reference_ops_agree, with_reference_ops};
    use candle_core::{Device, Var};

    #[test]
    fn nt_xent_matches_its_candle_ops_path() {
        let view = |seed: f32| {
            let v: Vec<f32> = (0..6 * 5).map(|i| ((i as f32 * 0.618 + seed) * 12.9898).sin()).collect();
            Var::from_vec(v, (6, 5), &Device::Cpu).expect("a view")
        };
        let (a, b) = (view(0.2), view(0.9));
        let run = || super::nt_xent(a.as_tensor(), b.as_tensor(), 0.5);
        let (fused, reference) = (run().expect("fused"), with_reference_ops(run).expect("reference"));
        reference_ops_agree(&fused, &reference, &[&a, &b], 1e-4);
    }
}
