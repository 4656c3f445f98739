//! Data-quality scores from the embedding's neighbour graph, one value per item, in the
//! spirit of FiftyOne Brain's uniqueness, near-duplicates, mistakenness and
//! representativeness, computed on whichever embedding the user is looking at:
//!
//! - uniqueness: cosine distance to the k-th nearest neighbour, scaled so the most isolated
//!   item scores 1 (outliers score high);
//! - near-duplicate groups: connected components of the neighbour pairs closer than a
//!   cosine-distance threshold;
//! - label errors: the largest share of the weighted kNN vote (DINO weights, exp(sim / 0.07))
//!   that one other class than the item's label gets; 1 when every neighbour agrees on
//!   another class;
//! - representativeness: cosine similarity to the centroid of the item's k-means cluster,
//!   min–max scaled within the cluster (1 = the cluster's most typical item).

use rayon::prelude::*;

use super::index::{IndexParams, Metric, NeighborIndex};
use super::Matrix;
use crate::error::{PretextError, Result};

/// DINO's kNN temperature, as in the kNN accuracy the app and CLI report.
const VOTE_TEMPERATURE: f32 = 0.07;

#[derive(Debug, Clone, PartialEq)]
pub struct ScoreParams {
    /// Neighbours per item.
    pub k: usize,
    /// Items closer than this cosine distance (1 − cos) are near-duplicates.
    pub duplicate_distance: f32,
}

impl Default for ScoreParams {
    fn default() -> Self {
        Self { k: 10, duplicate_distance: 0.01 }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ItemScores {
    pub uniqueness: Vec<f32>,
    /// Group id of each item in a near-duplicate group (groups of two or more; ids from 0).
    pub duplicate_group: Vec<Option<u32>>,
    /// None without labels.
    pub label_error: Option<Vec<f32>>,
    /// None without cluster assignments.
    pub representativeness: Option<Vec<f32>>,
}

/// The kNN graph of `embeddings` under cosine distance (HNSW above 5,000 rows).
pub fn neighbour_graph(embeddings: &Matrix, k: usize) -> Result<Vec<Vec<(usize, f32)>>> {
    if k == 0 || k >= embeddings.rows {
        return Err(PretextError::Analysis(format!("need 0 < k < n (k={k}, n={})", embeddings.rows)));
    }
    Ok(NeighborIndex::build(embeddings, Metric::Cosine, IndexParams::default())?.knn_graph(k))
}

/// Every score for every row. `labels` and `clusters` (one entry per row) are optional.
pub fn item_scores(embeddings: &Matrix, labels: Option<&[u32]>, clusters: Option<&[usize]>, params: &ScoreParams) -> Result<ItemScores> {
    for (what, len) in [("labels", labels.map(<[u32]>::len)), ("cluster assignments", clusters.map(<[usize]>::len))] {
        if len.is_some_and(|l| l != embeddings.rows) {
            return Err(PretextError::Analysis(format!("{} {what} for {} rows", len.unwrap_or(0), embeddings.rows)));
        }
    }
    let graph = neighbour_graph(embeddings, params.k)?;
    Ok(item_scores_of_graph(&graph, embeddings, labels, clusters, params))
}

/// Every score from an already searched k-NN graph of `embeddings` (callers that also need
/// the graph for other measures search it once).
pub fn item_scores_of_graph(graph: &[Vec<(usize, f32)>], embeddings: &Matrix, labels: Option<&[u32]>, clusters: Option<&[usize]>, params: &ScoreParams) -> ItemScores {
    ItemScores {
        uniqueness: uniqueness(graph),
        duplicate_group: duplicate_groups(graph, params.duplicate_distance),
        label_error: labels.map(|l| label_errors(graph, l)),
        representativeness: clusters.map(|c| representativeness(embeddings, c)),
    }
}

/// Every score of a map, from one pass: what the window's scores panel and `pretext scores`
/// both show, so the two agree item for item.
pub struct MapScoreSet {
    /// Each item's `params.k` nearest items with cosine distances.
    pub graph: Vec<Vec<(usize, f32)>>,
    pub scores: ItemScores,
    /// The k-means clusters representativeness is measured in.
    pub clusters: Vec<usize>,
    /// Per item: the share of its embedding neighbours that are not its map neighbours.
    pub map_disagreement: Vec<f32>,
}

/// Clusters representativeness is measured in: one per class (two without labels), at most
/// one per item.
pub fn representativeness_clusters(classes: usize, items: usize) -> usize {
    classes.max(2).min(items)
}

/// Scores `embeddings` (one row per item) and their 2D `layout` (`n × 2`): one k-NN search
/// serves every score and the map disagreement. `classes` sets the k-means k.
pub fn score_map(embeddings: &Matrix, labels: Option<&[u32]>, classes: usize, layout: &Matrix, params: &ScoreParams, seed: u64) -> Result<MapScoreSet> {
    let graph = neighbour_graph(embeddings, params.k)?;
    let clusters = super::kmeans::fit(&embeddings.l2_normalized(), representativeness_clusters(classes, embeddings.rows), seed)?;
    let scores = item_scores_of_graph(&graph, embeddings, labels, Some(&clusters), params);
    let map_disagreement = super::quality::neighbor_disagreement_of_graph(&graph, layout, params.k)?;
    Ok(MapScoreSet { graph, scores, clusters, map_disagreement })
}

/// Distance to the farthest of the k neighbours, divided by the largest such distance.
pub fn uniqueness(graph: &[Vec<(usize, f32)>]) -> Vec<f32> {
    let kth: Vec<f32> = graph.iter().map(|n| n.last().map_or(0.0, |p| p.1.max(0.0))).collect();
    let max = kth.iter().copied().fold(0.0f32, f32::max);
    kth.iter().map(|&d| if max > 0.0 { d / max } else { 0.0 }).collect()
}

/// Connected components over neighbour pairs closer than `threshold`; singletons get None.
pub fn duplicate_groups(graph: &[Vec<(usize, f32)>], threshold: f32) -> Vec<Option<u32>> {
    let mut parent: Vec<usize> = (0..graph.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, neighbours) in graph.iter().enumerate() {
        for &(j, d) in neighbours {
            if d <= threshold {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let roots: Vec<usize> = (0..graph.len()).map(|i| root(&mut parent, i)).collect();
    let mut size = vec![0usize; graph.len()];
    roots.iter().for_each(|&r| size[r] += 1);
    // Ids in order of each group's first item, so they are stable for a given input.
    let mut id = vec![None; graph.len()];
    let mut next = 0u32;
    roots
        .iter()
        .map(|&r| {
            if size[r] < 2 {
                return None;
            }
            Some(*id[r].get_or_insert_with(|| {
                next += 1;
                next - 1
            }))
        })
        .collect()
}

/// The weighted kNN vote's confidence in another class than the item's label: the largest
/// share of the votes (weights exp(cos / T)) that any single other class gets. 1 when every
/// neighbour agrees on one other class; a vote split between several other classes scores
/// lower, since no single alternative is clear (FiftyOne's mistakenness scores a model's
/// confidence in the same way).
pub fn label_errors(graph: &[Vec<(usize, f32)>], labels: &[u32]) -> Vec<f32> {
    let classes = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    graph
        .par_iter()
        .enumerate()
        .map_init(
            || vec![0f32; classes],
            |votes, (i, neighbours)| {
                votes.iter_mut().for_each(|v| *v = 0.0);
                let mut total = 0f32;
                for &(j, d) in neighbours {
                    let w = ((1.0 - d) / VOTE_TEMPERATURE).exp();
                    total += w;
                    votes[labels[j] as usize] += w;
                }
                let own = labels[i] as usize;
                let best_other = votes.iter().enumerate().filter(|&(c, _)| c != own).map(|(_, &v)| v).fold(0f32, f32::max);
                if total > 0.0 {
                    best_other / total
                } else {
                    0.0
                }
            },
        )
        .collect()
}

/// Cosine similarity to the own cluster's centroid (of unit rows), min–max scaled per cluster.
pub fn representativeness(embeddings: &Matrix, clusters: &[usize]) -> Vec<f32> {
    let unit = embeddings.l2_normalized();
    let k = clusters.iter().copied().max().map_or(0, |m| m + 1);
    let d = unit.cols;
    let mut centroids = vec![0f32; k * d];
    for (i, &c) in clusters.iter().enumerate() {
        centroids[c * d..(c + 1) * d].iter_mut().zip(unit.row(i)).for_each(|(s, v)| *s += v);
    }
    let centroids = Matrix::new(centroids, k, d).l2_normalized();
    let sim: Vec<f32> = (0..unit.rows).map(|i| super::distance::dot(unit.row(i), centroids.row(clusters[i]))).collect();
    let (mut lo, mut hi) = (vec![f32::INFINITY; k], vec![f32::NEG_INFINITY; k]);
    for (&s, &c) in sim.iter().zip(clusters) {
        lo[c] = lo[c].min(s);
        hi[c] = hi[c].max(s);
    }
    sim.iter()
        .zip(clusters)
        .map(|(&s, &c)| if hi[c] > lo[c] { (s - lo[c]) / (hi[c] - lo[c]) } else { 1.0 })
        .collect()
}
