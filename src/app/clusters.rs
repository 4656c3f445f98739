//! The clusters panel's room: the last clustering of the map's embedding.

use std::path::Path;

use crate::app::jobs::ClusterResult;
use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::Space;

#[derive(Default)]
pub struct ClustersRoom {
    /// The clusters and the training step of the embedding they were found in.
    pub result: Option<(ClusterResult, Option<usize>)>,
}

impl Room for ClustersRoom {
    fn on_dataset_loaded(&mut self, _path: &Path, _rows: usize) {
        self.result = None;
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {
        self.result = None;
    }
    /// Clusters of an older embedding stay on show (labelled with their step) until the
    /// user clusters again.
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    fn on_run_opened(&mut self, _run: &OpenedRun<'_>, _fx: &mut Effects) {}
    fn on_run_saved(&mut self, _dir: &Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {}
}
