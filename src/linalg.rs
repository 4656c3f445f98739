//! One checked wrapper around the `gemm` crate (the GEMM kernels candle uses, with AVX-512
//! where the CPU has it) for the training ops and the analysis layer alike. candle's own
//! matmul runs with CANDLE_NUM_THREADS=1 in this process (see `ssl::ops::init_cpu_runtime`)
//! and ndarray's matrixmultiply has no AVX-512 f32 kernel, so both call gemm through here.

/// A matrix inside a slice: element (i, j) at `data[i*rs + j*cs]`, strides non-negative.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub rs: isize,
    pub cs: isize,
}

impl<'a> View<'a> {
    /// Row-major with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Self { data, rs: cols as isize, cs: 1 }
    }

    /// The transpose of a row-major matrix with `cols` columns (read column-wise).
    pub fn cols(data: &'a [f32], cols: usize) -> Self {
        Self { data, rs: 1, cs: cols as isize }
    }

    fn fits(&self, rows: usize, cols: usize) -> bool {
        let last = (rows.saturating_sub(1)) as isize * self.rs + (cols.saturating_sub(1)) as isize * self.cs;
        self.rs >= 0 && self.cs >= 0 && (rows == 0 || cols == 0 || (last as usize) < self.data.len())
    }
}

/// `dst (m×n, row-major) = a (m×k) · b (k×n)`, or `+=` when `accumulate`. Single-threaded:
/// the training ops split their work over the rayon pool, which scales better on their
/// small GEMMs than splitting inside them.
pub(crate) fn gemm_into(m: usize, n: usize, k: usize, dst: &mut [f32], accumulate: bool, a: View, b: View) {
    gemm_on(1, m, n, k, dst, accumulate, a, b)
}

/// `a (m×k) · b (k×n)` into a new row-major `m×n` buffer, split over the current rayon pool
/// (for one large product, e.g. a covariance or a projection of all rows).
pub(crate) fn matmul(m: usize, n: usize, k: usize, a: View, b: View) -> Vec<f32> {
    let mut dst = vec![0f32; m * n];
    gemm_on(rayon::current_num_threads(), m, n, k, &mut dst, false, a, b);
    dst
}

#[allow(clippy::too_many_arguments)]
fn gemm_on(threads: usize, m: usize, n: usize, k: usize, dst: &mut [f32], accumulate: bool, a: View, b: View) {
    // The bounds are ours to keep (gemm takes raw pointers); callers derive shapes from
    // validated dimensions, so a failure here is a bug in the caller, not bad input.
    assert!(dst.len() >= m * n && a.fits(m, k) && b.fits(k, n), "pretext gemm: operand out of bounds");
    let parallelism = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // SAFETY: the assert above keeps every index gemm touches inside the three slices, and
    // `dst` is borrowed mutably so it cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs,
            a.rs,
            b.data.as_ptr(),
            b.cs,
            b.rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Rows per chunk of [`centred_gram`]: the centred copy of one chunk (2048 × 784 floats,
/// 6 MB) stays in cache while every block pair reads it.
const GRAM_ROWS: usize = 2048;
/// Columns per block of [`centred_gram`].
const GRAM_BLOCK: usize = 128;

/// `(x − mean)ᵀ (x − mean)` for row-major `x` (n × d): the d × d Gram matrix of the centred
/// rows, without a centred copy of `x`. Only the blocks on and above the diagonal are
/// multiplied (as BLAS's syrk does), which halves the arithmetic of a plain GEMM; chunks of
/// rows are centred into a small buffer and summed on the rayon pool, one partial Gram per
/// task.
pub(crate) fn centred_gram(x: &[f32], d: usize, mean: &[f32]) -> Vec<f32> {
    use rayon::prelude::*;
    assert!(mean.len() == d && d > 0 && x.len() % d == 0, "pretext gram: shapes do not match");
    let blocks: Vec<(usize, usize)> = (0..d).step_by(GRAM_BLOCK).map(|s| (s, (s + GRAM_BLOCK).min(d))).collect();
    let pairs: Vec<(usize, usize)> = (0..blocks.len()).flat_map(|i| (i..blocks.len()).map(move |j| (i, j))).collect();
    let partial = |mut acc: Vec<f32>, chunk: &[f32]| {
        let rows = chunk.len() / d;
        let centred: Vec<f32> = chunk.chunks_exact(d).flat_map(|r| r.iter().zip(mean).map(|(v, m)| v - m)).collect();
        let mut out = Vec::new();
        for &(i, j) in &pairs {
            let ((a0, a1), (b0, b1)) = (blocks[i], blocks[j]);
            let (m, n) = (a1 - a0, b1 - b0);
            out.clear();
            out.resize(m * n, 0.0);
            // (rows × m)ᵀ · (rows × n), both read in place from the centred chunk.
            let a = View { data: &centred[a0..], rs: 1, cs: d as isize };
            let b = View { data: &centred[b0..], rs: d as isize, cs: 1 };
            gemm_on(1, m, n, rows, &mut out, false, a, b);
            for r in 0..m {
                let dst = &mut acc[(a0 + r) * d + b0..(a0 + r) * d + b1];
                dst.iter_mut().zip(&out[r * n..(r + 1) * n]).for_each(|(g, v)| *g += v);
            }
        }
        acc
    };
    let mut gram = x
        .par_chunks(GRAM_ROWS * d)
        .fold(|| vec![0f32; d * d], partial)
        .reduce(|| vec![0f32; d * d], |mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        });
    // Mirror the upper triangle into the lower one.
    for r in 0..d {
        for c in 0..r {
            gram[r * d + c] = gram[c * d + r];
        }
    }
    gram
}
