//! The neighbours panel's room: the map row in focus and its nearest items, a query by file
//! or by text, the focused item's augmented views and its reconstructions.

use std::path::{Path, PathBuf};

use crate::analysis::neighbors::Neighbor;
use crate::app::reconstructions::Reconstructions;
use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::{Command, Space};

/// Neighbours of an image file the user opened (query by file), or of typed text.
pub struct FileQuery {
    pub path: PathBuf,
    /// Set for a query by text (then `pixels` holds its byte codes and `path` is empty).
    pub text: Option<String>,
    pub pixels: Vec<f32>,
    pub request: u64,
    pub neighbours: Option<Vec<Neighbor>>,
}

#[derive(Default)]
pub struct NeighboursRoom {
    /// Map row in focus.
    pub focus: Option<usize>,
    /// Its neighbours: (generation of the space searched, row, neighbours).
    pub list: Option<(u64, usize, Vec<Neighbor>)>,
    pub query: Option<FileQuery>,
    /// Path or text typed for a query.
    pub query_input: String,
    /// Augmented views of a row (what the objective compares).
    pub views: Option<(usize, Vec<Vec<f32>>)>,
    pub reconstructions: Reconstructions,
}

impl NeighboursRoom {
    fn forget_rows(&mut self) {
        self.focus = None;
        self.list = None;
        self.views = None;
        self.reconstructions.close();
    }
}

impl Room for NeighboursRoom {
    fn on_dataset_loaded(&mut self, _path: &Path, _rows: usize) {
        self.forget_rows();
        self.query = None;
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {
        self.forget_rows();
    }
    /// The focus and the query are searched again in the new space.
    fn on_new_space(&mut self, _space: &Space, fx: &mut Effects) {
        if self.focus.is_some() {
            fx.commands.push(Command::RefreshNeighbours);
        }
        if let Some(q) = &self.query {
            fx.commands.push(match &q.text {
                Some(text) => Command::QueryText(text.clone()),
                None => Command::QueryImage(q.path.clone()),
            });
        }
    }
    fn on_run_opened(&mut self, _run: &OpenedRun<'_>, _fx: &mut Effects) {}
    fn on_run_saved(&mut self, _dir: &Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {}
}
