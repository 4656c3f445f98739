//! Distance kernels shared by the neighbour index, t-SNE, UMAP and the quality metrics.
//!
//! Written by hand rather than `iter().zip().sum()`: a sequential f32 sum cannot be
//! vectorised (float addition is not associative), so we keep 4 × 16 independent partial
//! sums, which the compiler maps onto four SIMD registers (four chains, so one add does not
//! wait for the previous one), and compile that body once more for AVX2 and AVX-512 with
//! fused multiply-add, picked at run time (the default x86-64 target only has SSE2).

const LANES: usize = 16;
const CHAINS: usize = 4;

/// A distance kernel resolved once for this CPU, so hot loops skip the feature check.
pub type Kernel = fn(&[f32], &[f32]) -> f32;

/// Squared Euclidean distance, using AVX-512 or AVX2 when the CPU has them.
#[inline]
pub fn sq_euclidean(a: &[f32], b: &[f32]) -> f32 {
    sq_euclidean_kernel()(a, b)
}

/// Dot product, dispatched like [`sq_euclidean`].
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_kernel()(a, b)
}

/// The fastest squared-Euclidean body this CPU runs.
pub fn sq_euclidean_kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return |a, b| {
                // SAFETY: only handed out when the CPU has AVX-512F.
                unsafe { sq_euclidean_avx512(a, b) }
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return |a, b| {
                // SAFETY: only handed out when the CPU has AVX2 and FMA.
                unsafe { sq_euclidean_avx2(a, b) }
            };
        }
    }
    sq_euclidean_portable::<false>
}

/// The fastest dot-product body this CPU runs.
pub fn dot_kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return |a, b| {
                // SAFETY: only handed out when the CPU has AVX-512F.
                unsafe { dot_avx512(a, b) }
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return |a, b| {
                // SAFETY: only handed out when the CPU has AVX2 and FMA.
                unsafe { dot_avx2(a, b) }
            };
        }
    }
    dot_portable::<false>
}

/// Squared Euclidean distance that may stop early: once the partial sum reaches `bound`
/// the pair cannot matter to the caller, and that partial sum (≥ `bound`) is returned.
/// Below `bound` the result is the exact distance. Partial sums of squares only grow, so
/// stopping never changes a comparison against `bound`.
pub type BoundedKernel = fn(&[f32], &[f32], f32) -> f32;

/// The fastest bounded squared-Euclidean body this CPU runs.
pub fn sq_euclidean_bounded_kernel() -> BoundedKernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return |a, b, bound| {
                // SAFETY: only handed out when the CPU has AVX-512F.
                unsafe { sq_euclidean_bounded_avx512(a, b, bound) }
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return |a, b, bound| {
                // SAFETY: only handed out when the CPU has AVX2 and FMA.
                unsafe { sq_euclidean_bounded_avx2(a, b, bound) }
            };
        }
    }
    sq_euclidean_bounded_portable::<false>
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn sq_euclidean_bounded_avx512(a: &[f32], b: &[f32], bound: f32) -> f32 {
    sq_euclidean_bounded_portable::<true>(a, b, bound)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sq_euclidean_bounded_avx2(a: &[f32], b: &[f32], bound: f32) -> f32 {
    sq_euclidean_bounded_portable::<true>(a, b, bound)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn sq_euclidean_avx512(a: &[f32], b: &[f32]) -> f32 {
    sq_euclidean_portable::<true>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sq_euclidean_avx2(a: &[f32], b: &[f32]) -> f32 {
    sq_euclidean_portable::<true>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    dot_portable::<true>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_portable::<true>(a, b)
}

/// `acc + x * y`, fused only where the caller is compiled with FMA (elsewhere `mul_add`
/// would be a slow library call).
#[inline(always)]
fn madd<const FUSED: bool>(x: f32, y: f32, acc: f32) -> f32 {
    if FUSED {
        x.mul_add(y, acc)
    } else {
        acc + x * y
    }
}

type Acc = [[f32; LANES]; CHAINS];

/// The kernel bodies; `#[inline(always)]` so each target-feature wrapper above gets its own
/// vectorised copy.
#[inline(always)]
fn sq_euclidean_portable<const FUSED: bool>(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [[0.0; LANES]; CHAINS];
    accumulate::<FUSED>(a, b, &mut acc, |x, y| x - y, |x, y| x - y);
    total(&acc)
}

#[inline(always)]
fn dot_portable<const FUSED: bool>(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [[0.0; LANES]; CHAINS];
    accumulate::<FUSED>(a, b, &mut acc, |x, _| x, |_, y| y);
    total(&acc)
}

/// Checked against the bound every this many values: often enough to stop early, rarely
/// enough that the horizontal sums stay cheap (3 checks on a 784-dim row).
const BLOCK: usize = 256;

#[inline(always)]
fn sq_euclidean_bounded_portable<const FUSED: bool>(a: &[f32], b: &[f32], bound: f32) -> f32 {
    let n = a.len().min(b.len());
    let mut acc = [[0.0; LANES]; CHAINS];
    let mut done = 0;
    for (x, y) in a[..n].chunks(BLOCK).zip(b[..n].chunks(BLOCK)) {
        accumulate::<FUSED>(x, y, &mut acc, |p, q| p - q, |p, q| p - q);
        done += x.len();
        if done < n {
            let partial = total(&acc);
            if partial >= bound {
                return partial;
            }
        }
    }
    total(&acc)
}

/// Adds `Σ f(a_i, b_i) · g(a_i, b_i)` into `acc`: chunks of 64 over four independent
/// chains, then chunks of 16, then single values, laid out for SIMD.
#[inline(always)]
fn accumulate<const FUSED: bool>(a: &[f32], b: &[f32], acc: &mut Acc, f: impl Fn(f32, f32) -> f32, g: impl Fn(f32, f32) -> f32) {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut ca = a.chunks_exact(LANES * CHAINS);
    let mut cb = b.chunks_exact(LANES * CHAINS);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for c in 0..CHAINS {
            for l in 0..LANES {
                let (p, q) = (x[c * LANES + l], y[c * LANES + l]);
                acc[c][l] = madd::<FUSED>(f(p, q), g(p, q), acc[c][l]);
            }
        }
    }
    let mut sa = ca.remainder().chunks_exact(LANES);
    let mut sb = cb.remainder().chunks_exact(LANES);
    for (x, y) in (&mut sa).zip(&mut sb) {
        for l in 0..LANES {
            acc[0][l] = madd::<FUSED>(f(x[l], y[l]), g(x[l], y[l]), acc[0][l]);
        }
    }
    for (l, (&x, &y)) in sa.remainder().iter().zip(sb.remainder()).enumerate() {
        acc[1][l] += f(x, y) * g(x, y);
    }
}

#[inline(always)]
fn total(acc: &Acc) -> f32 {
    let mut sum = [0.0f32; LANES];
    for chain in acc {
        for l in 0..LANES {
            sum[l] += chain[l];
        }
    }
    sum.iter().sum()
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
