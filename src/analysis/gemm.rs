//! Dense f32 matrix products for the analysis layer through the `gemm` crate (the kernels
//! candle uses), spread over the current rayon pool. candle's own matmul runs with
//! CANDLE_NUM_THREADS=1 in this process (see `ssl::ops::init_cpu_runtime`), and
//! ndarray's matrixmultiply has no AVX-512 f32 kernel, so the analysis code calls gemm itself.

/// `a (m×k) · b (k×n)` into a new row-major `m×n` buffer. `a_t` / `b_t` say the stored
/// operand is the transpose: `a` then holds `k×m` row-major, `b` holds `n×k`.
pub fn matmul(m: usize, n: usize, k: usize, a: &[f32], a_t: bool, b: &[f32], b_t: bool) -> Vec<f32> {
    let mut dst = vec![0f32; m * n];
    matmul_into(&mut dst, m, n, k, a, a_t, b, b_t, rayon::current_num_threads());
    dst
}

/// As [`matmul`], into `dst` (overwritten), on `threads` threads (1: this thread only, for
/// callers that already parallelise over blocks of rows).
#[allow(clippy::too_many_arguments)]
pub fn matmul_into(dst: &mut [f32], m: usize, n: usize, k: usize, a: &[f32], a_t: bool, b: &[f32], b_t: bool, threads: usize) {
    assert!(dst.len() >= m * n, "matmul: destination smaller than its shape");
    assert!(a.len() >= m * k && b.len() >= k * n, "matmul: operands smaller than their shapes");
    // Row and column strides of the logical (untransposed) operands.
    let (a_rs, a_cs) = if a_t { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if b_t { (1, k as isize) } else { (n as isize, 1) };
    let parallelism = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // SAFETY: the assert above keeps every element gemm reads inside `a` and `b` (for both
    // layouts the largest index is m·k−1 resp. k·n−1) and `dst` inside its m×n prefix;
    // `dst` is borrowed mutably, so it cannot alias the operands.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
