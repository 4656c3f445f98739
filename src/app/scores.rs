//! Data-quality scores of the map items (uniqueness, label error, representativeness, map
//! disagreement, near-duplicate groups) on the embedding the map shows. A pass runs off the
//! UI thread whenever a new layout lands; a newer one waiting replaces an older one, so fast
//! snapshots never queue up.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::analysis::{quality, scores as core, Matrix};
use crate::app::jobs::{JobKind, JobResult};
use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::Space;
use crate::app::PretextApp;
use crate::ssl::trainer::map_subset;

/// A per-item score the map can be coloured and ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScoreKind {
    Uniqueness,
    LabelError,
    Representativeness,
    MapDisagreement,
}

impl ScoreKind {
    pub const ALL: [ScoreKind; 4] = [ScoreKind::Uniqueness, ScoreKind::LabelError, ScoreKind::Representativeness, ScoreKind::MapDisagreement];

    pub fn label(self) -> &'static str {
        match self {
            ScoreKind::Uniqueness => "Uniqueness",
            ScoreKind::LabelError => "Label error",
            ScoreKind::Representativeness => "Representativeness",
            ScoreKind::MapDisagreement => "Map disagreement",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            ScoreKind::Uniqueness => "Distance to the 10th nearest neighbour in the embedding (1 = the most isolated item): outliers and rare items.",
            ScoreKind::LabelError => "Share of the weighted vote of the 10 nearest neighbours that goes to another label: likely mislabelled or ambiguous items.",
            ScoreKind::Representativeness => "Similarity to the centre of the item's k-means cluster (1 = the most typical item of its cluster).",
            ScoreKind::MapDisagreement => "1 - overlap of the item's 10 neighbours in the embedding and on the 2D map: where the projection tears or glues.",
        }
    }
}

/// Neighbours per item for every score.
pub const NEIGHBOURS: usize = 10;
/// Rows the trustworthiness of the layout is measured on (it costs O(n^2 d)).
const TRUST_SAMPLE: usize = 1_000;

/// What one scoring pass needs: an embedding, its 2D layout and the map rows' labels.
pub struct ScoreInput {
    pub generation: u64,
    pub matrix: Arc<Matrix>,
    pub layout: Vec<[f32; 2]>,
    pub labels: Option<Vec<u32>>,
    pub seed: u64,
    /// The training step of a live snapshot, whose timeline frame keeps the neighbour graph.
    pub timeline_step: Option<usize>,
}

/// Every score of every map row, for the embedding of `generation`.
pub struct MapScores {
    pub generation: u64,
    pub timeline_step: Option<usize>,
    /// Each row's neighbours with cosine distances (near-duplicate groups are cut from it).
    pub graph: Arc<Vec<Vec<(usize, f32)>>>,
    pub uniqueness: Vec<f32>,
    pub label_error: Option<Vec<f32>>,
    pub representativeness: Vec<f32>,
    pub map_disagreement: Vec<f32>,
    /// Trustworthiness of the layout (1 = every map neighbour is an embedding neighbour).
    pub trustworthiness: Option<f64>,
}

impl MapScores {
    pub fn values(&self, kind: ScoreKind) -> Option<&[f32]> {
        match kind {
            ScoreKind::Uniqueness => Some(&self.uniqueness),
            ScoreKind::LabelError => self.label_error.as_deref(),
            ScoreKind::Representativeness => Some(&self.representativeness),
            ScoreKind::MapDisagreement => Some(&self.map_disagreement),
        }
    }

    /// Rows from the highest score to the lowest.
    pub fn ranked(&self, kind: ScoreKind) -> Vec<usize> {
        let Some(v) = self.values(kind) else { return Vec::new() };
        let mut rows: Vec<usize> = (0..v.len()).collect();
        rows.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
        rows
    }
}

/// One scoring pass (runs on a job thread).
pub fn compute(input: &ScoreInput) -> Result<MapScores, String> {
    let x = &input.matrix;
    let n = x.rows;
    if n < 3 || input.layout.len() != n {
        return Err(format!("scores need at least 3 map items with a layout ({n} rows, {} laid out)", input.layout.len()));
    }
    let k = NEIGHBOURS.min(n - 1);
    let e = |e: crate::PretextError| e.to_string();
    let classes = input.labels.as_ref().map_or(0, |l| l.iter().copied().max().map_or(0, |m| m as usize + 1));
    let layout = Matrix::new(input.layout.iter().flatten().copied().collect(), n, 2);
    let params = core::ScoreParams { k, ..core::ScoreParams::default() };
    let set = core::score_map(x, input.labels.as_deref(), classes, &layout, &params, input.seed).map_err(e)?;
    let sample = map_subset(n, TRUST_SAMPLE, input.seed);
    let trustworthiness = quality::trustworthiness(&x.select_rows(&sample), &layout.select_rows(&sample), k).ok();
    Ok(MapScores {
        generation: input.generation,
        timeline_step: input.timeline_step,
        uniqueness: set.scores.uniqueness,
        label_error: set.scores.label_error,
        representativeness: set.scores.representativeness.unwrap_or_default(),
        map_disagreement: set.map_disagreement,
        trustworthiness,
        graph: Arc::new(set.graph),
    })
}

/// The scores panel's state: the newest scores, what the panel shows, and the pass waiting.
pub struct ScoresState {
    pub result: Option<MapScores>,
    pub kind: ScoreKind,
    pub top_n: usize,
    pub duplicate_distance: f32,
    /// Near-duplicate groups (member rows) at `duplicate_distance`, for the scores' generation.
    groups: Option<(u64, f32, Arc<Vec<Vec<usize>>>)>,
    pending: Option<ScoreInput>,
}

impl Default for ScoresState {
    fn default() -> Self {
        Self { result: None, kind: ScoreKind::Uniqueness, top_n: 20, duplicate_distance: 0.01, groups: None, pending: None }
    }
}

impl ScoresState {
    pub fn clear(&mut self) {
        self.result = None;
        self.groups = None;
        self.pending = None;
    }

    /// Scores of `n` map rows for `kind`, if the newest scores cover those rows.
    pub fn values_for(&self, kind: ScoreKind, n: usize) -> Option<&[f32]> {
        self.result.as_ref()?.values(kind).filter(|v| v.len() == n)
    }

    /// Near-duplicate groups at the current threshold, largest first (cut from the neighbour
    /// graph on the UI thread: linear in the rows, so the slider answers at once).
    pub fn duplicate_groups(&mut self) -> Arc<Vec<Vec<usize>>> {
        let Some(result) = &self.result else { return Arc::default() };
        let threshold = self.duplicate_distance;
        if let Some((g, t, groups)) = &self.groups {
            if *g == result.generation && *t == threshold {
                return groups.clone();
            }
        }
        let ids = core::duplicate_groups(&result.graph, threshold);
        let count = ids.iter().flatten().map(|&g| g as usize + 1).max().unwrap_or(0);
        let mut groups = vec![Vec::new(); count];
        for (row, id) in ids.iter().enumerate() {
            if let Some(g) = id {
                groups[*g as usize].push(row);
            }
        }
        groups.sort_by(|a, b| b.len().cmp(&a.len()));
        let groups = Arc::new(groups);
        self.groups = Some((result.generation, threshold, groups.clone()));
        groups
    }
}

impl Room for ScoresState {
    fn on_dataset_loaded(&mut self, _path: &std::path::Path, _rows: usize) {
        self.clear();
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {
        self.clear();
    }
    /// Scores of the new embedding are requested once its layout lands.
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    fn on_run_opened(&mut self, _run: &OpenedRun<'_>, _fx: &mut Effects) {}
    fn on_run_saved(&mut self, _dir: &std::path::Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {}
}

impl PretextApp {
    /// Scores the embedding of `generation` with the layout that just landed; waits behind a
    /// pass still running (only the newest waiting input is kept).
    pub(crate) fn request_scores(&mut self, generation: u64, layout: &[[f32; 2]]) {
        let Some(space) = self.space.as_ref().filter(|s| s.generation == generation) else { return };
        // Fewer than 3 rows have no neighbourhoods to score: the panel says "no scores yet"
        // rather than the window showing an error for a legitimately tiny dataset.
        if space.matrix.rows < 3 {
            self.scores.result = None;
            return;
        }
        let labels = self.data.as_ref().and_then(|d| d.labels.clone());
        let timeline_step = space.step.filter(|_| space.run.is_none() && !self.isolation.is_isolated_generation(generation));
        self.scores.pending = Some(ScoreInput { generation, matrix: space.matrix.clone(), layout: layout.to_vec(), labels, seed: self.settings.train.seed, timeline_step });
        self.start_pending_scores();
    }

    pub(crate) fn start_pending_scores(&mut self) {
        if self.jobs.is_running(JobKind::Scores) {
            return;
        }
        let Some(input) = self.scores.pending.take() else { return };
        // Scores follow every snapshot: at low priority, so training keeps its pace.
        self.jobs.spawn(JobKind::Scores, move || JobResult::Scored(crate::ssl::at_low_priority(|| compute(&input)).map(Box::new)));
    }

    pub(crate) fn on_scored(&mut self, result: Result<Box<MapScores>, String>) {
        match result {
            Ok(scores) => {
                // The neighbours are those of that snapshot even when a newer one is shown.
                if let Some(step) = scores.timeline_step {
                    self.timeline.attach_neighbours(step, &scores.graph);
                }
                if self.space.as_ref().is_some_and(|s| s.generation == scores.generation) {
                    self.scores.result = Some(*scores);
                    self.map.style_version += 1;
                }
            }
            Err(e) => self.error(format!("scores failed: {e}")),
        }
        self.start_pending_scores();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_rank_the_outlier_first_and_group_the_duplicates() {
        // 40 points on a circle, two exact copies of point 0, one point far off.
        let mut data = Vec::new();
        for i in 0..40 {
            let a = i as f32 * 0.15;
            data.extend([a.cos(), a.sin(), 0.0]);
        }
        data.extend([1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        let n = 43;
        let x = Arc::new(Matrix::new(data, n, 3));
        let layout: Vec<[f32; 2]> = (0..n).map(|r| [x.row(r)[0], x.row(r)[1] + x.row(r)[2]]).collect();
        let scores = compute(&ScoreInput { generation: 7, matrix: x.clone(), layout: layout.clone(), labels: None, seed: 0, timeline_step: None }).unwrap();
        let flat = Matrix::new(layout.iter().flatten().copied().collect(), n, 2);
        let searched = quality::neighbor_disagreement(&x, &flat, NEIGHBOURS, crate::analysis::index::Metric::Cosine).unwrap();
        assert_eq!(scores.map_disagreement, searched, "map disagreement from the shared graph is the searched one");
        assert!(scores.map_disagreement.iter().any(|&d| d > 0.0));
        assert_eq!(scores.generation, 7);
        assert_eq!(scores.ranked(ScoreKind::Uniqueness)[0], 42, "the far point is the most unique");
        assert!(scores.values(ScoreKind::LabelError).is_none());
        let mut state = ScoresState { result: Some(scores), duplicate_distance: 1e-4, ..Default::default() };
        let groups = state.duplicate_groups();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0], vec![0, 40, 41]);
    }
}
