//! Live re-projection: when a new embedding snapshot of the same items arrives during
//! training, the 2D map is warm-started from the previous positions and aligned back onto
//! them, so it evolves instead of jumping to a fresh, arbitrarily rotated layout.

use super::align::procrustes_align;
use super::init::LayoutInit;
use super::tsne::{tsne, TsneParams};
use super::umap::{umap, UmapParams};
use super::Matrix;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    Tsne(TsneParams),
    Umap(UmapParams),
}

impl Projection {
    /// Settings suited to a warm start: no early exaggeration for t-SNE (the clusters already
    /// exist) and a gentler, shorter UMAP schedule, so the previous layout is refined, not torn up.
    pub fn warm_tsne() -> Self {
        Projection::Tsne(TsneParams { early_exaggeration_iter: 0, n_iter: 250, ..TsneParams::default() })
    }

    pub fn warm_umap() -> Self {
        Projection::Umap(UmapParams { n_epochs: Some(100), learning_rate: 0.25, ..UmapParams::default() })
    }
}

/// Projects `new_embeddings` starting from `prev_layout` (same rows, same order) and returns
/// the layout aligned onto `prev_layout`. `on_step` streams intermediate frames (not yet
/// aligned); returning `false` stops early.
pub fn reproject(
    prev_layout: &Matrix,
    new_embeddings: &Matrix,
    method: &Projection,
    on_step: impl FnMut(usize, &Matrix) -> bool,
) -> Result<Matrix> {
    let layout = reproject_unaligned(prev_layout, new_embeddings, method, on_step)?;
    procrustes_align(prev_layout, &layout)
}

/// `reproject` without the final alignment, for a caller that aligns the result onto a
/// layout of its own (the window aligns onto what is on screen, once).
pub fn reproject_unaligned(
    prev_layout: &Matrix,
    new_embeddings: &Matrix,
    method: &Projection,
    on_step: impl FnMut(usize, &Matrix) -> bool,
) -> Result<Matrix> {
    let init = LayoutInit::Given(prev_layout.clone());
    match method {
        Projection::Tsne(p) => tsne(new_embeddings, &TsneParams { init, ..p.clone() }, on_step),
        Projection::Umap(p) => umap(new_embeddings, &UmapParams { init, ..p.clone() }, on_step),
    }
}
