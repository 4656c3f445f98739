//! y = relu?(x · Wᵀ + b) as one candle op; see `dense` for why.
//!   forward   Y  = X · Wᵀ + 1·bᵀ          (N × K)·(K × O)
//!   backward  G  = dY ⊙ [Y > 0]            (the ReLU mask, from the saved output)
//!             dX = G · W                   (N × O)·(O × K)
//!             dW = Gᵀ · X                  (O × N)·(N × K)
//!             db = Σ_rows G

use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::rows_per_task;
use crate::ssl::cpu::{f32_slice, gemm_into, relu_gate, with_f32, View};

pub(super) struct LinearOp {
    pub relu: bool,
}

/// (N, K, O) from the layouts of x, W and b.
fn dims(x: &Layout, w: &Layout, b: &Layout) -> Result<(usize, usize, usize)> {
    let ((n, k), (o, wk)) = (x.shape().dims2()?, w.shape().dims2()?);
    if k != wk || b.shape().elem_count() != o {
        bail!("linear: input of {k} features for a {o}×{wk} weight and {} biases", b.shape().elem_count());
    }
    Ok((n, k, o))
}

impl CustomOp3 for LinearOp {
    fn name(&self) -> &'static str {
        "pretext-linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, k, o) = dims(l1, l2, l3)?;
        let (x, w, b) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?, f32_slice(s3, l3)?);
        let mut y = vec![0f32; n * o];
        let rows = rows_per_task(n);
        y.par_chunks_mut(rows * o).enumerate().for_each(|(t, ys)| {
            for row in ys.chunks_mut(o) {
                row.copy_from_slice(b);
            }
            let xs = &x[t * rows * k..];
            gemm_into(ys.len() / o, o, k, ys, true, View::rows(xs, k), View::cols(w, k));
            if self.relu {
                // `< 0` rather than `max`: a NaN stays NaN, so a diverged step shows in the loss.
                ys.iter_mut().for_each(|v| *v = if *v < 0.0 { 0.0 } else { *v });
            }
        });
        Ok((CpuStorage::F32(y), Shape::from((n, o))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let ((n, k), o) = (x.dims2()?, w.dim(0)?);
        let grad = grad.contiguous()?;
        let masked = match self.relu {
            true => Some(with_f32(&grad, |dy| with_f32(res, |y| Ok(relu_mask(dy, y))))?),
            false => None,
        };
        let (gx, gw, gb) = with_f32(&grad, |dy| {
            let g = masked.as_deref().unwrap_or(dy);
            with_f32(x, |xs| {
                with_f32(w, |ws| {
                    let (dx, (dw, db)) = rayon::join(
                        || x.track_op().then(|| input_grad(g, ws, n, k, o)),
                        || (w.track_op().then(|| weight_grad(g, xs, n, k, o)), b.track_op().then(|| bias_grad(g, o))),
                    );
                    Ok((dx, dw, db))
                })
            })
        })?;
        let dev = x.device();
        Ok((
            gx.map(|v| Tensor::from_vec(v, (n, k), dev)).transpose()?,
            gw.map(|v| Tensor::from_vec(v, (o, k), dev)).transpose()?,
            gb.map(|v| Tensor::from_vec(v, b.shape(), dev)).transpose()?,
        ))
    }
}

/// dY where the output passed the ReLU, 0 elsewhere.
fn relu_mask(dy: &[f32], y: &[f32]) -> Vec<f32> {
    dy.iter().zip(y).map(|(&d, &v)| relu_gate(d, v)).collect()
}

/// dX = G · W, in row blocks.
fn input_grad(g: &[f32], w: &[f32], n: usize, k: usize, o: usize) -> Vec<f32> {
    let mut dx = vec![0f32; n * k];
    let rows = rows_per_task(n);
    dx.par_chunks_mut(rows * k).enumerate().for_each(|(t, d)| {
        gemm_into(d.len() / k, k, o, d, false, View::rows(&g[t * rows * o..], o), View::rows(w, k));
    });
    dx
}

/// dW = Gᵀ · X, in blocks of output rows.
fn weight_grad(g: &[f32], x: &[f32], n: usize, k: usize, o: usize) -> Vec<f32> {
    let mut dw = vec![0f32; o * k];
    let rows = rows_per_task(o);
    dw.par_chunks_mut(rows * k).enumerate().for_each(|(t, d)| {
        gemm_into(d.len() / k, k, n, d, false, View::cols(&g[t * rows..], o), View::rows(x, k));
    });
    dw
}

/// db = Σ over rows of G (row by row, so the adds vectorise across the O columns).
fn bias_grad(g: &[f32], o: usize) -> Vec<f32> {
    let mut db = vec![0f32; o];
    for row in g.chunks_exact(o) {
        db.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
    }
    db
}
