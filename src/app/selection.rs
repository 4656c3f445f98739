//! The selection's room: which map rows are selected (box, lasso, a tag, a score list).

use std::path::Path;

use rand::SeedableRng;

use crate::analysis::coreset::{self, CoresetMethod, CoresetParams};
use crate::analysis::Matrix;
use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::Space;

#[derive(Default)]
pub struct SelectionRoom {
    /// One flag per map row.
    pub rows: Vec<bool>,
    pub count: usize,
    pub diverse: DiversePick,
}

/// "Pick diverse items": a few map rows to label, chosen by a coreset method.
pub struct DiversePick {
    pub n: usize,
    pub method: CoresetMethod,
    /// What the last pick achieved, for the panel: how many, and its coverage radius next
    /// to a random pick's of the same size.
    pub last: Option<PickedReport>,
}

#[derive(Debug, Clone, Copy)]
pub struct PickedReport {
    pub picked: usize,
    pub method: CoresetMethod,
    pub radius: f32,
    pub random_radius: f32,
}

impl Default for DiversePick {
    fn default() -> Self {
        Self { n: 20, method: CoresetMethod::KCenter, last: None }
    }
}

/// Picks `n` of the rows of `embeddings` by `method` (on unit-length rows, so distances rank
/// as the neighbours list's cosine does), with a seeded random pick's radius to compare.
pub fn pick_diverse(embeddings: &Matrix, method: CoresetMethod, n: usize, seed: u64) -> crate::Result<(Vec<usize>, PickedReport)> {
    let x = embeddings.l2_normalized();
    let picked = coreset::select(&x, method, CoresetParams { n, seed })?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let random = rand::seq::index::sample(&mut rng, x.rows, n).into_vec();
    let report = PickedReport { picked: picked.picks.len(), method, radius: picked.radius, random_radius: coreset::coverage_radius(&x, &random) };
    Ok((picked.picks, report))
}

impl SelectionRoom {
    /// Selects exactly `rows` (rows past the map are ignored).
    pub fn set(&mut self, rows: impl IntoIterator<Item = usize>) {
        self.rows.iter_mut().for_each(|s| *s = false);
        for r in rows {
            if let Some(s) = self.rows.get_mut(r) {
                *s = true;
            }
        }
        self.count = self.rows.iter().filter(|&&s| s).count();
    }

    pub fn clear(&mut self) {
        self.set([]);
    }

    /// The selected map rows, in order.
    pub fn selected(&self) -> Vec<usize> {
        (0..self.rows.len()).filter(|&r| self.rows[r]).collect()
    }

    fn reset(&mut self, rows: usize) {
        self.rows = vec![false; rows];
        self.count = 0;
        self.diverse.last = None;
    }
}

impl Room for SelectionRoom {
    fn on_dataset_loaded(&mut self, _path: &Path, rows: usize) {
        self.reset(rows);
    }
    fn on_map_rows_changed(&mut self, rows: usize) {
        self.reset(rows);
    }
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    fn on_run_opened(&mut self, _run: &OpenedRun<'_>, _fx: &mut Effects) {}
    fn on_run_saved(&mut self, _dir: &Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {}
}

impl crate::app::PretextApp {
    /// Picks diverse map rows in the background; the result becomes the selection (and can
    /// become a tag from there).
    pub(crate) fn pick_diverse(&mut self) {
        let Some(space) = self.space.clone() else { return self.error("there is no embedding to pick from yet") };
        if self.jobs.is_running(crate::app::jobs::JobKind::DiversePick) {
            return;
        }
        let (method, n, seed) = (self.selection.diverse.method, self.selection.diverse.n, self.settings.train.seed);
        self.jobs.spawn(crate::app::jobs::JobKind::DiversePick, move || crate::app::jobs::JobResult::Picked {
            generation: space.generation,
            result: pick_diverse(&space.matrix, method, n, seed).map_err(|e| e.to_string()),
        });
    }
}
