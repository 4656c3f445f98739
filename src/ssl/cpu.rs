//! Raw f32 access (and, re-exported from `crate::linalg`, the checked GEMM) for our candle custom ops (`conv`, `dense`, `optim`):
//! the ops read candle's CPU storage as slices and hand the heavy lifting to the `gemm`
//! crate, the GEMM candle itself uses.

use candle_core::{bail, CpuStorage, DType, Layout, Result, Storage, Tensor};

pub(crate) use crate::linalg::{gemm_into, View};

/// Whether our fused CPU ops may run on `t`: a CPU f32 tensor, and the calling thread has
/// not asked for the reference ops (see [`with_reference_ops`]). Every fused op checks this
/// and otherwise takes its candle-ops path, the one a GPU runs.
pub(crate) fn is_cpu_f32(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32 && !REFERENCE_OPS.with(|r| r.get())
}

thread_local! {
    static REFERENCE_OPS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the fused ops turned off on this thread: every op takes the candle-ops
/// path it takes off the CPU. That path is what runs on a GPU, so tests compare it with the
/// fused ops here, on the CPU. Per thread, so tests running beside each other are unaffected.
#[cfg(test)]
pub(crate) fn with_reference_ops<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            REFERENCE_OPS.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REFERENCE_OPS.with(|r| r.replace(true)));
    f()
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

/// Test helper: the fused op's output `fused` and the candle-ops path's `reference` agree to
/// `tol` (relative to the largest value, at least 1), and so do the gradients they send to
/// each of `vars` under the same loss Σ out·w, w a fixed non-uniform weight per value.
#[cfg(test)]
pub(crate) fn reference_ops_agree(fused: &Tensor, reference: &Tensor, vars: &[&candle_core::Var], tol: f32) {
    fn max_abs(t: &Tensor) -> f32 {
        t.abs().and_then(|a| a.flatten_all()?.max(0)?.to_scalar::<f32>()).expect("a readable tensor")
    }
    let close = |what: &str, a: &Tensor, b: &Tensor| {
        assert_eq!(a.dims(), b.dims(), "{what}: shapes differ");
        let diff = (a - b).map(|d| max_abs(&d)).expect("tensors of one shape");
        let scale = max_abs(b).max(1.0);
        assert!(diff <= tol * scale, "{what}: fused and reference differ by {diff} (scale {scale})");
    };
    close("forward", fused, reference);
    let n = fused.elem_count();
    let w: Vec<f32> = (0..n).map(|i| (0.7 * i as f32 + 0.3).sin()).collect();
    let w = Tensor::from_vec(w, fused.shape(), fused.device()).expect("weights");
    let loss = |t: &Tensor| (t * &w).and_then(|p| p.sum_all()).and_then(|l| l.backward()).expect("a backward pass");
    let (g_fused, g_ref) = (loss(fused), loss(reference));
    for (i, var) in vars.iter().enumerate() {
        let (Some(a), Some(b)) = (g_fused.get(var.as_tensor()), g_ref.get(var.as_tensor())) else {
            panic!("input {i}: a gradient is missing");
        };
        close(&format!("gradient of input {i}"), a, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_switch_turns_the_fused_ops_off_on_this_thread_only() {
        let t = Tensor::zeros(3, DType::F32, &candle_core::Device::Cpu).expect("a tensor");
        assert!(is_cpu_f32(&t));
        with_reference_ops(|| {
            assert!(!is_cpu_f32(&t));
            let other = std::thread::scope(|s| s.spawn(|| is_cpu_f32(&t)).join().expect("the thread"));
            assert!(other, "another thread saw the switch");
        });
        assert!(is_cpu_f32(&t), "the switch stayed on");
        assert!(!is_cpu_f32(&t.to_dtype(DType::F64).expect("f64")));
    }
}
