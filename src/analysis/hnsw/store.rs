//! Where the HNSW graph lives: each indexed vector and its layer-0 link list in one
//! cache-line-aligned block per node, all blocks in one allocation (as hnswlib does), plus
//! the upper-layer lists, which only about one node in `M` has. (All vectors first and all
//! lists after them measured 3-8% slower per query.)
//!
//! Links are atomics so that searches during the parallel build read them without taking a
//! lock (a list caught mid-rewrite still holds valid node ids, which is all a search needs);
//! writers serialise per node in `build`. The vectors are written once, before the store is
//! shared, and only read afterwards.
//!
//! Columns are stored in order of falling variance (queries are permuted alike, which leaves
//! every distance unchanged): a distance that may stop once past a bound
//! (`distance::BoundedKernel`) then gathers most of its sum in its first lines and stops
//! sooner, and the later lines of a row it stops on need not come from memory at all.

use std::sync::atomic::{AtomicU32, Ordering};

/// `u32` slots in one 64-byte cache line.
const SLOTS: usize = 16;

#[repr(C, align(64))]
struct Line([AtomicU32; SLOTS]);

impl Line {
    fn zero() -> Self {
        Line(std::array::from_fn(|_| AtomicU32::new(0)))
    }
}

pub(super) struct Store {
    lines: Vec<Line>,
    rows: usize,
    dim: usize,
    /// Lines per vector; the padding past `dim` stays zero, so kernels can run over whole
    /// lines (zeros add nothing to a squared difference or a dot product).
    vec_lines: usize,
    /// Lines per node block: the vector, then `[count, ids…]` of its layer-0 list.
    stride: usize,
    m0: usize,
    m: usize,
    /// Upper-layer lists, `[count, ids…]` of `1 + m` slots each, layer 1 first.
    upper: Vec<AtomicU32>,
    /// Per node, the slot of its layer-1 list in `upper` (unused for layer-0-only nodes).
    upper_start: Vec<usize>,
    levels: Vec<u8>,
    /// Slot `j` of a stored vector holds column `order[j]` of the input.
    order: Vec<u32>,
}

impl Store {
    /// Copies `rows × dim` values (row-major) in; `levels[i]` is node `i`'s top layer.
    pub(super) fn new(data: &[f32], dim: usize, levels: Vec<u8>, m: usize, m0: usize) -> Self {
        let rows = levels.len();
        let order = by_falling_variance(data, dim, rows);
        let vec_lines = dim.div_ceil(SLOTS).max(1);
        let stride = vec_lines + (1 + m0).div_ceil(SLOTS);
        let mut lines: Vec<Line> = Vec::with_capacity(rows * stride);
        advise_huge_pages(&lines);
        lines.extend((0..rows * stride).map(|_| Line::zero()));
        for (i, row) in data.chunks_exact(dim.max(1)).take(rows).enumerate() {
            let block = &mut lines[i * stride..i * stride + vec_lines];
            for (j, &col) in order.iter().enumerate() {
                *block[j / SLOTS].0[j % SLOTS].get_mut() = row[col as usize].to_bits();
            }
        }
        let mut upper_start = vec![usize::MAX; rows];
        let mut next = 0usize;
        for (i, &l) in levels.iter().enumerate() {
            if l > 0 {
                upper_start[i] = next;
                next += l as usize * (1 + m);
            }
        }
        let upper = (0..next).map(|_| AtomicU32::new(0)).collect();
        Self { lines, rows, dim, vec_lines, stride, m0, m, upper, upper_start, levels, order }
    }

    /// Writes an outside query into `out` as the vectors are stored: columns reordered,
    /// zero-padded to [`padded_dim`](Self::padded_dim).
    pub(super) fn load_query(&self, q: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(self.order.iter().map(|&c| q.get(c as usize).copied().unwrap_or(0.0)));
        out.resize(self.padded_dim(), 0.0);
    }

    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    pub(super) fn dim(&self) -> usize {
        self.dim
    }

    /// Length of every stored vector as kernels see it (`dim` rounded up to a line).
    pub(super) fn padded_dim(&self) -> usize {
        self.vec_lines * SLOTS
    }

    pub(super) fn level(&self, node: u32) -> usize {
        self.levels[node as usize] as usize
    }

    pub(super) fn capacity(&self, layer: usize) -> usize {
        if layer == 0 {
            self.m0
        } else {
            self.m
        }
    }

    /// Node `node`'s vector, padded with zeros to [`padded_dim`](Self::padded_dim).
    #[inline(always)]
    pub(super) fn vector(&self, node: u32) -> &[f32] {
        let first = node as usize * self.stride;
        let lines = &self.lines[first..first + self.vec_lines];
        // SAFETY: `Line` is `repr(C)`, 16 `AtomicU32` with no padding, and `AtomicU32` has the
        // size and alignment of `f32`, so the lines are `padded_dim` contiguous f32 slots, any
        // bit pattern of which is a valid f32. Vector lines are written only in `new`, through
        // `&mut`, never after the store is shared, so no write can race these plain reads.
        unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<f32>(), self.vec_lines * SLOTS) }
    }

    /// The `[count, ids…]` slots of a node's list on a layer (empty above its level).
    #[inline(always)]
    fn list(&self, node: u32, layer: usize) -> &[AtomicU32] {
        if layer == 0 {
            let first = node as usize * self.stride + self.vec_lines;
            let lines = &self.lines[first..node as usize * self.stride + self.stride];
            let flat = lines.as_ptr().cast::<AtomicU32>();
            // SAFETY: as in `vector`, consecutive lines are contiguous AtomicU32 slots; the
            // slice stays inside this node's block and is only used through atomic ops.
            unsafe { std::slice::from_raw_parts(flat, (1 + self.m0).min(lines.len() * SLOTS)) }
        } else if layer <= self.level(node) {
            let start = self.upper_start[node as usize] + (layer - 1) * (1 + self.m);
            &self.upper[start..start + 1 + self.m]
        } else {
            &[]
        }
    }

    /// The node's current links on a layer. During the build another thread may be
    /// rewriting the list; the count is clamped, and every slot always holds a valid id.
    #[inline(always)]
    pub(super) fn links(&self, node: u32, layer: usize) -> &[AtomicU32] {
        let list = self.list(node, layer);
        match list.split_first() {
            Some((count, ids)) => &ids[..(count.load(Ordering::Acquire) as usize).min(ids.len())],
            None => &[],
        }
    }

    /// Replaces a list; the caller holds the node's build lock.
    pub(super) fn set_links(&self, node: u32, layer: usize, ids: &[u32]) {
        if let Some((count, slots)) = self.list(node, layer).split_first() {
            let n = ids.len().min(slots.len());
            for (slot, &id) in slots.iter().zip(&ids[..n]) {
                slot.store(id, Ordering::Relaxed);
            }
            count.store(n as u32, Ordering::Release);
        }
    }

    /// Appends a link if the list has room; the caller holds the node's build lock.
    pub(super) fn push_link(&self, node: u32, layer: usize, id: u32) -> bool {
        let Some((count, slots)) = self.list(node, layer).split_first() else { return false };
        let n = count.load(Ordering::Relaxed) as usize;
        match slots.get(n) {
            Some(slot) => {
                slot.store(id, Ordering::Relaxed);
                count.store(n as u32 + 1, Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// Hints a node's vector into cache, `lines` cache lines of it. Only a hint: it never
    /// faults and changes no result.
    #[inline(always)]
    pub(super) fn prefetch_vector(&self, node: u32, lines: usize) {
        let first = node as usize * self.stride;
        for l in 0..lines.min(self.vec_lines) {
            prefetch(self.lines.as_ptr().wrapping_add(first + l));
        }
    }

    /// Hints the head of a node's layer-0 list into cache.
    #[inline(always)]
    pub(super) fn prefetch_links(&self, node: u32) {
        prefetch(self.lines.as_ptr().wrapping_add(node as usize * self.stride + self.vec_lines));
    }
}

/// Column indices sorted by falling variance, estimated on up to 8192 evenly spaced rows.
fn by_falling_variance(data: &[f32], dim: usize, rows: usize) -> Vec<u32> {
    let step = rows.div_ceil(8192).max(1);
    let (mut sum, mut sq) = (vec![0.0f64; dim], vec![0.0f64; dim]);
    let mut count = 0.0;
    for row in data.chunks_exact(dim.max(1)).take(rows).step_by(step) {
        for (j, &v) in row.iter().enumerate() {
            sum[j] += f64::from(v);
            sq[j] += f64::from(v) * f64::from(v);
        }
        count += 1.0;
    }
    let var: Vec<f64> = (0..dim).map(|j| if count > 0.0 { sq[j] / count - (sum[j] / count).powi(2) } else { 0.0 }).collect();
    let mut order: Vec<u32> = (0..dim as u32).collect();
    order.sort_by(|&a, &b| var[b as usize].total_cmp(&var[a as usize]));
    order
}

/// Asks Linux to back the (still untouched) buffer with 2 MiB pages. Searches jump between
/// random rows of a buffer of hundreds of MB; with 4 KiB pages nearly every row costs a TLB
/// miss and a page walk, with 2 MiB pages the whole buffer needs a hundred-odd TLB entries.
/// Transparent huge pages are often set to "madvise", i.e. only where asked for. A hint:
/// if refused, nothing changes but speed.
fn advise_huge_pages(buf: &Vec<Line>) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = buf.as_ptr() as usize;
        let end = start + buf.capacity() * std::mem::size_of::<Line>();
        let first = start.next_multiple_of(PAGE);
        if end > first + PAGE {
            let len = (end - first) / PAGE * PAGE;
            // SAFETY: the range lies inside the allocation `buf` owns; MADV_HUGEPAGE only
            // changes how the kernel backs those pages, never their contents or mapping.
            unsafe { libc::madvise(first as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}

#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never dereferences or faults, whatever the address;
    // SSE is part of the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
