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
