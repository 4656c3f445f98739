//! Choosing a few diverse items to label: the greedy k-center coreset (farthest-first
//! traversal, Sener & Savarese 2018, "Active Learning for Convolutional Neural Networks: A
//! Core-Set Approach"), and the most typical item of each k-means cluster (TypiClust, Hacohen,
//! Dekel & Weinshall 2022, "Active Learning on a Budget"), where typicality is the inverse
//! mean distance to the item's nearest neighbours within its cluster.
//!
//! k-center spreads its picks to the edges of the data: it minimises the largest distance
//! from any item to its nearest pick (the coverage radius), so outliers are picked early.
//! Typical-per-cluster does the opposite within each cluster (the densest, most
//! representative item), which labels better when only a handful of labels are affordable.
//! Both work on the rows as given, by Euclidean distance: pass unit-length rows for cosine
//! geometry.

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::distance::sq_euclidean_kernel;
use super::index::{IndexParams, Metric, NeighborIndex};
use super::{kmeans, Matrix};
use crate::error::Result;

/// Neighbours an item's typicality is measured over (TypiClust's choice), fewer in clusters
/// too small to have them.
const TYPICALITY_NEIGHBOURS: usize = 20;

/// Why a selection cannot be made; checked before any work starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoresetError {
    #[error("choose at least one item to select")]
    NothingToPick,
    #[error("cannot select {wanted} items from {available}")]
    MoreThanThereAre { wanted: usize, available: usize },
    #[error("the embeddings contain NaN or infinite values")]
    NotFinite,
    #[error("item {item} is not among the {available} items")]
    NoSuchItem { item: usize, available: usize },
}

/// How to choose the items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CoresetMethod {
    /// Farthest-first traversal: every item close to some pick.
    #[default]
    KCenter,
    /// k-means with one cluster per pick, then the most typical item of each.
    TypicalPerCluster,
}

impl CoresetMethod {
    pub const ALL: [CoresetMethod; 2] = [CoresetMethod::KCenter, CoresetMethod::TypicalPerCluster];

    pub fn label(self) -> &'static str {
        match self {
            CoresetMethod::KCenter => "k-center",
            CoresetMethod::TypicalPerCluster => "typical",
        }
    }

    /// The method a user names (`k-center`, `kcenter`, `typical`, `typiclust`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
            "k-center" | "kcenter" | "coreset" => Some(CoresetMethod::KCenter),
            "typical" | "typiclust" | "typical-per-cluster" => Some(CoresetMethod::TypicalPerCluster),
            _ => None,
        }
    }
}

/// What to select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoresetParams {
    /// Items to pick.
    pub n: usize,
    /// Seeds the first k-center pick and the k-means start.
    pub seed: u64,
}

impl CoresetParams {
    /// `n` must be between 1 and the number of items.
    pub fn check(&self, items: usize) -> std::result::Result<(), CoresetError> {
        if self.n == 0 {
            return Err(CoresetError::NothingToPick);
        }
        if self.n > items {
            return Err(CoresetError::MoreThanThereAre { wanted: self.n, available: items });
        }
        Ok(())
    }
}

/// The picked rows, in the order they were picked, and how well they cover the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Coreset {
    pub picks: Vec<usize>,
    /// The largest distance from any row to its nearest pick.
    pub radius: f32,
}

/// `n` rows of `x` chosen by `method`.
pub fn select(x: &Matrix, method: CoresetMethod, params: CoresetParams) -> Result<Coreset> {
    match method {
        CoresetMethod::KCenter => k_center(x, params.n, params.seed),
        CoresetMethod::TypicalPerCluster => typical_per_cluster(x, params.n, params.seed),
    }
}

fn check(x: &Matrix, n: usize, seed: u64) -> std::result::Result<(), CoresetError> {
    CoresetParams { n, seed }.check(x.rows)?;
    if x.data.iter().any(|v| !v.is_finite()) {
        return Err(CoresetError::NotFinite);
    }
    Ok(())
}

/// Greedy k-center: a seeded random first pick, then each time the row farthest from every
/// pick so far. Its coverage radius is at most twice the best possible (Gonzalez 1985).
pub fn k_center(x: &Matrix, n: usize, seed: u64) -> Result<Coreset> {
    check(x, n, seed)?;
    let first = rand::rngs::StdRng::seed_from_u64(seed).random_range(0..x.rows);
    let mut rest = farthest_first(x, n - 1, &[first]);
    rest.picks.insert(0, first);
    Ok(rest)
}

/// `n` more rows by farthest-first traversal from rows already chosen (items already
/// labelled, say; Sener & Savarese's setting). The picks exclude `start`; the radius counts
/// `start` and the picks together.
pub fn k_center_from(x: &Matrix, n: usize, start: &[usize]) -> Result<Coreset> {
    if let Some(&item) = start.iter().find(|&&i| i >= x.rows) {
        return Err(CoresetError::NoSuchItem { item, available: x.rows }.into());
    }
    let mut distinct = start.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if start.is_empty() {
        return k_center(x, n, 0);
    }
    // Only rows not chosen yet can be picked.
    CoresetParams { n, seed: 0 }.check(x.rows - distinct.len())?;
    check(x, n, 0)?;
    Ok(farthest_first(x, n, &distinct))
}

/// Farthest-first traversal: `n` picks, each the row farthest from `start` and the picks
/// before it (`start` non-empty).
fn farthest_first(x: &Matrix, n: usize, start: &[usize]) -> Coreset {
    let kernel = sq_euclidean_kernel();
    // Squared distance from each row to its nearest pick, lowered as picks are added.
    let mut nearest: Vec<f32> = (0..x.rows)
        .into_par_iter()
        .map(|i| start.iter().map(|&s| kernel(x.row(i), x.row(s))).fold(f32::INFINITY, f32::min))
        .collect();
    let mut picks = Vec::with_capacity(n);
    while picks.len() < n {
        let next = farthest(&nearest);
        picks.push(next);
        let pick = x.row(next);
        nearest.par_iter_mut().enumerate().for_each(|(i, d)| *d = d.min(kernel(x.row(i), pick)));
    }
    let radius = nearest.iter().copied().fold(0.0f32, f32::max).sqrt();
    Coreset { picks, radius }
}

/// The row with the largest distance (the lowest such index on ties, so results do not
/// depend on thread timing).
fn farthest(nearest: &[f32]) -> usize {
    nearest.iter().enumerate().fold((0, f32::MIN), |best, (i, &d)| if d > best.1 { (i, d) } else { best }).0
}

/// k-means into `n` clusters, then from each cluster (largest first) its most typical row.
/// When k-means leaves clusters empty, the remaining picks are the next most typical rows
/// of the clusters, again largest first, so exactly `n` distinct rows are returned.
pub fn typical_per_cluster(x: &Matrix, n: usize, seed: u64) -> Result<Coreset> {
    check(x, n, seed)?;
    let assignments = kmeans::fit(x, n, seed)?;
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &c) in assignments.iter().enumerate() {
        members[c].push(i);
    }
    members.retain(|m| !m.is_empty());
    members.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    // Each cluster's rows from most to least typical.
    let ranked: Vec<Vec<usize>> = members.par_iter().map(|m| by_typicality(x, m)).collect::<Result<_>>()?;
    let mut picks = Vec::with_capacity(n);
    'rounds: for round in 0.. {
        let mut any = false;
        for cluster in &ranked {
            if let Some(&i) = cluster.get(round) {
                picks.push(i);
                any = true;
                if picks.len() == n {
                    break 'rounds;
                }
            }
        }
        if !any {
            break;
        }
    }
    let radius = coverage_radius(x, &picks);
    Ok(Coreset { picks, radius })
}

/// `rows` ordered by typicality, `1 / mean distance to the K nearest other rows` of the
/// same set, highest first (ties by index).
fn by_typicality(x: &Matrix, rows: &[usize]) -> Result<Vec<usize>> {
    if rows.len() < 3 {
        return Ok(rows.to_vec());
    }
    let k = TYPICALITY_NEIGHBOURS.min(rows.len() - 1);
    let sub = x.select_rows(rows);
    let graph = NeighborIndex::build(&sub, Metric::Euclidean, IndexParams::default())?.knn_graph(k);
    let spread: Vec<f32> = graph.iter().map(|nn| nn.iter().map(|p| p.1).sum::<f32>() / nn.len().max(1) as f32).collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    // Smallest mean distance = most typical.
    order.sort_by(|&a, &b| spread[a].total_cmp(&spread[b]).then(rows[a].cmp(&rows[b])));
    Ok(order.into_iter().map(|j| rows[j]).collect())
}

/// The largest distance from any row of `x` to its nearest row among `picks` (0 without rows,
/// infinite without picks).
pub fn coverage_radius(x: &Matrix, picks: &[usize]) -> f32 {
    if picks.is_empty() {
        return if x.rows == 0 { 0.0 } else { f32::INFINITY };
    }
    let kernel = sq_euclidean_kernel();
    (0..x.rows)
        .into_par_iter()
        .map(|i| picks.iter().map(|&p| kernel(x.row(i), x.row(p))).fold(f32::INFINITY, f32::min))
        .reduce(|| 0.0, f32::max)
        .sqrt()
}
