//! The map's history: every laid-out snapshot of a training run, kept as its 2D layout (two
//! floats per point, 80 KB a frame at 10,000 points), so a slider can take the map back to
//! any step and a play button can replay how the space formed. Saved beside a run as
//! `timeline.npy` (one row per frame: the step, then x and y of every map row) and read
//! back when the run is opened.
//!
//! Frames whose embedding was scored also keep each item's `NEIGHBOURS` nearest items in
//! embedding space (40 bytes an item; the scores pass searches them anyway), which is what
//! "what changed" between two snapshots compares. Saved as `timeline_neighbours.npy` (the
//! step, then the neighbour indices of every row; as f32, exact below 2^24 items).

use std::path::Path;
use std::sync::Arc;

use crate::analysis::Matrix;
use crate::app::state::Space;
use crate::export::{read_npy_matrix, write_npy_matrix};
use crate::app::rooms::{Effects, OpenedRun, Room};

pub const FILE: &str = "timeline.npy";
pub const NEIGHBOURS_FILE: &str = "timeline_neighbours.npy";
/// Neighbours kept per item and frame (the scores' k).
pub const NEIGHBOURS: usize = crate::app::scores::NEIGHBOURS;

/// Seconds a frame stays on screen while playing.
pub const PLAY_SECONDS_PER_FRAME: f64 = 0.4;

#[derive(Clone)]
pub struct Frame {
    pub step: usize,
    pub layout: Arc<Vec<[f32; 2]>>,
    /// Each row's `NEIGHBOURS` nearest rows in embedding space, row after row (when known).
    pub neighbours: Option<Arc<Vec<u32>>>,
}

#[derive(Default)]
pub struct Timeline {
    frames: Vec<Frame>,
    /// The frame on the map; `None` follows training live.
    pub position: Option<usize>,
    pub playing: bool,
    /// When the shown frame last changed during play (egui time).
    pub last_advance: f64,
}

impl Timeline {
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Records a laid-out snapshot. A frame for the same step replaces the older one (a
    /// re-projection); frames of other rows (another layout size) start a new history.
    pub fn record(&mut self, step: usize, layout: &[[f32; 2]]) {
        if self.frames.first().is_some_and(|f| f.layout.len() != layout.len()) {
            self.clear();
        }
        let frame = Frame { step, layout: Arc::new(layout.to_vec()), neighbours: None };
        match self.frames.binary_search_by_key(&step, |f| f.step) {
            Ok(i) => self.frames[i] = Frame { neighbours: self.frames[i].neighbours.take(), ..frame },
            Err(i) => self.frames.insert(i, frame),
        }
    }

    /// Keeps the neighbours of the frame at `step` (a scores pass of its embedding); rows
    /// with fewer than `NEIGHBOURS` (a tiny map) are not kept.
    pub fn attach_neighbours(&mut self, step: usize, graph: &[Vec<(usize, f32)>]) {
        let Ok(i) = self.frames.binary_search_by_key(&step, |f| f.step) else { return };
        if graph.len() != self.frames[i].layout.len() || graph.iter().any(|n| n.len() < NEIGHBOURS) {
            return;
        }
        let flat = graph.iter().flat_map(|n| n.iter().take(NEIGHBOURS).map(|p| p.0 as u32)).collect();
        self.frames[i].neighbours = Some(Arc::new(flat));
    }

    /// Indices of the frames whose neighbours are known, in step order.
    pub fn comparable(&self) -> Vec<usize> {
        (0..self.frames.len()).filter(|&i| self.frames[i].neighbours.is_some()).collect()
    }

    /// The frame to show when not following live training.
    pub fn shown(&self) -> Option<&Frame> {
        self.position.and_then(|i| self.frames.get(i))
    }

    /// Moves one frame on while playing; returns the new frame when it changed. Play stops
    /// at the last frame and the map follows training again.
    pub fn advance(&mut self, now: f64) -> Option<Frame> {
        if !self.playing || now - self.last_advance < PLAY_SECONDS_PER_FRAME {
            return None;
        }
        self.last_advance = now;
        let next = self.position.map_or(0, |i| i + 1);
        if next >= self.frames.len() {
            self.playing = false;
            self.position = None;
            return self.frames.last().cloned();
        }
        self.position = Some(next);
        self.frames.get(next).cloned()
    }

    pub fn save(&self, dir: &Path) -> crate::Result<()> {
        let Some(n) = self.frames.first().map(|f| f.layout.len()) else { return Ok(()) };
        let mut data = Vec::with_capacity(self.frames.len() * (1 + 2 * n));
        for f in &self.frames {
            data.push(f.step as f32);
            data.extend(f.layout.iter().flatten());
        }
        write_npy_matrix(&dir.join(FILE), &Matrix::new(data, self.frames.len(), 1 + 2 * n))?;
        let known: Vec<&Frame> = self.frames.iter().filter(|f| f.neighbours.is_some()).collect();
        let path = dir.join(NEIGHBOURS_FILE);
        if known.is_empty() {
            // A stale file of an earlier save would describe other snapshots.
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(crate::PretextError::Io { path, source: e }),
                _ => Ok(()),
            };
        }
        let mut data = Vec::with_capacity(known.len() * (1 + NEIGHBOURS * n));
        for f in &known {
            data.push(f.step as f32);
            data.extend(f.neighbours.iter().flat_map(|v| v.iter()).map(|&j| j as f32));
        }
        write_npy_matrix(&path, &Matrix::new(data, known.len(), 1 + NEIGHBOURS * n))
    }

    /// The timeline saved with a run whose map has `rows` rows; none when there is no file
    /// or it was written for other rows.
    pub fn load(dir: &Path, rows: usize) -> crate::Result<Option<Timeline>> {
        let path = dir.join(FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let m = read_npy_matrix(&path)?;
        if m.cols != 1 + 2 * rows {
            return Ok(None);
        }
        let mut timeline = Timeline::default();
        for r in 0..m.rows {
            let row = m.row(r);
            let layout: Vec<[f32; 2]> = row[1..].chunks_exact(2).map(|p| [p[0], p[1]]).collect();
            timeline.record(row[0].max(0.0) as usize, &layout);
        }
        let path = dir.join(NEIGHBOURS_FILE);
        if path.is_file() {
            let m = read_npy_matrix(&path)?;
            let fits = |row: &[f32]| row[1..].iter().all(|&v| v >= 0.0 && (v as usize) < rows);
            if m.cols != 1 + NEIGHBOURS * rows || !(0..m.rows).all(|r| fits(m.row(r))) {
                return Err(crate::PretextError::bad_file(&path, "its neighbour lists do not fit this run's map"));
            }
            for r in 0..m.rows {
                let row = m.row(r);
                let step = row[0] as usize;
                if let Ok(i) = timeline.frames.binary_search_by_key(&step, |f| f.step) {
                    timeline.frames[i].neighbours = Some(Arc::new(row[1..].iter().map(|&v| v as u32).collect()));
                }
            }
        }
        Ok(Some(timeline))
    }
}

impl Room for Timeline {
    fn on_dataset_loaded(&mut self, _path: &Path, _rows: usize) {
        self.clear();
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {}
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    /// The run's own history, when it saved one.
    fn on_run_opened(&mut self, run: &OpenedRun<'_>, fx: &mut Effects) {
        *self = match Timeline::load(&run.saved.dir, run.saved.indices.len()) {
            Ok(t) => t.unwrap_or_default(),
            Err(e) => {
                fx.errors.push(format!("the run's timeline could not be read: {e}"));
                Timeline::default()
            }
        };
    }
    fn on_run_saved(&mut self, dir: &Path, fx: &mut Effects) {
        if let Err(e) = self.save(dir) {
            fx.errors.push(format!("the run was saved but not its timeline: {e}"));
        }
    }
    fn on_model_reset(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_stay_in_step_order_and_round_trip_through_the_file() {
        let mut t = Timeline::default();
        t.record(20, &[[2.0, 0.0], [0.0, 2.0]]);
        t.record(10, &[[1.0, 0.0], [0.0, 1.0]]);
        t.record(20, &[[3.0, 0.0], [0.0, 3.0]]);
        assert_eq!(t.frames().iter().map(|f| f.step).collect::<Vec<_>>(), vec![10, 20]);
        let dir = tempfile::tempdir().unwrap();
        t.save(dir.path()).unwrap();
        let back = Timeline::load(dir.path(), 2).unwrap().unwrap();
        assert_eq!(back.frames()[1].layout.as_slice(), &[[3.0, 0.0], [0.0, 3.0]]);
        assert!(Timeline::load(dir.path(), 3).unwrap().is_none(), "other rows: not this map's history");
        assert!(back.comparable().is_empty());
    }

    #[test]
    fn neighbours_of_scored_frames_round_trip_and_survive_a_relayout() {
        let rows = NEIGHBOURS + 2;
        let layout: Vec<[f32; 2]> = (0..rows).map(|i| [i as f32, 0.0]).collect();
        // Row i's neighbours: the next NEIGHBOURS rows, cyclically.
        let graph: Vec<Vec<(usize, f32)>> = (0..rows).map(|i| (1..=NEIGHBOURS).map(|d| ((i + d) % rows, d as f32)).collect()).collect();
        let mut t = Timeline::default();
        t.record(10, &layout);
        t.record(20, &layout);
        t.attach_neighbours(20, &graph);
        t.record(20, &layout); // a re-projection of the same snapshot keeps its neighbours
        assert_eq!(t.comparable(), vec![1]);
        let dir = tempfile::tempdir().unwrap();
        t.save(dir.path()).unwrap();
        let back = Timeline::load(dir.path(), rows).unwrap().unwrap();
        let kept = back.frames()[1].neighbours.clone().unwrap();
        assert_eq!(kept[..NEIGHBOURS].iter().map(|&j| j as usize).collect::<Vec<_>>(), (1..=NEIGHBOURS).collect::<Vec<_>>());
        assert!(back.frames()[0].neighbours.is_none());
    }

    #[test]
    fn play_walks_every_frame_then_follows_live_again() {
        let mut t = Timeline::default();
        for s in [1, 2, 3] {
            t.record(s, &[[s as f32, 0.0]]);
        }
        t.playing = true;
        let steps: Vec<usize> = (1..=4).filter_map(|k| t.advance(k as f64)).map(|f| f.step).collect();
        assert_eq!(steps, vec![1, 2, 3, 3]);
        assert!(!t.playing && t.position.is_none());
    }
}
