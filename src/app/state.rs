//! Runtime state that is not saved: the training log behind the charts, the embedding space
//! the map shows, and the commands panels emit (applied at the end of the frame, so panel
//! code never mutates the app from inside its closures).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analysis::Matrix;
use crate::app::jobs::DialogPurpose;
use crate::ssl::{FinishReason, TrainEvent};

/// What a panel asks for; applied by `PretextApp::apply`.
#[derive(Debug, Clone)]
pub enum Command {
    OpenDataset(PathBuf),
    Dialog(DialogPurpose),
    Train,
    Pause,
    Resume,
    Stop,
    /// Forget the model (the next Train starts from scratch with the current settings).
    ResetModel,
    SaveRun(PathBuf),
    OpenRun(PathBuf),
    /// Embed every item with the chosen encoder and checkpoint, no training, into this run
    /// folder, then open it.
    EmbedOnly(PathBuf),
    /// Add a run folder to the runs table.
    AddRun(PathBuf),
    RemoveRun(PathBuf),
    /// Show a run's saved embeddings on the map (None: the current model's).
    ShowRun(Option<PathBuf>),
    /// Focus one map row (neighbours panel), or none.
    Focus(Option<usize>),
    /// Search the focused row's neighbours again (the embedding changed).
    RefreshNeighbours,
    /// Focus a map row and bring the neighbours panel forward.
    ShowNeighboursOf(usize),
    /// Colour the map's points by this.
    ColorBy(crate::app::settings::ColorBy),
    /// Open or close the runs table.
    ToggleRunsTable,
    Select(Vec<usize>),
    /// Select a few diverse map rows to label (the Selection panel's method and count).
    PickDiverse,
    ClearSelection,
    ToggleClass(u32),
    /// k-means or HDBSCAN, as chosen in the Clusters panel.
    RunClustering,
    /// Project the current embedding again (the projection method changed).
    Reproject,
    QueryImage(PathBuf),
    /// Text datasets: embed typed text and show its neighbours.
    QueryText(String),
    Export(PathBuf),
    ExportSelection(PathBuf),
    /// Write the saved run `run` as a PyTorch Lightning project into `out`.
    ExportTorch { run: PathBuf, out: PathBuf },
    /// Write the selection's sources, files, or a new data file without it or relabelled.
    Curate(crate::app::curation::CurateCommand),
    ShowViews(usize),
    /// Generative objectives: the focused item damaged and reconstructed by the model.
    ShowReconstructions(usize),
    DismissError(usize),
    Tag(crate::app::tags::TagCommand),
    Probe(crate::app::probe::ProbeCommand),
    /// Show only the selected points, laid out anew.
    IsolateSelection,
    /// End the isolation: every map point again.
    ShowAllPoints,
}

/// The vectors the map, neighbours and clusters currently work in.
#[derive(Clone)]
pub struct Space {
    pub matrix: Arc<Matrix>,
    /// Training step of the snapshot, or None for raw features.
    pub step: Option<usize>,
    /// Bumped on every new matrix; results computed on an older one are recognised by it.
    pub generation: u64,
    /// The saved run the matrix comes from, when it is not the current model's.
    pub run: Option<String>,
}

impl Space {
    pub fn describe(&self) -> String {
        match (self.step, &self.run) {
            (None, _) => "raw features (before training)".into(),
            (Some(s), None) => format!("embedding at step {s}"),
            (Some(s), Some(run)) => format!("run {run}, embedding at step {s}"),
        }
    }
}

/// An embedding of some dataset items waiting to go on the map.
#[derive(Clone)]
pub struct Snapshot {
    pub step: Option<usize>,
    pub matrix: Arc<Matrix>,
    /// Global dataset index of each row.
    pub items: Arc<Vec<usize>>,
    /// The saved run it comes from, when it is not the current model's.
    pub run: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainStatus {
    Idle,
    Running,
    Paused,
    Finished,
}

/// Everything the charts and the progress line show, built from the trainer's events.
pub struct TrainingLog {
    pub status: TrainStatus,
    pub loss: Vec<[f64; 2]>,
    pub loss_smooth: Vec<[f64; 2]>,
    smooth: Ema,
    pub throughput: Vec<[f64; 2]>,
    pub knn: Vec<[f64; 2]>,
    pub embedding_std: Vec<[f64; 2]>,
    pub effective_rank: Vec<[f64; 2]>,
    /// EMA momentum of the objective's teacher (empty for objectives without one).
    pub teacher_momentum: Vec<[f64; 2]>,
    pub step: usize,
    pub epoch: f32,
    pub learning_rate: f64,
    pub total_steps: usize,
    phase_start_step: usize,
    phase_started: Option<Instant>,
    paused_at: Option<Instant>,
    paused_for: Duration,
    pub snapshots: usize,
    /// Why the last training phase failed, when it did (the error that ended it).
    pub failure: Option<String>,
    /// The last error the trainer sent, kept until the phase ends.
    last_error: Option<String>,
    /// When each step was reported, in step order: how old the map's snapshot is.
    step_times: Vec<(usize, Instant)>,
}

impl Default for TrainingLog {
    fn default() -> Self {
        Self {
            status: TrainStatus::Idle,
            loss: Vec::new(),
            loss_smooth: Vec::new(),
            smooth: Ema::default(),
            throughput: Vec::new(),
            knn: Vec::new(),
            embedding_std: Vec::new(),
            effective_rank: Vec::new(),
            teacher_momentum: Vec::new(),
            step: 0,
            epoch: 0.0,
            learning_rate: 0.0,
            total_steps: 0,
            phase_start_step: 0,
            phase_started: None,
            paused_at: None,
            paused_for: Duration::ZERO,
            snapshots: 0,
            step_times: Vec::new(),
            failure: None,
            last_error: None,
        }
    }
}

/// Weight of the newest loss in the smoothed curve (an exponential moving average).
const SMOOTHING: f64 = 0.05;

/// Exponential moving average with the start-up bias removed (as in Adam), so the smoothed
/// curve does not hang at the first value for the first steps.
#[derive(Default, Clone)]
pub struct Ema {
    value: f64,
    count: i32,
}

impl Ema {
    pub fn push(&mut self, x: f64) -> f64 {
        self.value = self.value * (1.0 - SMOOTHING) + SMOOTHING * x;
        self.count = self.count.saturating_add(1);
        self.value / (1.0 - (1.0 - SMOOTHING).powi(self.count))
    }
}

impl TrainingLog {
    /// Folds one event into the log (Snapshot, Saved, Embedded and Error are handled by the app).
    pub fn record(&mut self, ev: &TrainEvent) {
        match ev {
            TrainEvent::Started { total_steps, start_step, .. } => {
                self.status = TrainStatus::Running;
                self.failure = None;
                self.last_error = None;
                self.total_steps = *total_steps;
                self.phase_start_step = *start_step;
                self.step = *start_step;
                self.phase_started = Some(Instant::now());
                self.paused_for = Duration::ZERO;
                self.paused_at = None;
            }
            TrainEvent::Step { step, epoch, loss, items_per_sec, learning_rate, teacher_momentum } => {
                let x = *step as f64;
                let l = *loss as f64;
                self.loss.push([x, l]);
                self.loss_smooth.push([x, self.smooth.push(l)]);
                if *items_per_sec > 0.0 {
                    self.throughput.push([x, *items_per_sec as f64]);
                }
                self.step = *step;
                // A reopened run's steps start over from its own; the times keep step order.
                let after = self.step_times.partition_point(|(s, _)| s < step);
                self.step_times.truncate(after);
                self.step_times.push((*step, Instant::now()));
                self.epoch = *epoch;
                self.learning_rate = *learning_rate;
                if let Some(m) = teacher_momentum {
                    self.teacher_momentum.push([x, *m]);
                }
            }
            TrainEvent::Eval { step, knn_accuracy, embedding_std, effective_rank } => {
                let x = *step as f64;
                if let Some(a) = knn_accuracy {
                    self.knn.push([x, *a as f64]);
                }
                self.embedding_std.push([x, *embedding_std as f64]);
                self.effective_rank.push([x, *effective_rank as f64]);
            }
            TrainEvent::Snapshot { .. } => self.snapshots += 1,
            TrainEvent::Paused { .. } => {
                self.status = TrainStatus::Paused;
                self.paused_at = Some(Instant::now());
            }
            TrainEvent::Resumed { .. } => {
                self.status = TrainStatus::Running;
                if let Some(p) = self.paused_at.take() {
                    self.paused_for += p.elapsed();
                }
            }
            TrainEvent::Finished { step, reason } => {
                self.status = TrainStatus::Finished;
                self.step = *step;
                let last_error = self.last_error.take();
                self.failure = match reason {
                    FinishReason::Failed => Some(last_error.unwrap_or_else(|| "training failed".into())),
                    FinishReason::Completed | FinishReason::TimeBudget | FinishReason::Stopped => None,
                };
            }
            TrainEvent::Error(msg) => self.last_error = Some(msg.clone()),
            _ => {}
        }
    }

    /// When `step` was trained, if this log saw it.
    pub fn stepped_at(&self, step: usize) -> Option<Instant> {
        let i = self.step_times.partition_point(|(s, _)| *s < step);
        self.step_times.get(i).filter(|(s, _)| *s == step).map(|(_, t)| *t)
    }

    pub fn progress(&self) -> f32 {
        let span = self.total_steps.saturating_sub(self.phase_start_step);
        if span == 0 {
            return 0.0;
        }
        (self.step.saturating_sub(self.phase_start_step)) as f32 / span as f32
    }

    /// Remaining time of the phase at the average wall-clock pace so far (evaluations
    /// included, pauses excluded).
    pub fn eta(&self) -> Option<Duration> {
        if self.status != TrainStatus::Running {
            return None;
        }
        let done = self.step.saturating_sub(self.phase_start_step);
        let elapsed = self.phase_started?.elapsed().checked_sub(self.paused_for)?;
        if done == 0 {
            return None;
        }
        let per_step = elapsed.as_secs_f64() / done as f64;
        Some(Duration::from_secs_f64(per_step * self.total_steps.saturating_sub(self.step) as f64))
    }
}

pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tracks_steps_evals_and_pauses() {
        let mut log = TrainingLog::default();
        log.record(&TrainEvent::Started { total_steps: 10, steps_per_epoch: 5, start_step: 0, threads: 2 });
        for s in 1..=4 {
            log.record(&TrainEvent::Step { step: s, epoch: s as f32 / 5.0, loss: 5.0 - s as f32, items_per_sec: 100.0, learning_rate: 1e-3, teacher_momentum: None });
        }
        log.record(&TrainEvent::Eval { step: 4, knn_accuracy: Some(0.5), embedding_std: 0.1, effective_rank: 3.0 });
        assert_eq!(log.loss.len(), 4);
        assert!((log.loss_smooth[0][1] - 4.0).abs() < 1e-9, "the first smoothed value is the first loss");
        assert!(log.loss_smooth[3][1] > log.loss[3][1], "smoothed curve lags the falling loss");
        assert_eq!(log.knn, vec![[4.0, 0.5]]);
        assert!((log.progress() - 0.4).abs() < 1e-6);
        log.record(&TrainEvent::Paused { step: 4 });
        assert_eq!(log.status, TrainStatus::Paused);
        assert!(log.eta().is_none());
    }
}
