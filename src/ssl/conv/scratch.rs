//! Reuse of the large buffers the conv block keeps between its forward and backward passes.
//!
//! Why: a training step allocates the same few large buffers (the conv outputs and their
//! gradients, tens of MB each) every time. Fresh allocations that large are new mappings
//! from the OS, and touching them costs a page fault per 4 KiB: measured at ~15% of a step.
//! Handing them back here and taking them again next step keeps the pages mapped.

use std::sync::Mutex;

static FREE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// At most this many buffers wait for reuse (a CNN step needs about two per block).
const MAX_KEPT: usize = 8;
/// Smaller buffers are cheap to allocate and not worth keeping.
const MIN_LEN: usize = 1 << 16;

/// A zeroed buffer of `len` values, reusing a kept one of a similar size when there is one.
pub(super) fn take_zeroed(len: usize) -> Vec<f32> {
    take(len, true)
}

/// A buffer of `len` values whose contents are left from an earlier use (for a caller that
/// overwrites every value: zeroing tens of MB first was ~2% of a CNN step).
pub(super) fn take_stale(len: usize) -> Vec<f32> {
    take(len, false)
}

fn take(len: usize, zeroed: bool) -> Vec<f32> {
    if len >= MIN_LEN {
        let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        let fit = free
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len && v.capacity() <= 2 * len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        if let Some(i) = fit {
            let mut v = free.swap_remove(i);
            drop(free);
            if zeroed {
                v.clear();
            }
            v.resize(len, 0.0);
            return v;
        }
    }
    vec![0.0; len]
}

/// Keeps `v` for a later `take_zeroed` / `take_stale`.
pub(super) fn give(v: Vec<f32>) {
    if v.capacity() < MIN_LEN {
        return;
    }
    let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
    if free.len() < MAX_KEPT {
        free.push(v);
    }
}
