//! Searching the graph (Malkov & Yashunin 2018, Alg. 2 and 5): a greedy walk down the upper
//! layers, then a best-first search of one layer keeping the `ef` closest.
//!
//! The hot loop allocates nothing: per-thread scratch keeps the heaps, a visited array
//! stamped with an epoch (a node is visited iff `visited[node] == epoch`, so nothing is
//! cleared between searches) and the padded query. Heap entries are `u64` keys, the distance's
//! bits above the node id: non-negative f32s order like their bit patterns, so one integer
//! comparison orders by distance, then id.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering;

use super::store::Store;
use crate::analysis::distance::BoundedKernel;

/// How many neighbours ahead of the one being measured we ask memory for, and how much of
/// each vector. A 784-float row is 49 lines and comes from DRAM (60k rows are 188 MB);
/// asking for all of it one neighbour ahead keeps the memory system busy while we compute.
/// Measured on Fashion-MNIST: only the first 16, 20 or 32 lines, two neighbours ahead, or
/// hinting into L2 instead of L1 were each slower (hnswlib asks for the first line only).
const AHEAD: usize = 1;
const PREFETCH_LINES: usize = 64;

#[inline(always)]
pub(super) fn key(dist: f32, node: u32) -> u64 {
    // Negative zero (and, defensively, any negative) sorts as zero.
    let bits = dist.to_bits();
    let bits = if (bits as i32) < 0 { 0 } else { bits };
    (u64::from(bits) << 32) | u64::from(node)
}

#[inline(always)]
pub(super) fn node_of(key: u64) -> u32 {
    key as u32
}

#[inline(always)]
pub(super) fn dist_of(key: u64) -> f32 {
    f32::from_bits((key >> 32) as u32)
}

pub(super) struct Scratch {
    visited: Vec<u16>,
    epoch: u16,
    candidates: BinaryHeap<Reverse<u64>>,
    best: BinaryHeap<u64>,
    fresh: Vec<u32>,
    /// The query as the vectors are stored (see `Store::load_query`).
    pub(super) query: Vec<f32>,
    /// Result of the last [`search_layer`], nearest first.
    pub(super) found: Vec<u64>,
    /// Free buffers for the build (neighbour selection).
    pub(super) keys: Vec<u64>,
    pub(super) ids: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch {
            visited: Vec::new(),
            epoch: 0,
            candidates: BinaryHeap::new(),
            best: BinaryHeap::new(),
            fresh: Vec::new(),
            query: Vec::new(),
            found: Vec::new(),
            keys: Vec::new(),
            ids: Vec::new(),
        })
    };
}

/// Runs `f` with this thread's scratch.
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|s| f(&mut s.borrow_mut()))
}

impl Scratch {
    /// Makes a stored vector (already reordered and padded) the query.
    pub(super) fn set_stored_query(&mut self, v: &[f32]) {
        self.query.clear();
        self.query.extend_from_slice(v);
    }

    fn next_epoch(&mut self, rows: usize) {
        if self.visited.len() < rows {
            self.visited = vec![0; rows];
            self.epoch = 0;
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.visited.fill(0);
            self.epoch = 1;
        }
    }
}

/// Greedy descent (`ef = 1`) through layers `top..=bottom`, from `from`; returns the key of
/// the closest node found.
pub(super) fn descend(store: &Store, dist: BoundedKernel, q: &[f32], from: u64, top: usize, bottom: usize) -> u64 {
    let mut cur = from;
    for layer in (bottom..=top).rev() {
        loop {
            let mut moved = false;
            for link in store.links(node_of(cur), layer) {
                let nb = link.load(Ordering::Relaxed);
                let d = dist(q, store.vector(nb), dist_of(cur));
                if d < dist_of(cur) {
                    cur = key(d, nb);
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
    }
    cur
}

/// Best-first search of `layer` from the `entry` keys for the query in `s.query`, keeping the
/// `ef` closest (Alg. 2); leaves them in `s.found`, nearest first.
pub(super) fn search_layer(store: &Store, dist: BoundedKernel, entry: &[u64], ef: usize, layer: usize, s: &mut Scratch) {
    s.next_epoch(store.rows());
    let epoch = s.epoch;
    let Scratch { visited, candidates, best, fresh, query, found, .. } = s;
    let q = &query[..];
    candidates.clear();
    best.clear();
    for &e in entry {
        visited[node_of(e) as usize] = epoch;
        candidates.push(Reverse(e));
        best.push(e);
        if best.len() > ef {
            best.pop();
        }
    }
    while let Some(Reverse(c)) = candidates.pop() {
        if best.len() >= ef && best.peek().is_some_and(|&w| c > w) {
            break;
        }
        // Gather the unvisited neighbours first, so their vectors can be requested ahead.
        fresh.clear();
        for link in store.links(node_of(c), layer) {
            let nb = link.load(Ordering::Relaxed);
            let seen = &mut visited[nb as usize];
            if *seen != epoch {
                *seen = epoch;
                fresh.push(nb);
            }
        }
        for &nb in fresh.iter().take(AHEAD) {
            store.prefetch_vector(nb, PREFETCH_LINES);
        }
        for (i, &nb) in fresh.iter().enumerate() {
            if let Some(&next) = fresh.get(i + AHEAD) {
                store.prefetch_vector(next, PREFETCH_LINES);
            }
            // Only a node nearer than the current worst of the `ef` can enter, so that
            // distance bounds the computation.
            let worst = if best.len() < ef { f32::INFINITY } else { best.peek().map_or(f32::INFINITY, |&w| dist_of(w)) };
            let d = dist(q, store.vector(nb), worst);
            if d < worst {
                let k = key(d, nb);
                candidates.push(Reverse(k));
                best.push(k);
                if best.len() > ef {
                    best.pop();
                }
            }
        }
        // The next node to expand: start fetching its list.
        if let Some(Reverse(top)) = candidates.peek() {
            store.prefetch_links(node_of(*top));
        }
    }
    found.clear();
    found.extend(best.drain());
    found.sort_unstable();
}
