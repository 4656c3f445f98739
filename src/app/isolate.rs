//! Isolating the selection, as TensorBoard's projector does: the map shows only the selected
//! points, laid out anew from their own embeddings, so the structure inside a cluster or a
//! tag is not squeezed by the rest. New snapshots keep to the same items until "Show all".

use std::collections::HashSet;
use std::sync::Arc;

use std::path::Path;

use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::{Snapshot, Space};
use crate::app::PretextApp;

/// The isolated items as rows of the full map, with the newest full snapshot.
pub struct Isolation {
    pub rows: Vec<usize>,
    pub full: Snapshot,
}

impl Isolation {
    /// `full` cut down to the isolated rows.
    fn restrict(&self, full: &Snapshot) -> Snapshot {
        Snapshot {
            step: full.step,
            matrix: Arc::new(full.matrix.select_rows(&self.rows)),
            items: Arc::new(self.rows.iter().map(|&r| full.items[r]).collect()),
            run: full.run.clone(),
        }
    }
}

#[derive(Default)]
pub struct IsolationState {
    pub active: Option<Isolation>,
    /// Generations laid out from isolated rows: their layouts stay off the timeline.
    generations: HashSet<u64>,
}

impl IsolationState {
    pub fn clear(&mut self) {
        self.active = None;
    }

    pub fn is_isolated_generation(&self, generation: u64) -> bool {
        self.generations.contains(&generation)
    }

    /// Marks a generation about to be laid out while the map is isolated.
    pub(crate) fn note_generation(&mut self, generation: u64) {
        if self.active.is_some() {
            self.generations.insert(generation);
        }
    }

    /// A live snapshot of the full map, cut to the isolated items when isolated (a snapshot
    /// of other rows ends the isolation).
    pub(crate) fn view_of(&mut self, snapshot: Snapshot) -> Snapshot {
        let Some(iso) = &mut self.active else { return snapshot };
        if iso.full.items != snapshot.items {
            self.active = None;
            return snapshot;
        }
        iso.full = snapshot;
        iso.restrict(&iso.full)
    }
}

impl Room for IsolationState {
    fn on_dataset_loaded(&mut self, _path: &Path, _rows: usize) {
        self.clear();
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {}
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    fn on_run_opened(&mut self, _run: &OpenedRun<'_>, _fx: &mut Effects) {
        self.clear();
    }
    fn on_run_saved(&mut self, _dir: &Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {}
}

impl PretextApp {
    pub(crate) fn isolate_selection(&mut self) {
        let (Some(space), Some(data)) = (&self.space, &self.data) else { return };
        let selected = self.selection.selected();
        if selected.len() < 3 {
            self.error("select at least 3 points to isolate them");
            return;
        }
        let shown = Snapshot { step: space.step, matrix: space.matrix.clone(), items: data.map_indices.clone(), run: space.run.clone() };
        let isolation = match self.isolation.active.take() {
            // Isolating within an isolation: rows of the same full map.
            Some(iso) => Isolation { rows: selected.iter().map(|&r| iso.rows[r]).collect(), full: iso.full },
            None => Isolation { rows: selected, full: shown },
        };
        self.map.pending_snapshot = Some(isolation.restrict(&isolation.full));
        self.isolation.active = Some(isolation);
        self.shell.status = "laying out the isolated points...".into();
        self.project_pending();
    }

    pub(crate) fn show_all_points(&mut self) {
        let Some(iso) = self.isolation.active.take() else { return };
        self.map.pending_snapshot = Some(iso.full);
        self.project_pending();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Matrix;

    fn snapshot(step: usize, items: Vec<usize>) -> Snapshot {
        let n = items.len();
        Snapshot { step: Some(step), matrix: Arc::new(Matrix::new((0..n * 2).map(|v| (v + step) as f32).collect(), n, 2)), items: Arc::new(items), run: None }
    }

    #[test]
    fn new_snapshots_keep_to_the_isolated_items_until_other_rows_arrive() {
        let mut state = IsolationState::default();
        let first = snapshot(1, vec![10, 11, 12, 13]);
        assert_eq!(state.view_of(first.clone()).items, first.items, "not isolated: the snapshot as it is");
        state.active = Some(Isolation { rows: vec![1, 3], full: first });
        state.note_generation(5);
        assert!(state.is_isolated_generation(5) && !state.is_isolated_generation(4));
        let later = snapshot(2, vec![10, 11, 12, 13]);
        let view = state.view_of(later.clone());
        assert_eq!(*view.items, vec![11, 13]);
        assert_eq!(view.matrix.row(0), later.matrix.row(1));
        assert_eq!(view.matrix.row(1), later.matrix.row(3));
        assert_eq!(state.active.as_ref().unwrap().full.step, Some(2), "the full snapshot follows training");
        let other = snapshot(3, vec![1, 2, 3]);
        assert_eq!(state.view_of(other.clone()).items, other.items);
        assert!(state.active.is_none(), "other rows end the isolation");
    }
}
