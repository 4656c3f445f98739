//! The runs table: run folders of the open dataset side by side (settings, training time,
//! full-dataset metrics, loss and kNN curves), and which run's embeddings the map shows.
//! Reading a folder and measuring a run happen in background jobs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::app::jobs::{JobKind, JobResult};
use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::{Ema, Snapshot, Space};
use crate::app::PretextApp;
use crate::ssl::run::{self, EvaluationSource, RunEvaluation, SavedRun};
use crate::ssl::summary::RunSummary;

/// Points per curve drawn on the shared charts (long runs are thinned to this).
const CURVE_POINTS: usize = 2_000;

pub struct RunEntry {
    pub saved: Arc<SavedRun>,
    pub summary: RunSummary,
    pub measuring: bool,
    pub error: Option<String>,
    /// Smoothed loss and map-subset kNN accuracy by step, for the charts.
    pub loss: Vec<[f64; 2]>,
    pub knn: Vec<[f64; 2]>,
}

impl RunEntry {
    fn new(saved: SavedRun, evaluation: Option<&RunEvaluation>) -> Self {
        let summary = RunSummary::new(&saved, evaluation.map(|e| (e, EvaluationSource::Saved)));
        let mut ema = Ema::default();
        let loss: Vec<[f64; 2]> = saved.losses.iter().map(|&(s, l)| [s as f64, ema.push(l as f64)]).collect();
        let stride = loss.len().div_ceil(CURVE_POINTS).max(1);
        let loss = loss.into_iter().enumerate().filter(|(i, _)| i % stride == 0).map(|(_, p)| p).collect();
        let knn = saved.history.iter().filter_map(|r| r.knn_accuracy.map(|a| [r.step as f64, a as f64])).collect();
        Self { saved: Arc::new(saved), summary, measuring: false, error: None, loss, knn }
    }

    pub fn dir(&self) -> &Path {
        &self.saved.dir
    }
}

#[derive(Default)]
pub struct RunsTable {
    pub entries: Vec<RunEntry>,
    /// Folder of the current model (opened from it or saved to it), if it has one.
    pub current_dir: Option<PathBuf>,
    /// The run whose embeddings the map shows; None: the current model's.
    pub shown: Option<PathBuf>,
    /// Path typed into the panel.
    pub path_input: String,
    /// Whether the panel is open.
    pub open: bool,
    /// The current model's newest snapshot, kept while another run is on the map.
    pub live: Option<Snapshot>,
    /// The run whose PyTorch project folder is being chosen.
    pub torch_from: Option<PathBuf>,
}

/// Two spellings of one folder compare equal.
fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

impl RunsTable {
    /// A new dataset: its runs are not the old dataset's.
    pub fn clear(&mut self) {
        let (open, path_input) = (self.open, std::mem::take(&mut self.path_input));
        *self = Self { open, path_input, ..Self::default() };
    }

    pub fn get(&self, dir: &Path) -> Option<&RunEntry> {
        self.entries.iter().find(|e| same_dir(e.dir(), dir))
    }

    fn get_mut(&mut self, dir: &Path) -> Option<&mut RunEntry> {
        self.entries.iter_mut().find(|e| same_dir(e.dir(), dir))
    }

    pub fn is_current(&self, dir: &Path) -> bool {
        self.current_dir.as_deref().is_some_and(|c| same_dir(c, dir))
    }

    pub fn is_shown(&self, dir: &Path) -> bool {
        self.shown.as_deref().is_some_and(|s| same_dir(s, dir))
    }

    /// Adds a run, or replaces the entry of the same folder (saved again).
    fn upsert(&mut self, saved: SavedRun, evaluation: Option<&RunEvaluation>) -> &mut RunEntry {
        let entry = RunEntry::new(saved, evaluation);
        let at = match self.entries.iter().position(|e| same_dir(e.dir(), entry.dir())) {
            Some(i) => {
                self.entries[i] = entry;
                i
            }
            None => {
                self.entries.push(entry);
                self.entries.len() - 1
            }
        };
        &mut self.entries[at]
    }

    pub fn remove(&mut self, dir: &Path) {
        self.entries.retain(|e| !same_dir(e.dir(), dir));
    }
}

impl Room for RunsTable {
    fn on_dataset_loaded(&mut self, _path: &Path, _rows: usize) {
        self.clear();
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {}
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    /// The opened run is the current model and its snapshot the live one.
    fn on_run_opened(&mut self, run: &OpenedRun<'_>, _fx: &mut Effects) {
        self.live = Some(run.snapshot.clone());
        self.shown = None;
    }
    fn on_run_saved(&mut self, _dir: &Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {
        self.current_dir = None;
        self.live = None;
    }
}

impl PretextApp {
    /// Reads a run folder for the table (checked against the open dataset), in the background.
    pub(crate) fn add_run(&mut self, dir: PathBuf) {
        let Some(data) = &self.data else {
            self.error("open the runs' dataset first, then add runs");
            return;
        };
        let ds = data.dataset.clone();
        self.runs.open = true;
        self.jobs.spawn(JobKind::RunAdd, move || {
            JobResult::RunAdded((|| {
                let saved = run::load(&dir)?;
                saved.check_dataset(&ds)?;
                let evaluation = run::load_evaluation(&dir)?.filter(|e| e.is_current_for(&saved.config));
                Ok::<_, crate::PretextError>((Box::new(saved), evaluation))
            })()
            .map_err(|e| e.to_string()))
        });
    }

    pub(crate) fn on_run_added(&mut self, saved: SavedRun, evaluation: Option<RunEvaluation>) {
        let dir = saved.dir.clone();
        let needs_measuring = evaluation.is_none();
        let name = saved.name();
        // The current model's own folder keeps the status line's "saved" / "opened".
        if !self.runs.is_current(&dir) {
            self.shell.status = format!("run {name} added to the runs table");
        }
        self.runs.upsert(saved, evaluation.as_ref());
        if needs_measuring {
            self.measure_run(&dir);
        }
    }

    /// Measures a run on the whole dataset (as `pretext eval` does) and saves the result
    /// beside it; the table shows "measuring…" meanwhile.
    fn measure_run(&mut self, dir: &Path) {
        let Some(ds) = self.data.as_ref().map(|d| d.dataset.clone()) else { return };
        let Some(entry) = self.runs.get_mut(dir) else { return };
        entry.measuring = true;
        let dir = entry.dir().to_path_buf();
        self.jobs.spawn(JobKind::RunEval, move || JobResult::RunMeasured {
            result: run::current_evaluation(&dir, &ds, crate::ssl::DeviceChoice::Cpu).map_err(|e| e.to_string()),
            dir,
        });
    }

    pub(crate) fn on_run_measured(&mut self, dir: PathBuf, result: Result<(RunEvaluation, EvaluationSource), String>) {
        let Some(entry) = self.runs.get_mut(&dir) else { return };
        entry.measuring = false;
        match result {
            Ok((e, source)) => entry.summary = RunSummary::new(&entry.saved, Some((&e, source))),
            Err(e) => {
                entry.error = Some(e.clone());
                self.error(format!("could not measure {}: {e}", dir.display()));
            }
        }
    }

    /// Puts a run's saved embeddings (or, for None, the current model's newest snapshot) on
    /// the map, aligned to what the map shows now.
    pub(crate) fn show_run(&mut self, dir: Option<PathBuf>) {
        let snapshot = match &dir {
            None => self.runs.live.clone(),
            Some(d) => self.runs.get(d).map(|e| Snapshot {
                step: Some(e.saved.config.step),
                matrix: Arc::new(e.saved.embeddings.clone()),
                items: Arc::new(e.saved.indices.clone()),
                run: Some(e.saved.name()),
            }),
        };
        let Some(snapshot) = snapshot else {
            self.error("there is no embedding to show for this row yet");
            return;
        };
        self.runs.shown = dir;
        self.isolation.clear();
        self.map.pending_snapshot = Some(snapshot);
        self.project_pending();
    }

    /// The current model was saved to or opened from `dir`: its row is that folder's.
    pub(crate) fn current_run_is(&mut self, dir: PathBuf) {
        self.runs.current_dir = Some(dir.clone());
        self.add_run(dir);
    }
}

impl PretextApp {
    /// Writes the saved run in `run` as a PyTorch Lightning project (`pretext export-torch`)
    /// into `out`, in the background; a folder that already holds files is refused.
    pub(crate) fn export_torch(&mut self, run: PathBuf, out: PathBuf) {
        if self.jobs.is_running(JobKind::TorchExport) {
            return self.error("a PyTorch export is already being written");
        }
        self.shell.status = format!("writing a PyTorch project of {} to {}…", run.display(), out.display());
        self.jobs.spawn(JobKind::TorchExport, move || {
            let options = crate::export::torch_project::ProjectOptions::default();
            JobResult::Done(match crate::export::torch_project::write_project(&run, &out, &options) {
                Ok(summary) => Ok(format!(
                    "PyTorch project written to {} ({} files, from step {}); its README.md says how to launch it",
                    summary.dir.display(),
                    summary.files.len(),
                    summary.run_step
                )),
                Err(e) => Err(format!("could not export {} to PyTorch: {e}", run.display())),
            })
        });
    }
}
