//! The selection's room: which map rows are selected (box, lasso, a tag, a score list).

use std::path::Path;

use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::Space;

#[derive(Default)]
pub struct SelectionRoom {
    /// One flag per map row.
    pub rows: Vec<bool>,
    pub count: usize,
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
