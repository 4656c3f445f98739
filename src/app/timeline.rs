//! The map's history: every laid-out snapshot of a training run, kept as its 2D layout (two
//! floats per point, 80 KB a frame at 10,000 points), so a slider can take the map back to
//! any step and a play button can replay how the space formed. Saved beside a run as
//! `timeline.npy` (one row per frame: the step, then x and y of every map row) and read
//! back when the run is opened.

use std::path::Path;
use std::sync::Arc;

use crate::analysis::Matrix;
use crate::export::{read_npy_matrix, write_npy_matrix};

pub const FILE: &str = "timeline.npy";

/// Seconds a frame stays on screen while playing.
pub const PLAY_SECONDS_PER_FRAME: f64 = 0.4;

#[derive(Clone)]
pub struct Frame {
    pub step: usize,
    pub layout: Arc<Vec<[f32; 2]>>,
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
        let frame = Frame { step, layout: Arc::new(layout.to_vec()) };
        match self.frames.binary_search_by_key(&step, |f| f.step) {
            Ok(i) => self.frames[i] = frame,
            Err(i) => self.frames.insert(i, frame),
        }
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
        write_npy_matrix(&dir.join(FILE), &Matrix::new(data, self.frames.len(), 1 + 2 * n))
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
        Ok(Some(timeline))
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
