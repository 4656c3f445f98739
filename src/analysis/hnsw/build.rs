//! Building the graph (Malkov & Yashunin 2018, Alg. 1 and 4), nodes inserted in parallel.
//!
//! Searches read links without locks (see `store`); a per-node lock, which exists only
//! while building, serialises the writes to one node's lists: setting a new node's own list,
//! and adding the new node to each chosen neighbour's list, re-selecting that list with the
//! heuristic when it is full.

use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};

use rayon::prelude::*;

use super::search::{descend, dist_of, key, node_of, search_layer, with_scratch, Scratch};
use super::store::Store;
use crate::analysis::distance::BoundedKernel;

pub(super) struct Builder<'a> {
    pub store: &'a Store,
    pub dist: BoundedKernel,
    pub m: usize,
    pub ef: usize,
    locks: Vec<Mutex<()>>,
    /// Entry point and its level.
    entry: Mutex<(u32, usize)>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(store: &'a Store, dist: BoundedKernel, m: usize, ef: usize) -> Self {
        let locks = (0..store.rows()).map(|_| Mutex::new(())).collect();
        let entry = Mutex::new((0, if store.rows() > 0 { store.level(0) } else { 0 }));
        Self { store, dist, m, ef, locks, entry }
    }

    /// Inserts nodes `1..rows` (node 0 is the first entry point) on rayon's pool; returns
    /// the final entry point and top layer.
    pub(super) fn run(self) -> (u32, usize) {
        (1..self.store.rows() as u32).into_par_iter().for_each(|node| with_scratch(|s| self.insert(node, s)));
        *lock(&self.entry)
    }

    fn insert(&self, node: u32, s: &mut Scratch) {
        let store = self.store;
        let level = store.level(node);
        let (entry, top) = *lock(&self.entry);
        s.set_stored_query(store.vector(node));
        let start = key((self.dist)(&s.query, store.vector(entry), f32::INFINITY), entry);
        let mut ep = vec![if top > level { descend(store, self.dist, &s.query, start, top, level + 1) } else { start }];
        for layer in (0..=level.min(top)).rev() {
            search_layer(store, self.dist, &ep, self.ef, layer, s);
            let found = std::mem::take(&mut s.found);
            self.connect(node, layer, &found, s);
            // The whole candidate set seeds the next layer down (Alg. 1, ep ← W).
            ep.clear();
            ep.extend_from_slice(&found);
            s.found = found;
        }
        if level > top {
            let mut e = lock(&self.entry);
            if level > e.1 {
                *e = (node, level);
            }
        }
    }

    /// Links `node` to the best of `found` on `layer`, and them back to it.
    fn connect(&self, node: u32, layer: usize, found: &[u64], s: &mut Scratch) {
        let store = self.store;
        let mut chosen = std::mem::take(&mut s.ids);
        select(store, self.dist, found, self.m, &mut chosen);
        {
            let _g = lock(&self.locks[node as usize]);
            store.set_links(node, layer, &chosen);
        }
        let cap = store.capacity(layer);
        let mut cands = std::mem::take(&mut s.keys);
        let mut kept = Vec::with_capacity(cap);
        for &nb in &chosen {
            let _g = lock(&self.locks[nb as usize]);
            if store.push_link(nb, layer, node) {
                continue;
            }
            // Full: re-select among its links plus the new node (Alg. 1, shrink connections).
            let base = store.vector(nb);
            cands.clear();
            for link in store.links(nb, layer) {
                let id = link.load(Ordering::Relaxed);
                cands.push(key((self.dist)(base, store.vector(id), f32::INFINITY), id));
            }
            cands.push(key((self.dist)(base, store.vector(node), f32::INFINITY), node));
            cands.sort_unstable();
            select(store, self.dist, &cands, cap, &mut kept);
            store.set_links(nb, layer, &kept);
        }
        s.keys = cands;
        s.ids = chosen;
    }
}

/// The paper's heuristic (Alg. 4, without extending or refilling): walking candidates from
/// nearest to the base point, keep one only if it is closer to the base than to every
/// neighbour kept so far, up to `max`. Spreads links over directions instead of spending
/// them all on one dense clump.
fn select(store: &Store, dist: BoundedKernel, sorted: &[u64], max: usize, kept: &mut Vec<u32>) {
    kept.clear();
    for &c in sorted {
        if kept.len() >= max {
            break;
        }
        let (id, d) = (node_of(c), dist_of(c));
        let v = store.vector(id);
        // `r` rejects `c` if nearer to it than the base is; past `d` the sum can stop.
        if kept.iter().all(|&r| dist(v, store.vector(r), d) >= d) {
            kept.push(id);
        }
    }
}

/// Locks ignoring poison: a panicking insert leaves lists that are still valid id lists.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
