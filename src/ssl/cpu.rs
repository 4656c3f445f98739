//! Raw f32 access (and, re-exported from `crate::linalg`, the checked GEMM) for our candle custom ops (`conv`, `dense`, `optim`):
//! the ops read candle's CPU storage as slices and hand the heavy lifting to the `gemm`
//! crate, the GEMM candle itself uses.

use candle_core::{bail, CpuStorage, DType, Layout, Result, Storage, Tensor};

pub(crate) use crate::linalg::{gemm_into, View};

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

/// `d` where the ReLU's output `y` is positive, else 0: the ReLU's backward for one value.
/// A bit mask rather than `if`: the sign of a pre-activation is a coin flip, and as a branch
/// it was mispredicted so often that BatchNorm's backward ran 10× slower; the mask
/// vectorises, and where it cannot (scattered pooling gradients) it still does not branch.
#[inline(always)]
pub(crate) fn relu_gate(d: f32, y: f32) -> f32 {
    let keep = ((y > 0.0) as u32).wrapping_neg();
    f32::from_bits(d.to_bits() & keep)
}
