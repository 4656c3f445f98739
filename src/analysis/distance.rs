//! Distance kernels shared by the neighbour index, t-SNE, UMAP and the quality metrics.
//!
//! Written by hand rather than `iter().zip().sum()`: a sequential f32 sum cannot be
//! vectorised (float addition is not associative), so we keep sixteen independent partial
//! sums, which the compiler maps onto SIMD lanes, and compile that body once more for AVX2
//! and AVX-512, picked at run time (the default x86-64 target only has SSE2).

const LANES: usize = 16;

/// Squared Euclidean distance, using AVX-512 or AVX2 when the CPU has them.
#[inline]
pub fn sq_euclidean(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { sq_euclidean_avx512(a, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { sq_euclidean_avx2(a, b) };
        }
    }
    sq_euclidean_portable(a, b)
}

/// Dot product, dispatched like [`sq_euclidean`].
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { dot_avx512(a, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { dot_avx2(a, b) };
        }
    }
    dot_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sq_euclidean_avx512(a: &[f32], b: &[f32]) -> f32 {
    sq_euclidean_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sq_euclidean_avx2(a: &[f32], b: &[f32]) -> f32 {
    sq_euclidean_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    dot_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_portable(a, b)
}

/// The kernel body; `#[inline(always)]` so each target-feature wrapper above gets its own
/// vectorised copy.
#[inline(always)]
fn sq_euclidean_portable(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            let d = x[l] - y[l];
            acc[l] += d * d;
        }
    }
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| (x - y) * (x - y)).sum();
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// The `k` smallest `(index, value)` pairs of `values`, ascending, skipping `skip`.
/// A bounded insertion keeps this O(n) for the small `k` used everywhere here.
pub fn smallest_k(values: impl Iterator<Item = (usize, f32)>, k: usize, skip: Option<usize>) -> Vec<(usize, f32)> {
    let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return best;
    }
    for (i, v) in values {
        if Some(i) == skip || v.is_nan() {
            continue;
        }
        if best.len() == k && v >= best[k - 1].1 {
            continue;
        }
        let pos = best.partition_point(|&(_, b)| b <= v);
        best.insert(pos, (i, v));
        best.truncate(k);
    }
    best
}
