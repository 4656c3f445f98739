//! The three convolution passes as im2col + GEMM over whole batches of slices (NCHW,
//! contiguous). Work is spread over the current rayon pool; each GEMM is single-threaded.
//!
//! Small feature maps make thin GEMMs (7×7 outputs: 49 columns), which run far below the
//! kernel's peak, so images are taken in groups whose patch matrices sit side by side:
//! one GEMM with G·Ho·Wo columns instead of G thin ones.

use rayon::prelude::*;

use super::kernels::{col2im, im2col, Geom};
use crate::ssl::cpu::{gemm_into, View};

/// Columns a grouped GEMM should reach; beyond this, wider buys little.
const TARGET_COLS: usize = 256;
const MAX_GROUP: usize = 16;

/// Images per group.
fn group(g: &Geom) -> usize {
    TARGET_COLS.div_ceil(g.howo().max(1)).clamp(1, MAX_GROUP)
}

/// Y (N × O × Ho·Wo) = W · cols(X_n) for every image.
pub(super) fn forward(g: &Geom, x: &[f32], w: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; g.n * g.out_len()];
    forward_into(g, x, w, &mut out);
    out
}

/// `forward` into a caller's buffer of N·O·Ho·Wo values.
pub(super) fn forward_into(g: &Geom, x: &[f32], w: &[f32], out: &mut [f32]) {
    let (ckk, howo, gs) = (g.ckk(), g.howo(), group(g));
    out.par_chunks_mut(g.out_len() * gs).enumerate().for_each_init(
        || (vec![0f32; ckk * howo * gs], vec![0f32; g.o * howo * gs]),
        |(cols, prod), (t, ys)| {
            let (imgs, first) = (ys.len() / g.out_len(), t * gs);
            let ld = imgs * howo;
            for j in 0..imgs {
                im2col(g, &x[(first + j) * g.in_len()..][..g.in_len()], &mut cols[j * howo..], ld);
            }
            let colv = View { data: cols, rs: ld as isize, cs: 1 };
            if imgs == 1 {
                // One image: the product already is its O × HoWo output; no copy.
                gemm_into(g.o, ld, ckk, ys, false, View::rows(w, ckk), colv);
                return;
            }
            gemm_into(g.o, ld, ckk, prod, false, View::rows(w, ckk), colv);
            // O × (G·HoWo) back to G images of O × HoWo.
            for (j, y) in ys.chunks_mut(g.out_len()).enumerate() {
                for (oc, row) in y.chunks_mut(howo).enumerate() {
                    row.copy_from_slice(&prod[oc * ld + j * howo..][..howo]);
                }
            }
        },
    );
}

/// Copies the gradients of a group of images (each O × HoWo) side by side into O × (G·HoWo).
fn gather(g: &Geom, dy: &[f32], first: usize, imgs: usize, into: &mut [f32]) {
    let (howo, ld) = (g.howo(), imgs * g.howo());
    for j in 0..imgs {
        let dy_j = &dy[(first + j) * g.out_len()..][..g.out_len()];
        for (oc, row) in dy_j.chunks(howo).enumerate() {
            into[oc * ld + j * howo..][..howo].copy_from_slice(row);
        }
    }
}

/// The gradients of a group of images as one O × (G·HoWo) matrix: for a single image its
/// own slice of `dy` (no copy), otherwise `gather`ed into `into`.
fn gathered<'a>(g: &Geom, dy: &'a [f32], first: usize, imgs: usize, into: &'a mut [f32]) -> View<'a> {
    if imgs == 1 {
        return View::rows(&dy[first * g.out_len()..][..g.out_len()], g.howo());
    }
    gather(g, dy, first, imgs, into);
    View::rows(into, imgs * g.howo())
}

/// dX_n = col2im(Wᵀ · dY_n).
pub(super) fn input_grad(g: &Geom, w: &[f32], dy: &[f32]) -> Vec<f32> {
    let (ckk, howo, gs) = (g.ckk(), g.howo(), group(g));
    let mut dx = vec![0f32; g.n * g.in_len()];
    dx.par_chunks_mut(g.in_len() * gs).enumerate().for_each_init(
        || (vec![0f32; ckk * howo * gs], vec![0f32; g.o * howo * gs]),
        |(dcols, dyg), (t, dxs)| {
            let (imgs, first) = (dxs.len() / g.in_len(), t * gs);
            let ld = imgs * howo;
            let dyv = gathered(g, dy, first, imgs, dyg);
            // Wᵀ is W (O × CKK, row-major) read column-wise.
            let wt = View { data: w, rs: 1, cs: ckk as isize };
            gemm_into(ckk, ld, g.o, dcols, false, wt, dyv);
            for (j, dx_j) in dxs.chunks_mut(g.in_len()).enumerate() {
                col2im(g, &mut dcols[j * howo..], dx_j, ld);
            }
        },
    );
    dx
}

/// dW = Σ_n dY_n · cols(X_n)ᵀ.
pub(super) fn kernel_grad(g: &Geom, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (ckk, howo, n, gs) = (g.ckk(), g.howo(), g.n, group(g));
    // One contiguous run of images per worker, each summing into its own dW; the partial
    // sums are added at the end. Fewer, larger runs keep the reduction small.
    let workers = rayon::current_num_threads().clamp(1, n.max(1));
    let per = n.div_ceil(workers);
    let partials: Vec<Vec<f32>> = (0..workers)
        .into_par_iter()
        .map(|t| {
            let mut dw = vec![0f32; g.o * ckk];
            let (mut cols, mut dyg) = (vec![0f32; ckk * howo * gs], vec![0f32; g.o * howo * gs]);
            let (start, end) = (t * per, n.min((t + 1) * per));
            for (k, first) in (start..end).step_by(gs).enumerate() {
                let imgs = gs.min(end - first);
                let ld = imgs * howo;
                for j in 0..imgs {
                    im2col(g, &x[(first + j) * g.in_len()..][..g.in_len()], &mut cols[j * howo..], ld);
                }
                let dyv = gathered(g, dy, first, imgs, &mut dyg);
                // colsᵀ: cols is CKK × (G·HoWo) row-major, read column-wise.
                let colst = View { data: &cols, rs: 1, cs: ld as isize };
                gemm_into(g.o, ckk, ld, &mut dw, k > 0, dyv, colst);
            }
            dw
        })
        .collect();
    let mut dw = vec![0f32; g.o * ckk];
    for p in &partials {
        dw.iter_mut().zip(p).for_each(|(a, b)| *a += b);
    }
    dw
}
