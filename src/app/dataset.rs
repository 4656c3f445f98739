//! The dataset panel's room: the path typed and how the next dataset is read. The dataset
//! itself (`PretextApp::data`) is shared by every feature.

use std::path::Path;

use crate::app::read_options::ReadOptions;
use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::Space;

#[derive(Default)]
pub struct DatasetRoom {
    /// Path typed in the dataset panel.
    pub path_input: String,
    /// CSV columns and series rows: how the next dataset is read.
    pub read_options: ReadOptions,
}

impl Room for DatasetRoom {
    fn on_dataset_loaded(&mut self, path: &Path, _rows: usize) {
        self.path_input = path.display().to_string();
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {}
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    fn on_run_opened(&mut self, _run: &OpenedRun<'_>, _fx: &mut Effects) {}
    fn on_run_saved(&mut self, _dir: &Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {}
}
