//! The map's room: the drawn map, the layout job following training, the snapshot waiting for
//! it, and what each point looks like this frame (colours, visibility, hidden classes, the
//! kNN-correctness colouring).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::app::contours::ContourState;
use crate::app::live_projection::LiveProjection;
use crate::app::map::MapState;
use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::settings::ColorBy;
use crate::app::state::{Snapshot, Space};

pub struct MapRoom {
    pub view: MapState,
    /// The layout job of the newest snapshot: its streamed frames and the next warm start.
    pub projection: LiveProjection,
    /// A snapshot waiting for the projection job (only the newest is kept).
    pub pending_snapshot: Option<Snapshot>,
    /// A space over other map rows (another run's subset), waiting for its layout: rows,
    /// space and layout change together when the projection of this generation arrives.
    pub incoming_rows: Option<(u64, Space, Arc<Vec<usize>>)>,
    /// Density contours over the map, traced once per layout.
    pub contours: ContourState,
    /// Which map rows vote their own label in a kNN among the others (colour by kNN).
    pub knn_correct: Option<(u64, Vec<Option<bool>>)>,
    pub hidden_classes: HashSet<u32>,
    /// Grows whenever what a point looks like may have changed (colours are rebuilt).
    pub style_version: u64,
    pub colors: Vec<egui::Color32>,
    pub colors_key: Option<(u64, ColorBy)>,
    pub visible: Vec<bool>,
}

impl Default for MapRoom {
    fn default() -> Self {
        Self {
            view: MapState::default(),
            projection: LiveProjection::default(),
            pending_snapshot: None,
            incoming_rows: None,
            contours: ContourState::default(),
            knn_correct: None,
            hidden_classes: HashSet::new(),
            style_version: 1,
            colors: Vec::new(),
            colors_key: None,
            visible: Vec::new(),
        }
    }
}

impl MapRoom {
    /// The points' colours or visibility must be worked out again.
    pub fn restyle(&mut self) {
        self.style_version += 1;
    }
}

impl Room for MapRoom {
    fn on_dataset_loaded(&mut self, _path: &Path, _rows: usize) {
        self.view.clear();
        self.pending_snapshot = None;
        self.incoming_rows = None;
        self.knn_correct = None;
        self.hidden_classes.clear();
        self.restyle();
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {
        self.knn_correct = None;
        self.restyle();
    }
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {
        self.knn_correct = None;
        self.restyle();
    }
    fn on_run_opened(&mut self, _run: &OpenedRun<'_>, _fx: &mut Effects) {}
    fn on_run_saved(&mut self, _dir: &Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {}
}
