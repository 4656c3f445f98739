//! Raw f32 access and a checked GEMM for our candle custom ops (`conv`, `dense`, `optim`):
//! the ops read candle's CPU storage as slices and hand the heavy lifting to the `gemm`
//! crate, the GEMM candle itself uses.

use candle_core::{bail, CpuStorage, DType, Layout, Result, Storage, Tensor};

pub(crate) fn is_cpu_f32(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

/// The values of a contiguous f32 tensor's storage.
pub(crate) fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let data = match s {
        CpuStorage::F32(v) => v.as_slice(),
        _ => bail!("pretext op: expected f32 storage"),
    };
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("pretext op: expected a contiguous tensor"),
    }
}

/// `f32_slice`, writable (in-place ops).
pub(crate) fn f32_slice_mut<'a>(s: &'a mut CpuStorage, l: &Layout) -> Result<&'a mut [f32]> {
    let data = match s {
        CpuStorage::F32(v) => v.as_mut_slice(),
        _ => bail!("pretext op: expected f32 storage"),
    };
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&mut data[start..end]),
        None => bail!("pretext op: expected a contiguous tensor"),
    }
}

/// Runs `f` on a contiguous CPU f32 tensor's data.
pub(crate) fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => f(f32_slice(cpu, layout)?),
        _ => bail!("pretext op: expected a CPU tensor"),
    }
}

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
/// callers split the work over the rayon pool, which scales better on these small GEMMs
/// than splitting inside them.
pub(crate) fn gemm_into(m: usize, n: usize, k: usize, dst: &mut [f32], accumulate: bool, a: View, b: View) {
    // The bounds are ours to keep (gemm takes raw pointers); callers derive shapes from
    // validated dimensions, so a failure here is a bug in the op, not bad input.
    assert!(dst.len() >= m * n && a.fits(m, k) && b.fits(k, n), "pretext gemm: operand out of bounds");
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
            gemm::Parallelism::None,
        );
    }
}

/// `d` where the ReLU's output `y` is positive, else 0: the ReLU's backward for one value.
/// A bit mask rather than `if`: the sign of a pre-activation is a coin flip, and as a branch
/// it was mispredicted so often that BatchNorm's backward ran 10× slower; the mask
/// vectorises, and where it cannot (scattered pooling gradients) it still does not branch.
#[inline(always)]
pub(crate) fn relu_gate(d: f32, y: f32) -> f32 {
    let keep = ((y > 0.0) as u32).wrapping_neg();
    f32::from_bits(d.to_bits() & keep)
}
