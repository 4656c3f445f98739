//! How much of the machine the live map may take while training runs.
//!
//! With a budget, a snapshot is taken synchronously: training waits while the snapshot worker
//! embeds the map items with every core at full priority, then goes on (the kNN evaluation
//! of that snapshot follows at low priority). The wait is the snapshot's cost; the next one
//! is due once training has run long enough that the waits stay at the budget's share of the
//! wall-clock time: after a snapshot that cost `c`, the next comes after `c · (1 − s) / s` of
//! training. A cheap snapshot (a small map) comes often, an expensive one (70,000 items)
//! rarely, and training keeps `1 − s` of the machine either way.
//!
//! Without a budget (the command line) snapshots are asked for every `eval_every` steps and
//! embedded beside training at low priority, never holding it up.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The share of the machine the live map may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveMap {
    /// 3 % of the time: the map moves rarely, training runs nearly as fast as on the command line.
    TrainingFirst,
    /// 7 % of the time.
    #[default]
    Balanced,
    /// 25 % of the time: the map follows closely, training is slower.
    MapFirst,
}

impl LiveMap {
    pub const ALL: [LiveMap; 3] = [LiveMap::TrainingFirst, LiveMap::Balanced, LiveMap::MapFirst];

    /// The fraction of wall-clock time snapshots may take.
    pub fn share(self) -> f64 {
        match self {
            LiveMap::TrainingFirst => 0.03,
            LiveMap::Balanced => 0.07,
            LiveMap::MapFirst => 0.25,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LiveMap::TrainingFirst => "training first",
            LiveMap::Balanced => "balanced",
            LiveMap::MapFirst => "map first",
        }
    }
}

/// Decides when the next snapshot is due under a budget.
#[derive(Debug, Clone)]
pub struct SnapshotPacer {
    share: f64,
    /// Training time since the last snapshot.
    trained: Duration,
    /// What the last snapshot cost (training's wait); None before the first.
    last_cost: Option<Duration>,
    last_step: usize,
}

impl SnapshotPacer {
    pub fn new(budget: LiveMap, step: usize) -> Self {
        Self { share: budget.share(), trained: Duration::ZERO, last_cost: None, last_step: step }
    }

    /// Training ran for `d` (a step, waiting for its batch included).
    pub fn trained(&mut self, d: Duration) {
        self.trained += d;
    }

    /// Training time between snapshots that keeps their cost at the budget's share, after
    /// the last one; None before the first.
    pub fn interval(&self) -> Option<Duration> {
        self.last_cost.map(|c| c.mul_f64((1.0 - self.share) / self.share))
    }

    /// Whether a snapshot is due at `step`: at least `min_steps` after the last one, and the
    /// budget's training time has passed (the first one only waits for `min_steps`).
    pub fn due(&self, step: usize, min_steps: usize) -> bool {
        step >= self.last_step + min_steps.max(1) && self.interval().is_none_or(|i| self.trained >= i)
    }

    /// A snapshot at `step` cost training `cost`.
    pub fn snapshotted(&mut self, step: usize, cost: Duration) {
        self.last_cost = Some(cost);
        self.last_step = step;
        self.trained = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_snapshot_waits_only_for_the_step_gap() {
        let pacer = SnapshotPacer::new(LiveMap::Balanced, 0);
        assert!(!pacer.due(9, 10));
        assert!(pacer.due(10, 10));
    }

    #[test]
    fn the_next_snapshot_keeps_the_waits_at_the_share() {
        // Balanced: 7 %. A snapshot that cost 0.7 s is followed by 9.3 s of training.
        let mut pacer = SnapshotPacer::new(LiveMap::Balanced, 0);
        pacer.snapshotted(10, Duration::from_millis(700));
        assert_eq!(pacer.interval().map(|i| i.as_millis()), Some(9300));
        pacer.trained(Duration::from_millis(9000));
        assert!(!pacer.due(100, 10), "0.3 s of training short");
        pacer.trained(Duration::from_millis(300));
        assert!(pacer.due(100, 10));
        assert!(!pacer.due(15, 10), "and never within the step gap");
        // Over a whole cycle the wait is 7 % of the time.
        let cycle = 0.7 + pacer.interval().map_or(0.0, |i| i.as_secs_f64());
        assert!((0.7 / cycle - 0.07).abs() < 1e-9);
    }

    #[test]
    fn a_larger_share_snapshots_more_often() {
        let interval = |budget| {
            let mut p = SnapshotPacer::new(budget, 0);
            p.snapshotted(1, Duration::from_secs(1));
            p.interval().unwrap_or_default()
        };
        assert!(interval(LiveMap::MapFirst) < interval(LiveMap::Balanced));
        assert!(interval(LiveMap::Balanced) < interval(LiveMap::TrainingFirst));
        assert_eq!(interval(LiveMap::MapFirst), Duration::from_secs(3));
    }
}
