//! Background jobs: loading, projection, clustering, neighbour search, export and file
//! dialogs run on their own threads and post one result each; the app drains them every
//! frame (rerun's `background_tasks` pattern). A job sends before it wakes the UI, so a
//! repaint never arrives ahead of its result.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::analysis::metrics::ClusterSummary;
use crate::analysis::neighbors::Neighbor;
use crate::analysis::Matrix;
use crate::data::Dataset;
use crate::ssl::run::{EvaluationSource, RunEvaluation, SavedRun};
use crate::ssl::{Trainer, Waker};

/// What a native file dialog was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogPurpose {
    OpenDatasetFile,
    OpenDatasetFolder,
    QueryImage,
    SaveRun,
    OpenRun,
    /// A run folder for the runs table.
    AddRun,
    ExportDir,
    ExportSelection,
    /// The folder a PyTorch project of the run in `RunsTable::torch_from` is written to.
    ExportTorch,
    /// The checkpoint the encoder starts from.
    StartFrom,
}

/// A dataset ready to show: the data, the map subset and its raw-feature layout.
pub struct LoadedData {
    pub path: PathBuf,
    pub dataset: Arc<Dataset>,
    pub map_indices: Arc<Vec<usize>>,
    /// Raw features of the map subset: the space the map and neighbours use before training.
    pub raw: Arc<Matrix>,
    pub layout: Vec<[f32; 2]>,
    /// kNN accuracy on raw features, the line a trained encoder should beat.
    pub baseline_knn: Option<f32>,
}

pub struct ClusterResult {
    pub k: usize,
    pub assignments: Vec<usize>,
    pub summaries: Vec<ClusterSummary>,
    pub nmi: Option<f64>,
    pub ari: Option<f64>,
    /// The last cluster holds HDBSCAN's noise points rather than a cluster.
    pub noise: bool,
}

pub enum JobResult {
    Loaded(Result<Box<LoadedData>, String>),
    /// A 2D layout of the embedding of `generation`, aligned to the layout it will replace.
    Projected { generation: u64, outcome: Result<crate::app::live_projection::LayoutOutcome, String> },
    Clustered { generation: u64, result: Result<ClusterResult, String> },
    Neighbours { generation: u64, row: usize, result: Result<Vec<Neighbor>, String> },
    QueryNeighbours { generation: u64, request: u64, result: Result<Vec<Neighbor>, String> },
    KnnCorrect { generation: u64, correct: Vec<Option<bool>> },
    /// Data-quality scores of the map rows for one embedding.
    Scored(Result<Box<crate::app::scores::MapScores>, String>),
    /// A linear probe fitted on the embedding of a generation.
    Probed(u64, Result<Box<crate::app::probe::ProbeOutcome>, String>),
    /// A run reopened as the current model, with what its folder holds.
    RunOpened(Result<(Trainer, Box<SavedRun>), String>),
    /// A run folder read for the runs table, with its evaluation when that is current.
    RunAdded(Result<(Box<SavedRun>, Option<RunEvaluation>), String>),
    /// Full-dataset metrics of a run in the runs table.
    RunMeasured { dir: PathBuf, result: Result<(RunEvaluation, EvaluationSource), String> },
    /// A run folder written by "Embed only", to open.
    Embedded(Result<PathBuf, String>),
    /// Map rows picked for labelling from the embedding of a generation.
    Picked { generation: u64, result: Result<(Vec<usize>, crate::app::selection::PickedReport), String> },
    /// A finished file operation: the message for the status line, or an error.
    Done(Result<String, String>),
    Dialog { purpose: DialogPurpose, path: Option<PathBuf> },
}

/// The kinds of background job: what the panels ask "is one running?" about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    Load,
    Projection,
    Clustering,
    Neighbours,
    Query,
    Knn,
    Scores,
    Probe,
    OpenRun,
    RunAdd,
    RunEval,
    Embed,
    Export,
    TorchExport,
    DiversePick,
    Curate,
    Dialog,
}

impl JobKind {
    /// The job's name in messages and thread names.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Load => "loading",
            JobKind::Projection => "projection",
            JobKind::Clustering => "clustering",
            JobKind::Neighbours => "neighbour search",
            JobKind::Query => "query",
            JobKind::Knn => "kNN colouring",
            JobKind::Scores => "scores",
            JobKind::Probe => "probe",
            JobKind::OpenRun => "opening the run",
            JobKind::RunAdd => "reading the run",
            JobKind::RunEval => "measuring the run",
            JobKind::Embed => "embedding",
            JobKind::Export => "export",
            JobKind::TorchExport => "PyTorch export",
            JobKind::DiversePick => "diverse pick",
            JobKind::Curate => "writing files",
            JobKind::Dialog => "file dialog",
        }
    }
}

pub struct Jobs {
    tx: Sender<(JobKind, JobResult)>,
    rx: Receiver<(JobKind, JobResult)>,
    waker: Waker,
    /// Kinds of jobs still running, with how many of each.
    running: HashMap<JobKind, usize>,
    /// Fraction done of the current load, as f32 bits.
    pub load_progress: Arc<AtomicU32>,
}

impl Jobs {
    pub fn new(waker: Waker) -> Self {
        let (tx, rx) = unbounded();
        Self { tx, rx, waker, running: HashMap::new(), load_progress: Arc::new(AtomicU32::new(0)) }
    }

    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Runs `work` on a new thread as a job of `kind`; its result comes back through `poll`.
    pub fn spawn(&mut self, kind: JobKind, work: impl FnOnce() -> JobResult + Send + 'static) {
        let tx = self.tx.clone();
        let waker = self.waker.clone();
        *self.running.entry(kind).or_default() += 1;
        let name = kind.name();
        let spawned = std::thread::Builder::new().name(format!("pretext-{kind:?}")).spawn(move || {
            // A panic deep in a dependency must become a message, not a job that never ends.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown error".into());
                JobResult::Done(Err(format!("{name} failed: {what}")))
            });
            let _ = tx.send((kind, result));
            waker();
        });
        if let Err(e) = spawned {
            let _ = self.tx.send((kind, JobResult::Done(Err(format!("cannot start a background job: {e}")))));
        }
    }

    /// Drops a value on another thread: a trainer's drop joins its thread, which can take a
    /// training step, and the window must not wait for that.
    pub fn drop_in_background<T: Send + 'static>(value: T) {
        let _ = std::thread::Builder::new().name("pretext-drop".into()).spawn(move || drop(value));
    }

    pub fn is_running(&self, kind: JobKind) -> bool {
        self.running.get(&kind).is_some_and(|&n| n > 0)
    }

    pub fn any_running(&self) -> bool {
        self.running.values().any(|&n| n > 0)
    }

    /// Next finished result, if any.
    pub fn poll(&mut self) -> Option<JobResult> {
        let (kind, result) = self.rx.try_recv().ok()?;
        if let Some(n) = self.running.get_mut(&kind) {
            *n = n.saturating_sub(1);
        }
        Some(result)
    }

    pub fn set_progress(&self, f: f32) {
        self.load_progress.store(f.to_bits(), Ordering::Relaxed);
    }

    pub fn progress(&self) -> f32 {
        f32::from_bits(self.load_progress.load(Ordering::Relaxed))
    }
}
