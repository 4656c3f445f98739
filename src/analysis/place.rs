//! New items placed into an existing 2D map without laying it out again: the old points stay
//! where they are and only the new ones are positioned.
//!
//! - PCA: a linear projection. A map laid out by PCA is a linear function of the embeddings,
//!   so the map's own projection ([`LinearMap`], saved with it) places new rows exactly where
//!   a layout of all items would have put them; without a saved one it is fitted to the map
//!   by least squares (on the old rows' leading principal components, which recovers a PCA
//!   map exactly, rotated, mirrored or scaled as it may be on screen).
//! - UMAP and t-SNE: each new point starts at the weighted mean of the map positions of its
//!   nearest old points in embedding space (UMAP membership strengths, t-SNE conditional
//!   affinities), then a few iterations of the method's own optimiser move it with every old
//!   point held fixed (`umap::layout_graph_fixed`, `tsne::optimize_fixed`), as umap-learn's
//!   and openTSNE's `transform` do. The optimiser runs at the method's own scale
//!   ([`super::place_scale`]); the result is brought back into the map's frame.

use super::affinity::{conditional_row, SparseP};
use super::fuzzy::{fit_ab, fuzzy_simplicial_set, mean_distance, memberships, Graph};
use super::index::{IndexParams, Metric, NeighborIndex};
use super::pca::PcaModel;
use super::tsne::{optimize_fixed, TsneParams};
use super::umap::{layout_graph_fixed, UmapParams};
use super::{align, place_scale, tsne, umap, Matrix};
use crate::error::{PretextError, Result};

/// How the map was laid out, and so how new points are placed into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaceMethod {
    #[default]
    Pca,
    Umap,
    Tsne,
}

impl PlaceMethod {
    pub const ALL: [PlaceMethod; 3] = [PlaceMethod::Pca, PlaceMethod::Umap, PlaceMethod::Tsne];

    pub fn label(self) -> &'static str {
        match self {
            PlaceMethod::Pca => "PCA",
            PlaceMethod::Umap => "UMAP",
            PlaceMethod::Tsne => "t-SNE",
        }
    }

    /// The method a user names (`pca`, `umap`, `tsne` or `t-sne`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "pca" => Some(PlaceMethod::Pca),
            "umap" => Some(PlaceMethod::Umap),
            "tsne" | "t-sne" => Some(PlaceMethod::Tsne),
            _ => None,
        }
    }
}

/// Principal components the least-squares fit of a map uses at most: enough to recover any
/// map that is linear in a few leading directions, few enough to stay well posed.
const FIT_COMPONENTS: usize = 32;
/// Old neighbours a new point is placed among (UMAP's default neighbourhood).
const UMAP_NEIGHBOURS: usize = 15;
/// openTSNE places new points with perplexity 5 on 15 neighbours, for a local placement.
const TSNE_PERPLEXITY: f64 = 5.0;
const TSNE_NEIGHBOURS: usize = 15;
/// Optimisation after the weighted start: umap-learn's `transform` runs 100 epochs (30 above
/// 10,000 points) at a quarter of the learning rate; t-SNE gets the same few iterations.
const UMAP_EPOCHS_SMALL: usize = 100;
const UMAP_EPOCHS_LARGE: usize = 30;
const UMAP_LEARNING_RATE: f32 = 0.25;
const TSNE_ITERATIONS: usize = 100;

/// An affine map from an embedding to its map position: `x · W + offset`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearMap {
    /// `d × 2`, row-major.
    pub weights: Matrix,
    pub offset: [f32; 2],
}

impl LinearMap {
    /// The least-squares affine map from the rows of `embeddings` to `layout`, through the
    /// rows' leading principal components.
    pub fn fit(embeddings: &Matrix, layout: &[[f32; 2]]) -> Result<Self> {
        if embeddings.rows != layout.len() || embeddings.rows < 3 {
            return Err(PretextError::Analysis(format!(
                "fitting a map's projection needs one position per embedding and at least 3 of them (got {} embeddings, {} positions)",
                embeddings.rows,
                layout.len()
            )));
        }
        let d = embeddings.cols;
        let model = PcaModel::fit(embeddings, FIT_COMPONENTS)?;
        let k = model.k;
        let scores = model.transform(embeddings);
        let target_mean = [0, 1].map(|o| layout.iter().map(|p| p[o] as f64).sum::<f64>() / layout.len() as f64);
        // Normal equations (ZᵀZ + λI) B = Zᵀ (L − mean); Z's columns are centred already.
        let mut gram = vec![0f64; k * k];
        let mut rhs = vec![0f64; k * 2];
        for (row, p) in scores.data.chunks_exact(k).zip(layout) {
            for a in 0..k {
                for b in 0..k {
                    gram[a * k + b] += row[a] as f64 * row[b] as f64;
                }
                for o in 0..2 {
                    rhs[a * 2 + o] += row[a] as f64 * (p[o] as f64 - target_mean[o]);
                }
            }
        }
        let trace: f64 = (0..k).map(|a| gram[a * k + a]).sum();
        let ridge = 1e-9 * trace / k as f64 + f64::MIN_POSITIVE;
        (0..k).for_each(|a| gram[a * k + a] += ridge);
        let coef = solve_spd(&gram, &rhs, k, 2).ok_or_else(|| PretextError::Analysis("the map's projection could not be fitted (degenerate embeddings)".into()))?;
        // W = Cᵀ B (C: k component rows), offset = mean(L) − mean(x)·W.
        let mut weights = vec![0f32; d * 2];
        for c in 0..k {
            let component = model.component(c);
            for (j, &v) in component.iter().enumerate() {
                for o in 0..2 {
                    weights[j * 2 + o] += v * coef[c * 2 + o] as f32;
                }
            }
        }
        let (mean, _) = embeddings.column_moments();
        let offset = [0, 1].map(|o| (target_mean[o] - (0..d).map(|j| mean[j] * weights[j * 2 + o] as f64).sum::<f64>()) as f32);
        Ok(Self { weights: Matrix::new(weights, d, 2), offset })
    }

    /// Map positions of the rows of `x`.
    pub fn apply(&self, x: &Matrix) -> Result<Vec<[f32; 2]>> {
        if x.cols != self.weights.rows {
            return Err(PretextError::Analysis(format!("the map was made from {}-dimensional embeddings, these have {}", self.weights.rows, x.cols)));
        }
        Ok((0..x.rows)
            .map(|i| {
                let r = x.row(i);
                let mut p = [self.offset[0] as f64, self.offset[1] as f64];
                for (j, &v) in r.iter().enumerate() {
                    p[0] += v as f64 * self.weights.data[2 * j] as f64;
                    p[1] += v as f64 * self.weights.data[2 * j + 1] as f64;
                }
                [p[0] as f32, p[1] as f32]
            })
            .collect())
    }

    /// As one `(d + 1) × 2` matrix (the weights, then the offset), for saving.
    pub fn to_matrix(&self) -> Matrix {
        let mut data = self.weights.data.clone();
        data.extend_from_slice(&self.offset);
        Matrix::new(data, self.weights.rows + 1, 2)
    }

    pub fn from_matrix(m: &Matrix) -> Result<Self> {
        if m.cols != 2 || m.rows < 2 {
            return Err(PretextError::Analysis(format!("a map projection is (d + 1) × 2, this is {}×{}", m.rows, m.cols)));
        }
        let d = m.rows - 1;
        Ok(Self { weights: Matrix::new(m.data[..2 * d].to_vec(), d, 2), offset: [m.data[2 * d], m.data[2 * d + 1]] })
    }
}

/// Solves `A X = B` for symmetric positive definite `A` (`k × k`) and `B` (`k × m`) by
/// Cholesky; `None` when `A` is not positive definite.
fn solve_spd(a: &[f64], b: &[f64], k: usize, m: usize) -> Option<Vec<f64>> {
    let mut l = vec![0f64; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = a[i * k + j] - (0..j).map(|p| l[i * k + p] * l[j * k + p]).sum::<f64>();
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * k + i] = s.sqrt();
            } else {
                l[i * k + j] = s / l[j * k + j];
            }
        }
    }
    let mut x = b.to_vec();
    for c in 0..m {
        for i in 0..k {
            let s: f64 = x[i * m + c] - (0..i).map(|p| l[i * k + p] * x[p * m + c]).sum::<f64>();
            x[i * m + c] = s / l[i * k + i];
        }
        for i in (0..k).rev() {
            let s: f64 = x[i * m + c] - (i + 1..k).map(|p| l[p * k + i] * x[p * m + c]).sum::<f64>();
            x[i * m + c] = s / l[i * k + i];
        }
    }
    Some(x)
}

/// A map of `embeddings` by `method`, normalised as the window shows a first layout
/// (centred, unit RMS radius), and for PCA the projection that makes it.
pub fn lay_out(embeddings: &Matrix, method: PlaceMethod, seed: u64) -> Result<(Vec<[f32; 2]>, Option<LinearMap>)> {
    if embeddings.rows < 4 {
        return Err(PretextError::Analysis(format!("a map needs at least 4 items, got {}", embeddings.rows)));
    }
    let points = |m: &Matrix| m.data.chunks_exact(2).map(|p| [p[0], p[1]]).collect::<Vec<[f32; 2]>>();
    let layout = match method {
        PlaceMethod::Pca => {
            let model = PcaModel::fit_with(embeddings, 2, super::pca::PcaSolver::CovarianceEigh)?;
            points(&model.transform(embeddings))
        }
        PlaceMethod::Umap => points(&umap::umap(embeddings, &UmapParams { seed, ..UmapParams::default() }, |_, _| true)?),
        PlaceMethod::Tsne => points(&tsne::tsne(embeddings, &TsneParams { seed, ..TsneParams::default() }, |_, _| true)?),
    };
    let layout = align::normalise(&layout);
    let projection = match method {
        PlaceMethod::Pca => Some(LinearMap::fit(embeddings, &layout)?),
        PlaceMethod::Umap | PlaceMethod::Tsne => None,
    };
    Ok((layout, projection))
}

/// Map positions for the rows of `new_embeddings`, placed into `old_layout` (the map of the
/// rows of `old_embeddings`, which stay where they are) by `method`. For PCA the projection is
/// fitted to the old map; a caller holding the map's saved [`LinearMap`] applies it instead.
pub fn place_new_points(old_embeddings: &Matrix, old_layout: &[[f32; 2]], new_embeddings: &Matrix, method: PlaceMethod, seed: u64) -> Result<Vec<[f32; 2]>> {
    check_inputs(old_embeddings, old_layout, new_embeddings)?;
    if new_embeddings.rows == 0 {
        return Ok(Vec::new());
    }
    match method {
        PlaceMethod::Pca => LinearMap::fit(old_embeddings, old_layout)?.apply(new_embeddings),
        PlaceMethod::Umap => place_umap(old_embeddings, old_layout, new_embeddings, seed),
        PlaceMethod::Tsne => place_tsne(old_embeddings, old_layout, new_embeddings, seed),
    }
}

fn check_inputs(old: &Matrix, layout: &[[f32; 2]], new: &Matrix) -> Result<()> {
    if old.rows != layout.len() {
        return Err(PretextError::Analysis(format!("{} old embeddings but {} map positions", old.rows, layout.len())));
    }
    if old.rows < 4 {
        return Err(PretextError::Analysis(format!("placing into a map needs at least 4 items on it, it has {}", old.rows)));
    }
    if new.rows > 0 && new.cols != old.cols {
        return Err(PretextError::BadData(format!(
            "the new items' embeddings have {} dimensions, the map's {}: embed them with the same encoder",
            new.cols, old.cols
        )));
    }
    if old.data.iter().chain(&new.data).any(|v| !v.is_finite()) || layout.iter().flatten().any(|v| !v.is_finite()) {
        return Err(PretextError::BadData("the embeddings or the map contain NaN or infinite values".into()));
    }
    Ok(())
}

/// The map's centre, and its points as flat pairs in a frame centred there and stretched by
/// `scale`.
struct Frame {
    centre: [f64; 2],
    scale: f64,
}

impl Frame {
    fn of(layout: &[[f32; 2]]) -> Self {
        let n = layout.len().max(1) as f64;
        let centre = [0, 1].map(|o| layout.iter().map(|p| p[o] as f64).sum::<f64>() / n);
        Self { centre, scale: 1.0 }
    }

    fn into_method(&self, p: [f32; 2]) -> [f32; 2] {
        [((p[0] as f64 - self.centre[0]) * self.scale) as f32, ((p[1] as f64 - self.centre[1]) * self.scale) as f32]
    }

    fn out_of_method(&self, p: [f32; 2]) -> [f32; 2] {
        [(p[0] as f64 / self.scale + self.centre[0]) as f32, (p[1] as f64 / self.scale + self.centre[1]) as f32]
    }
}

/// Weighted mean of the positions of `neighbours` (`(old row, weight)`), the plain mean when
/// every weight is zero.
fn weighted_start(layout: &[[f32; 2]], neighbours: &[(usize, f32)]) -> [f32; 2] {
    let total: f64 = neighbours.iter().map(|p| p.1 as f64).sum();
    let n = neighbours.len().max(1) as f64;
    let mut p = [0f64; 2];
    for &(j, w) in neighbours {
        let w = if total > 0.0 { w as f64 / total } else { 1.0 / n };
        p[0] += w * layout[j][0] as f64;
        p[1] += w * layout[j][1] as f64;
    }
    [p[0] as f32, p[1] as f32]
}

/// The neighbour-weighted starts alone (no optimisation), in the map's frame: where each new
/// point begins before UMAP's or t-SNE's iterations move it.
pub fn weighted_starts(old_embeddings: &Matrix, old_layout: &[[f32; 2]], new_embeddings: &Matrix, method: PlaceMethod) -> Result<Vec<[f32; 2]>> {
    check_inputs(old_embeddings, old_layout, new_embeddings)?;
    let weights = match method {
        PlaceMethod::Pca | PlaceMethod::Umap => umap_neighbours(old_embeddings, new_embeddings)?,
        PlaceMethod::Tsne => tsne_neighbours(old_embeddings, new_embeddings)?,
    };
    Ok(weights.iter().map(|nn| weighted_start(old_layout, nn)).collect())
}

fn old_index(old: &Matrix) -> Result<NeighborIndex> {
    NeighborIndex::build(old, Metric::Euclidean, IndexParams::default())
}

/// Each new row's nearest old rows with their UMAP membership strengths.
fn umap_neighbours(old: &Matrix, new: &Matrix) -> Result<Vec<Vec<(usize, f32)>>> {
    let knn = old_index(old)?.search_batch(new, UMAP_NEIGHBOURS.min(old.rows));
    let mean_all = mean_distance(&knn);
    Ok(knn.iter().map(|nn| nn.iter().zip(memberships(nn, UMAP_NEIGHBOURS, mean_all)).map(|(&(j, _), w)| (j, w)).collect()).collect())
}

/// Each new row's nearest old rows with their t-SNE conditional affinities `p_{j|i}`.
fn tsne_neighbours(old: &Matrix, new: &Matrix) -> Result<Vec<Vec<(usize, f32)>>> {
    let knn = old_index(old)?.search_batch(new, TSNE_NEIGHBOURS.min(old.rows));
    Ok(knn.iter().map(|nn| nn.iter().zip(conditional_row(nn, TSNE_PERPLEXITY)).map(|(&(j, _), p)| (j, p as f32)).collect()).collect())
}

fn place_umap(old: &Matrix, layout: &[[f32; 2]], new: &Matrix, seed: u64) -> Result<Vec<[f32; 2]>> {
    let params = UmapParams { seed, ..UmapParams::default() };
    let (n_old, n_new) = (old.rows, new.rows);
    // The old map's own graph tells its scale; the new points' edges go to old points only.
    let old_graph = {
        let k = (params.n_neighbors - 1).min(n_old - 1);
        fuzzy_simplicial_set(&NeighborIndex::build(old, params.metric, params.index.clone())?.knn_graph(k), params.n_neighbors)
    };
    let (a, b) = fit_ab(params.min_dist, params.spread);
    let mut frame = Frame::of(layout);
    let flat: Vec<f32> = layout.iter().flatten().copied().collect();
    frame.scale = place_scale::umap_scale(&old_graph, &flat, a, b, params.negative_sample_rate, params.repulsion_strength, seed);
    let neighbours = umap_neighbours(old, new)?;
    let mut graph = Graph { n: n_old + n_new, ..Graph::default() };
    for (i, nn) in neighbours.iter().enumerate() {
        for &(j, w) in nn.iter().filter(|p| p.1 > 0.0) {
            graph.head.push((n_old + i) as u32);
            graph.tail.push(j as u32);
            graph.weight.push(w);
        }
    }
    let mut init: Vec<f32> = layout.iter().flat_map(|&p| frame.into_method(p)).collect();
    init.extend(neighbours.iter().flat_map(|nn| frame.into_method(weighted_start(layout, nn))));
    let fixed: Vec<bool> = (0..n_old + n_new).map(|i| i < n_old).collect();
    let epochs = if n_old + n_new > 10_000 { UMAP_EPOCHS_LARGE } else { UMAP_EPOCHS_SMALL };
    let run = UmapParams { n_epochs: Some(epochs), learning_rate: UMAP_LEARNING_RATE, ..params };
    let placed = layout_graph_fixed(&graph, Matrix::new(init, n_old + n_new, 2), &run, &fixed, &mut |_, _| true)?;
    Ok(new_points(&placed, n_old, &frame))
}

fn place_tsne(old: &Matrix, layout: &[[f32; 2]], new: &Matrix, seed: u64) -> Result<Vec<[f32; 2]>> {
    let params = TsneParams { seed, ..TsneParams::default() };
    let (n_old, n_new) = (old.rows, new.rows);
    let n = n_old + n_new;
    // The old map's affinities, as t-SNE computed them, tell its scale.
    let old_p = {
        let k = ((3.0 * params.perplexity).ceil() as usize).clamp(1, n_old - 1);
        let index = IndexParams { ef_search: params.index.ef_search.max(k), ..params.index.clone() };
        let knn = NeighborIndex::build(old, params.metric, index)?.knn_graph(k);
        super::affinity::perplexity_affinities(&knn, params.perplexity.min(k as f64 / 3.0).max(1.0))
    };
    let mut frame = Frame::of(layout);
    let flat: Vec<f32> = layout.iter().flatten().copied().collect();
    frame.scale = place_scale::tsne_scale(&old_p, &flat);
    // A new point's row sums to 1/n, as each row of the symmetric P over n points does
    // on average, so it meets the same balance of attraction and repulsion as the old ones.
    let neighbours = tsne_neighbours(old, new)?;
    let mut p = SparseP { row_start: vec![0; n + 1], ..SparseP::default() };
    for (i, nn) in neighbours.iter().enumerate() {
        for &(j, v) in nn {
            p.col.push(j as u32);
            p.val.push(v / n as f32);
        }
        p.row_start[n_old + i + 1] = p.col.len();
    }
    for r in 0..n {
        p.row_start[r + 1] = p.row_start[r + 1].max(p.row_start[r]);
    }
    let mut init: Vec<f32> = layout.iter().flat_map(|&q| frame.into_method(q)).collect();
    init.extend(neighbours.iter().flat_map(|nn| frame.into_method(weighted_start(layout, nn))));
    let fixed: Vec<bool> = (0..n).map(|i| i < n_old).collect();
    let run = TsneParams { early_exaggeration_iter: 0, n_iter: TSNE_ITERATIONS, ..params };
    let placed = optimize_fixed(&p, Matrix::new(init, n, 2), &run, &fixed, &mut |_, _| true)?;
    Ok(new_points(&placed, n_old, &frame))
}

/// Rows `n_old..` of a combined layout, back in the map's frame.
fn new_points(placed: &Matrix, n_old: usize, frame: &Frame) -> Vec<[f32; 2]> {
    (n_old..placed.rows).map(|i| frame.out_of_method([placed.data[2 * i], placed.data[2 * i + 1]])).collect()
}
