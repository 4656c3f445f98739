//! What changed between two snapshots of a training run: for every map item, how much its
//! neighbourhood in embedding space moved (`1 − Jaccard` of its nearest items in each,
//! from the neighbour lists the timeline keeps), the items that changed most, and their
//! paths across the frames in between (trails).

use std::sync::Arc;

use crate::analysis::quality::neighbourhood_change;
use crate::app::timeline::{Timeline, NEIGHBOURS};
use crate::app::state::Space;
use crate::app::rooms::{Effects, OpenedRun, Room};

/// Items whose trails are drawn (the most changed).
pub const TRAILS: usize = 30;

/// The comparison of two timeline steps.
pub struct NeighbourhoodChange {
    pub from_step: usize,
    pub to_step: usize,
    /// Per map row: 0 kept all its neighbours, 1 kept none.
    pub change: Vec<f32>,
    /// Rows from the most changed to the least.
    pub ranked: Vec<usize>,
}

/// The timeline panel's "what changed" choice and its cached result.
#[derive(Default)]
pub struct ChangeState {
    /// The steps compared; `None` picks the two latest frames whose neighbours are known.
    pub from_step: Option<usize>,
    pub to_step: Option<usize>,
    pub trails: bool,
    result: Option<Arc<NeighbourhoodChange>>,
    /// Grows with every new comparison (the map's colours compare it).
    version: u64,
}

impl Room for ChangeState {
    fn on_dataset_loaded(&mut self, _path: &std::path::Path, _rows: usize) {
        self.clear();
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {}
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    fn on_run_opened(&mut self, _run: &OpenedRun<'_>, _fx: &mut Effects) {
        self.clear();
    }
    fn on_run_saved(&mut self, _dir: &std::path::Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {
        self.clear();
    }
}

impl ChangeState {
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// The two steps compared: the chosen ones when both are comparable, else the two latest.
    pub fn steps(&self, timeline: &Timeline) -> Option<(usize, usize)> {
        let known: Vec<usize> = timeline.comparable().into_iter().map(|i| timeline.frames()[i].step).collect();
        if known.len() < 2 {
            return None;
        }
        let pick = |chosen: Option<usize>, fallback: usize| chosen.filter(|s| known.contains(s)).unwrap_or(fallback);
        let to = pick(self.to_step, known[known.len() - 1]);
        let from = pick(self.from_step, known[known.len() - 2]);
        (from != to).then_some((from.min(to), from.max(to)))
    }

    /// The comparison for the current choice (computed once per choice: O(items · k²)).
    pub fn current(&mut self, timeline: &Timeline) -> Option<Arc<NeighbourhoodChange>> {
        let (from, to) = self.steps(timeline)?;
        if let Some(r) = self.result.as_ref().filter(|r| r.from_step == from && r.to_step == to) {
            return Some(r.clone());
        }
        let lists = |step: usize| timeline.frames().iter().find(|f| f.step == step).and_then(|f| f.neighbours.clone());
        let change = neighbourhood_change(&lists(from)?, &lists(to)?, NEIGHBOURS).ok()?;
        let mut ranked: Vec<usize> = (0..change.len()).collect();
        ranked.sort_by(|&a, &b| change[b].total_cmp(&change[a]).then(a.cmp(&b)));
        let result = Arc::new(NeighbourhoodChange { from_step: from, to_step: to, change, ranked });
        self.result = Some(result.clone());
        self.version += 1;
        Some(result)
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// Per map row, its change when the comparison covers `rows` rows.
    pub fn values_for(&self, rows: usize) -> Option<&[f32]> {
        self.result.as_ref().map(|r| r.change.as_slice()).filter(|v| v.len() == rows)
    }
}

/// Positions of `rows` in every frame from `from` to `to` (inclusive, step order): one path
/// per row.
pub fn trails(timeline: &Timeline, from: usize, to: usize, rows: &[usize]) -> Vec<Vec<[f32; 2]>> {
    let frames: Vec<_> = timeline.frames().iter().filter(|f| f.step >= from && f.step <= to).collect();
    rows.iter().map(|&r| frames.iter().filter_map(|f| f.layout.get(r).copied()).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A timeline of `rows` items on a line; at `step`, row i's neighbours are the next
    /// NEIGHBOURS rows shifted by `shift` for the rows listed in `moved`.
    fn timeline(rows: usize, frames: &[(usize, &[usize])]) -> Timeline {
        let mut t = Timeline::default();
        for &(step, moved) in frames {
            let layout: Vec<[f32; 2]> = (0..rows).map(|i| [i as f32 + step as f32, 0.0]).collect();
            t.record(step, &layout);
            let graph: Vec<Vec<(usize, f32)>> = (0..rows)
                .map(|i| {
                    let shift = if moved.contains(&i) { NEIGHBOURS } else { 0 };
                    (1..=NEIGHBOURS).map(|d| ((i + d + shift) % rows, 0.0)).collect()
                })
                .collect();
            t.attach_neighbours(step, &graph);
        }
        t
    }

    #[test]
    fn the_items_whose_neighbours_changed_rank_first() {
        let rows = 4 * NEIGHBOURS;
        let t = timeline(rows, &[(10, &[]), (20, &[3, 7]), (30, &[])]);
        let mut state = ChangeState::default();
        // By default: the two latest frames (20 → 30), where rows 3 and 7 move back.
        let latest = state.current(&t).unwrap();
        assert_eq!((latest.from_step, latest.to_step), (20, 30));
        assert_eq!(latest.ranked[..2], [3, 7]);
        assert_eq!(latest.change[3], 1.0);
        assert_eq!(latest.change[0], 0.0);
        // 10 → 30: nothing changed.
        state.from_step = Some(10);
        let same = state.current(&t).unwrap();
        assert_eq!((same.from_step, same.to_step), (10, 30));
        assert!(same.change.iter().all(|&c| c == 0.0));
        assert_eq!(state.values_for(rows).map(|v| v.len()), Some(rows));
        let paths = trails(&t, 10, 30, &[3]);
        assert_eq!(paths, vec![vec![[13.0, 0.0], [23.0, 0.0], [33.0, 0.0]]]);
    }

    #[test]
    fn fewer_than_two_known_frames_compare_nothing() {
        let t = timeline(2 * NEIGHBOURS, &[(10, &[])]);
        assert!(ChangeState::default().current(&t).is_none());
    }
}
