//! The desktop app: an eframe window over the core. Each frame drains the trainer's events and
//! the background jobs' results, draws the panels (`ui/`), then applies the commands the
//! panels emitted (`logic.rs`). Only `settings::Settings` is saved between launches.

pub mod change;
pub mod clusters;
pub mod collapse;
pub mod contours;
pub mod curation;
pub mod dataset;
pub mod isolate;
pub mod jobs;
pub mod live_projection;
mod commands;
mod logic;
pub mod map;
pub mod neighbours;
pub mod read_options;
pub mod probe;
pub mod reconstructions;
pub mod runs;
pub mod rooms;
pub mod scores;
pub mod selection;
pub mod settings;
pub mod shell;
pub mod tags;
mod sparkline;
pub mod state;
pub mod thumbs;
pub mod timeline;
pub mod training;
mod ui;
pub mod work;

use std::path::PathBuf;
use std::sync::Arc;

use crate::data::Dataset;
use jobs::Jobs;
use runs::RunsTable;
use settings::Settings;
use shell::Shell;
use state::{Command, Space};
use thumbs::Thumbs;

/// The dataset the window shows.
pub struct Loaded {
    pub path: PathBuf,
    pub dataset: Arc<Dataset>,
    pub map_indices: Arc<Vec<usize>>,
    /// Labels of the map rows, when the dataset has labels.
    pub labels: Option<Vec<u32>>,
    pub raw: Arc<crate::analysis::Matrix>,
    pub baseline_knn: Option<f32>,
}

/// The window: what every feature reads (settings, the dataset, the embedding space the map
/// shows, the job runner and the thumbnail cache), the shell around the panels, and one room
/// per feature. A feature's state lives in its room; how a room reacts to a dataset loading,
/// a run opening or being saved, the model being reset, the map's rows changing and a new
/// embedding is in that room's `Room` impl, called from `rooms::PretextApp::broadcast`.
pub struct PretextApp {
    pub settings: Settings,
    pub data: Option<Loaded>,
    pub space: Option<Space>,
    pub jobs: Jobs,
    pub thumbs: Thumbs,
    /// Status line, errors, the frame's commands and the counters behind requests.
    pub shell: Shell,
    pub dataset: dataset::DatasetRoom,
    pub training: training::TrainingRoom,
    pub map: map::room::MapRoom,
    /// The map narrowed to the selected points and laid out anew ("isolate selection").
    pub isolation: isolate::IsolationState,
    /// Every laid-out snapshot of the current training, for scrubbing and replay.
    pub timeline: timeline::Timeline,
    /// What changed between two snapshots of the timeline.
    pub change: change::ChangeState,
    pub neighbours: neighbours::NeighboursRoom,
    pub clusters: clusters::ClustersRoom,
    pub selection: selection::SelectionRoom,
    /// Data-quality scores of the map items (scores panel, colour by score).
    pub scores: scores::ScoresState,
    /// Named sets of items (tags panel), saved with the run and exported as columns.
    pub tags: tags::Tags,
    /// Linear probes on the dataset's labels or on the tags (probe panel).
    pub probe: probe::ProbeState,
    pub runs: RunsTable,
}

impl PretextApp {
    /// The app as eframe creates it: settings restored, the sample (or `initial`) loading.
    pub fn new(cc: &eframe::CreationContext<'_>) -> Self {
        Self::with_dataset(cc, None)
    }

    pub fn with_dataset(cc: &eframe::CreationContext<'_>, initial: Option<PathBuf>) -> Self {
        let settings: Settings = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
        Self::with_settings(cc.egui_ctx.clone(), settings, initial)
    }

    /// For tests: explicit settings instead of the saved ones.
    pub fn with_settings(ctx: egui::Context, settings: Settings, initial: Option<PathBuf>) -> Self {
        let waker_ctx = ctx.clone();
        let jobs = Jobs::new(Arc::new(move || waker_ctx.request_repaint()));
        let path_input = initial.as_ref().unwrap_or(&crate::data::load::sample_data_dir()).display().to_string();
        Self {
            settings,
            data: None,
            space: None,
            jobs,
            thumbs: Thumbs::default(),
            shell: Shell::new(ctx, initial),
            dataset: dataset::DatasetRoom { path_input, ..Default::default() },
            training: Default::default(),
            map: Default::default(),
            isolation: Default::default(),
            timeline: Default::default(),
            change: Default::default(),
            neighbours: Default::default(),
            clusters: Default::default(),
            selection: Default::default(),
            scores: Default::default(),
            tags: Default::default(),
            probe: Default::default(),
            runs: RunsTable::default(),
        }
    }

    /// The app opening `dir`, a saved run, on the dataset its config.json names.
    pub fn with_run(ctx: egui::Context, settings: Settings, dir: PathBuf) -> crate::Result<Self> {
        let config = crate::ssl::run::load_config(&dir)?;
        let mut app = Self::with_settings(ctx, settings, Some(PathBuf::from(&config.dataset.source)));
        app.shell.initial_run = Some((dir, config.split_seed()));
        app.dataset.read_options = read_options::ReadOptions::of_run(&config);
        Ok(app)
    }

    /// Queues a command as if a panel had emitted it (tests and drag-and-drop use this).
    pub fn command(&mut self, cmd: Command) {
        self.shell.commands.push(cmd);
    }

    /// Background work still running (loading, projection, clustering, ...).
    pub fn busy(&self) -> bool {
        self.jobs.any_running() || self.map.projection.running.is_some()
    }

    /// Screen position of map row `row` in the last frame (tests click here).
    pub fn map_point_screen_pos(&self, row: usize) -> Option<egui::Pos2> {
        self.map.view.screen_pos(row)
    }

    /// With PRETEXT_FRAME_STATS set: the window repaints continuously and, every 120 frames,
    /// prints the frame rate reached, the UI build time (mesh included) and eframe's
    /// whole-frame time (UI, tessellation and GL calls, without vsync waits) on stderr.
    /// Used for the frame-time figures in the README.
    fn print_frame_stats(&mut self, whole_frame: Option<f32>) {
        let Some(dt) = whole_frame else { return };
        self.shell.frame_intervals.push(dt * 1000.0);
        if self.shell.frame_intervals.len() >= 120 {
            let n = self.shell.frame_intervals.len() as f32;
            let ui: Vec<f32> = self.shell.frame_ms.iter().rev().take(self.shell.frame_intervals.len()).copied().collect();
            let now = std::time::Instant::now();
            let fps = self.shell.frame_stats_since.map(|since| n / now.duration_since(since).as_secs_f32());
            self.shell.frame_stats_since = Some(now);
            eprintln!(
                "frames {} ({}) points {} | ui build mean {:.2} ms max {:.2} ms | whole frame mean {:.2} ms max {:.2} ms | last mesh {:.2} ms",
                self.shell.frame_intervals.len(),
                fps.map_or("first report".into(), |f| format!("{f:.1} fps")),
                self.map.view.len(),
                ui.iter().sum::<f32>() / ui.len().max(1) as f32,
                ui.iter().copied().fold(0.0, f32::max),
                self.shell.frame_intervals.iter().sum::<f32>() / n,
                self.shell.frame_intervals.iter().copied().fold(0.0, f32::max),
                self.map.view.last_build_ms
            );
            self.shell.frame_intervals.clear();
        }
    }

    /// Colour of map row `row` in the last frame (tests check what the map shows).
    pub fn point_color(&self, row: usize) -> Option<egui::Color32> {
        self.map.colors.get(row).copied()
    }

    /// Global dataset index of a map row.
    pub fn item_of_row(&self, row: usize) -> Option<usize> {
        self.data.as_ref().and_then(|d| d.map_indices.get(row).copied())
    }
}

impl eframe::App for PretextApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let started = std::time::Instant::now();
        if !self.shell.started {
            self.shell.started = true;
            let path = self.shell.initial.clone().unwrap_or_else(crate::data::load::sample_data_dir);
            self.open_dataset_split(path, self.shell.initial_run.as_ref().map_or(0, |(_, seed)| *seed));
        }
        self.drain();
        self.take_dropped_files(ui.ctx());
        ui::show(self, ui);
        for cmd in std::mem::take(&mut self.shell.commands) {
            self.apply(cmd);
        }
        if self.shell.frame_ms.len() >= 240 {
            self.shell.frame_ms.pop_front();
        }
        self.shell.frame_ms.push_back(started.elapsed().as_secs_f32() * 1000.0);
        if std::env::var_os("PRETEXT_FRAME_STATS").is_some() {
            self.print_frame_stats(frame.info().cpu_usage);
            // Frames back to back, so the time between two reports is the frame rate the
            // machine (and its GL) reaches, not the pace of input events.
            ui.ctx().request_repaint();
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}

/// Opens the window (on `initial`, or on the bundled sample; or on the saved run `run` and
/// its dataset) and runs until it is closed.
pub fn run_gui(initial: Option<PathBuf>, run: Option<PathBuf>) -> anyhow::Result<()> {
    if let Some(dir) = &run {
        // A bad folder is a one-line error before any window opens.
        crate::ssl::run::load_config(dir)?;
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("pretext")
            .with_app_id("pretext")
            .with_inner_size([1500.0, 950.0])
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "pretext",
        options,
        Box::new(move |cc| {
            let app = match run {
                Some(dir) => {
                    let settings: Settings = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
                    PretextApp::with_run(cc.egui_ctx.clone(), settings, dir).map_err(|e| e.to_string())?
                }
                None => PretextApp::with_dataset(cc, initial),
            };
            Ok(Box::new(app) as Box<dyn eframe::App>)
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}
