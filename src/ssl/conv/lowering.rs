//! The three convolution passes as im2col + GEMM over whole batches of slices (NCHW,
//! contiguous). Images are spread over the current rayon pool; each GEMM is single-threaded.

use rayon::prelude::*;

use super::kernels::{col2im, gemm_into, im2col, Geom, View};

/// Y (N × O × Ho·Wo) = W · cols(X_n) for every image.
pub(super) fn forward(g: &Geom, x: &[f32], w: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; g.n * g.out_len()];
    forward_into(g, x, w, &mut out);
    out
}

/// `forward` into a caller's buffer of N·O·Ho·Wo values.
pub(super) fn forward_into(g: &Geom, x: &[f32], w: &[f32], out: &mut [f32]) {
    let (ckk, howo) = (g.ckk(), g.howo());
    out.par_chunks_mut(g.out_len()).enumerate().for_each_init(
        || vec![0f32; ckk * howo],
        |cols, (i, y)| {
            im2col(g, &x[i * g.in_len()..][..g.in_len()], cols);
            gemm_into(g.o, howo, ckk, y, false, View::rows(w, ckk), View::rows(cols, howo));
        },
    );
}

/// dX_n = col2im(Wᵀ · dY_n).
pub(super) fn input_grad(g: &Geom, w: &[f32], dy: &[f32]) -> Vec<f32> {
    let (ckk, howo) = (g.ckk(), g.howo());
    let mut dx = vec![0f32; g.n * g.in_len()];
    dx.par_chunks_mut(g.in_len()).enumerate().for_each_init(
        || vec![0f32; ckk * howo],
        |dcols, (i, dx_i)| {
            // Wᵀ is W (O × CKK, row-major) read column-wise.
            let wt = View { data: w, rs: 1, cs: ckk as isize };
            let dy_i = &dy[i * g.out_len()..][..g.out_len()];
            gemm_into(ckk, howo, g.o, dcols, false, wt, View::rows(dy_i, howo));
            col2im(g, dcols, dx_i);
        },
    );
    dx
}

/// dW = Σ_n dY_n · cols(X_n)ᵀ.
pub(super) fn kernel_grad(g: &Geom, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (ckk, howo, n) = (g.ckk(), g.howo(), g.n);
    // One contiguous run of images per worker, each summing into its own dW; the partial
    // sums are added at the end. Fewer, larger runs keep the reduction small.
    let workers = rayon::current_num_threads().clamp(1, n.max(1));
    let per = n.div_ceil(workers);
    let partials: Vec<Vec<f32>> = (0..workers)
        .into_par_iter()
        .map(|t| {
            let mut dw = vec![0f32; g.o * ckk];
            let mut cols = vec![0f32; ckk * howo];
            for (j, i) in (t * per..n.min((t + 1) * per)).enumerate() {
                im2col(g, &x[i * g.in_len()..][..g.in_len()], &mut cols);
                // cols(X_i)ᵀ: cols is CKK × HoWo row-major, read column-wise.
                let colst = View { data: &cols, rs: 1, cs: howo as isize };
                let dy_i = &dy[i * g.out_len()..][..g.out_len()];
                gemm_into(g.o, ckk, howo, &mut dw, j > 0, View::rows(dy_i, howo), colst);
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
