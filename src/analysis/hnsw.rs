//! Hierarchical navigable small-world graph (Malkov & Yashunin 2018, arXiv:1603.09320):
//! layered proximity graphs searched greedily from the top, neighbours chosen by the
//! paper's heuristic (Alg. 4, keep a candidate only if it is closer to the new point than
//! to every neighbour kept so far).
//!
//! Our own rather than `hnsw_rs`: that crate copies every vector into `Arc`-ed points,
//! allocates per search and keeps a lock on every list at query time; on 784-dim data it was
//! ~3x slower than hnswlib both to build and to query. Here the vectors stay in the caller's
//! matrix, the build locks one list at a time, and the finished graph is frozen into flat
//! arrays that queries read without any lock. Visited sets are generation-stamped per thread.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Mutex;

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::distance::{dot, sq_euclidean};
use super::Matrix;

/// How two stored rows are compared: squared Euclidean, or `1 − dot` on unit rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    SqL2,
    UnitCosine,
}

impl Kernel {
    #[inline]
    fn eval(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Kernel::SqL2 => sq_euclidean(a, b),
            Kernel::UnitCosine => (1.0 - dot(a, b)).max(0.0),
        }
    }

}

#[derive(Clone, Copy, PartialEq)]
struct Near(f32, u32);
impl Eq for Near {}
impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Per-thread search scratch: visit stamps (a node is visited iff `stamp[node] == epoch`).
/// Also keeps the heaps and link buffer, so a search allocates nothing but its result.
struct Scratch {
    stamp: Vec<u32>,
    epoch: u32,
    candidates: BinaryHeap<Reverse<Near>>,
    best: BinaryHeap<Near>,
    links: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch { stamp: Vec::new(), epoch: 0, candidates: BinaryHeap::new(), best: BinaryHeap::new(), links: Vec::new() })
    };
}

impl Scratch {
    fn reset(&mut self, n: usize) {
        if self.stamp.len() < n {
            self.stamp = vec![0; n];
            self.epoch = 0;
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.epoch = 1;
        }
    }
}

/// The frozen graph. Layer 0 is one flat array of `1 + m0` slots per node (count, then ids).
pub struct Hnsw {
    kernel: Kernel,
    m0: usize,
    layer0: Vec<u32>,
    /// Per node, its lists on layers 1..=level (empty for most nodes).
    upper: Vec<Vec<Vec<u32>>>,
    entry: u32,
    top: usize,
}

/// Lists while building, each behind its own lock.
struct Building {
    layer0: Vec<Mutex<Vec<u32>>>,
    upper: Vec<Vec<Mutex<Vec<u32>>>>,
    entry: Mutex<(u32, usize)>,
}

impl Building {
    fn copy_neighbours(&self, node: u32, layer: usize, out: &mut Vec<u32>) {
        out.clear();
        let list = if layer == 0 { &self.layer0[node as usize] } else { &self.upper[node as usize][layer - 1] };
        if let Ok(l) = list.lock() {
            out.extend_from_slice(&l);
        }
    }
}

trait Graph {
    /// A node's links on a layer: copied into `buf` while building (under its lock), read
    /// in place from the frozen graph.
    fn neighbours<'a>(&'a self, node: u32, layer: usize, buf: &'a mut Vec<u32>) -> &'a [u32];
}

impl Graph for Building {
    fn neighbours<'a>(&'a self, node: u32, layer: usize, buf: &'a mut Vec<u32>) -> &'a [u32] {
        self.copy_neighbours(node, layer, buf);
        buf
    }
}

impl Graph for Hnsw {
    fn neighbours<'a>(&'a self, node: u32, layer: usize, _buf: &'a mut Vec<u32>) -> &'a [u32] {
        if layer == 0 {
            let base = node as usize * (self.m0 + 1);
            let len = self.layer0[base] as usize;
            &self.layer0[base + 1..base + 1 + len]
        } else {
            self.upper[node as usize].get(layer - 1).map_or(&[], |l| l.as_slice())
        }
    }
}

/// Best-first search of one layer from `entry` points, keeping the `ef` closest (Alg. 2).
fn search_layer<G: Graph>(
    g: &G,
    data: &Matrix,
    kernel: Kernel,
    q: &[f32],
    entry: &[Near],
    ef: usize,
    layer: usize,
    scratch: &mut Scratch,
) -> Vec<Near> {
    scratch.reset(data.rows);
    let epoch = scratch.epoch;
    let mut candidates = std::mem::take(&mut scratch.candidates);
    let mut best = std::mem::take(&mut scratch.best);
    let mut buf = std::mem::take(&mut scratch.links);
    candidates.clear();
    best.clear();
    for &e in entry {
        scratch.stamp[e.1 as usize] = epoch;
        candidates.push(Reverse(e));
        best.push(e);
    }
    while best.len() > ef {
        best.pop();
    }
    while let Some(Reverse(c)) = candidates.pop() {
        if best.len() >= ef && best.peek().is_some_and(|w| c.0 > w.0) {
            break;
        }
        let links = g.neighbours(c.1, layer, &mut buf);
        for (t, &nb) in links.iter().enumerate() {
            let seen = &mut scratch.stamp[nb as usize];
            if *seen == epoch {
                continue;
            }
            *seen = epoch;
            // Start pulling the next neighbour's vector in while this distance is computed.
            if let Some(&next) = links.get(t + 1) {
                prefetch_row(data, next as usize);
            }
            let d = kernel.eval(q, data.row(nb as usize));
            if best.len() < ef || best.peek().is_some_and(|w| d < w.0) {
                candidates.push(Reverse(Near(d, nb)));
                best.push(Near(d, nb));
                if best.len() > ef {
                    best.pop();
                }
            }
        }
    }
    let mut out: Vec<Near> = best.drain().collect();
    out.sort_unstable();
    scratch.candidates = candidates;
    scratch.best = best;
    scratch.links = buf;
    out
}

/// Hints the first cache lines of a stored row into cache; never faults.
#[inline(always)]
fn prefetch_row(data: &Matrix, row: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = row * data.cols;
        for off in (0..data.cols.min(64)).step_by(16) {
            if let Some(v) = data.data.get(start + off) {
                // SAFETY: prefetching is a hint that never dereferences or faults; SSE is part
                // of the x86-64 baseline.
                unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((v as *const f32).cast::<i8>()) };
            }
        }
    }
}

/// Alg. 4 without extension or pruned-fill: from candidates sorted by distance to the
/// base point, keep those closer to it than to any already kept, up to `max`.
fn select(data: &Matrix, kernel: Kernel, sorted: &[Near], max: usize) -> Vec<u32> {
    let mut kept: Vec<u32> = Vec::with_capacity(max);
    for c in sorted {
        if kept.len() >= max {
            break;
        }
        let row = data.row(c.1 as usize);
        if kept.iter().all(|&r| kernel.eval(row, data.row(r as usize)) > c.0) {
            kept.push(c.1);
        }
    }
    kept
}

impl Hnsw {
    pub fn build(data: &Matrix, kernel: Kernel, m: usize, ef_construction: usize, seed: u64) -> Self {
        let n = data.rows;
        let m0 = 2 * m;
        let ml = 1.0 / (m.max(2) as f64).ln();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let levels: Vec<usize> = (0..n).map(|_| ((-(1.0 - rng.random::<f64>()).ln() * ml) as usize).min(16)).collect();
        let b = Building {
            layer0: (0..n).map(|_| Mutex::new(Vec::with_capacity(m0))).collect(),
            upper: levels.iter().map(|&l| (0..l).map(|_| Mutex::new(Vec::with_capacity(m))).collect()).collect(),
            entry: Mutex::new((0, levels.first().copied().unwrap_or(0))),
        };
        (1..n).into_par_iter().for_each(|i| insert(&b, data, kernel, i as u32, levels[i], m, ef_construction));
        let (entry, top) = b.entry.lock().map(|e| *e).unwrap_or((0, 0));
        let mut layer0 = vec![0u32; n * (m0 + 1)];
        for (i, list) in b.layer0.into_iter().enumerate() {
            let list = list.into_inner().unwrap_or_default();
            let base = i * (m0 + 1);
            layer0[base] = list.len() as u32;
            layer0[base + 1..base + 1 + list.len()].copy_from_slice(&list);
        }
        let upper = b.upper.into_iter().map(|ls| ls.into_iter().map(|l| l.into_inner().unwrap_or_default()).collect()).collect();
        Self { kernel, m0, layer0, upper, entry, top }
    }

    /// The `want` nearest rows to `q` as `(row, kernel distance)`, nearest first.
    pub fn search(&self, data: &Matrix, q: &[f32], want: usize, ef: usize) -> Vec<(usize, f32)> {
        if data.rows == 0 {
            return Vec::new();
        }
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let mut ep = vec![Near(self.kernel.eval(q, data.row(self.entry as usize)), self.entry)];
            for layer in (1..=self.top).rev() {
                ep = search_layer(self, data, self.kernel, q, &ep, 1, layer, &mut s);
            }
            let found = search_layer(self, data, self.kernel, q, &ep, ef.max(want), 0, &mut s);
            found.into_iter().take(want).map(|p| (p.1 as usize, p.0)).collect()
        })
    }
}

impl Hnsw {
    /// Neighbours of an indexed row: the search starts at the row itself on layer 0, whose
    /// links already point into its neighbourhood, so the descent from the top is skipped.
    /// The row itself comes back first, at distance 0.
    pub fn search_from(&self, data: &Matrix, node: usize, want: usize, ef: usize) -> Vec<(usize, f32)> {
        if node >= data.rows {
            return Vec::new();
        }
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let ep = [Near(0.0, node as u32)];
            let found = search_layer(self, data, self.kernel, data.row(node), &ep, ef.max(want), 0, &mut s);
            found.into_iter().take(want).map(|p| (p.1 as usize, p.0)).collect()
        })
    }
}

fn insert(b: &Building, data: &Matrix, kernel: Kernel, node: u32, level: usize, m: usize, ef: usize) {
    let q = data.row(node as usize);
    let (entry, top) = b.entry.lock().map(|e| *e).unwrap_or((0, 0));
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let mut ep = vec![Near(kernel.eval(q, data.row(entry as usize)), entry)];
        for layer in (level + 1..=top).rev() {
            ep = search_layer(b, data, kernel, q, &ep, 1, layer, &mut s);
        }
        for layer in (0..=level.min(top)).rev() {
            let found = search_layer(b, data, kernel, q, &ep, ef, layer, &mut s);
            let max = if layer == 0 { 2 * m } else { m };
            let chosen = select(data, kernel, &found, m);
            let own = if layer == 0 { &b.layer0[node as usize] } else { &b.upper[node as usize][layer - 1] };
            if let Ok(mut l) = own.lock() {
                l.clear();
                l.extend_from_slice(&chosen);
            }
            for &nb in &chosen {
                let list = if layer == 0 { &b.layer0[nb as usize] } else { &b.upper[nb as usize][layer - 1] };
                let Ok(mut l) = list.lock() else { continue };
                if l.len() < max {
                    l.push(node);
                    continue;
                }
                // Full: re-select the neighbour's list among its links plus the new node.
                let base = data.row(nb as usize);
                let mut cands: Vec<Near> = l.iter().chain(std::iter::once(&node)).map(|&c| Near(kernel.eval(base, data.row(c as usize)), c)).collect();
                cands.sort_unstable();
                *l = select(data, kernel, &cands, max);
            }
            ep = found;
        }
    });
    if level > top {
        if let Ok(mut e) = b.entry.lock() {
            if level > e.1 {
                *e = (node, level);
            }
        }
    }
}
