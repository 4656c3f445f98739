//! The desktop app: an eframe window over the core. Each frame drains the trainer's events and
//! the background jobs' results, draws the panels (`ui/`), then applies the commands the
//! panels emitted (`logic.rs`). Only `settings::Settings` is saved between launches.

pub mod change;
pub mod collapse;
pub mod contours;
pub mod curation;
pub mod isolate;
pub mod jobs;
pub mod live_projection;
mod commands;
mod logic;
pub mod map;
pub mod read_options;
pub mod probe;
pub mod reconstructions;
pub mod runs;
pub mod scores;
pub mod settings;
pub mod tags;
mod sparkline;
pub mod state;
pub mod thumbs;
pub mod timeline;
mod ui;
pub mod work;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::neighbors::Neighbor;
use crate::data::Dataset;
use crate::ssl::Trainer;
use jobs::{ClusterResult, Jobs};
use map::MapState;
use settings::Settings;
use runs::RunsTable;
use state::{Command, Snapshot, Space, TrainingLog};
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

/// Neighbours of an image file the user opened (query by file), or of typed text.
pub struct FileQuery {
    pub path: PathBuf,
    /// Set for a query by text (then `pixels` holds its byte codes and `path` is empty).
    pub text: Option<String>,
    pub pixels: Vec<f32>,
    pub request: u64,
    pub neighbours: Option<Vec<Neighbor>>,
}

pub struct PretextApp {
    pub settings: Settings,
    pub data: Option<Loaded>,
    pub space: Option<Space>,
    pub trainer: Option<Trainer>,
    pub log: TrainingLog,
    pub runs: RunsTable,
    /// Data-quality scores of the map items (scores panel, colour by score).
    pub scores: scores::ScoresState,
    /// Named sets of items (tags panel), saved with the run and exported as columns.
    pub tags: tags::Tags,
    /// Linear probes on the dataset's labels or on the tags (probe panel).
    pub probe: probe::ProbeState,
    /// The map narrowed to the selected points and laid out anew ("isolate selection").
    pub isolation: isolate::IsolationState,
    /// Density contours over the map, traced once per layout.
    pub contours: contours::ContourState,
    pub map: MapState,
    pub jobs: Jobs,
    pub thumbs: Thumbs,
    /// Map row in focus and its neighbours (computed in `space` of that generation).
    pub focus: Option<usize>,
    pub neighbours: Option<(u64, usize, Vec<Neighbor>)>,
    pub clusters: Option<(ClusterResult, Option<usize>)>,
    pub knn_correct: Option<(u64, Vec<Option<bool>>)>,
    pub selection: Vec<bool>,
    pub selection_count: usize,
    pub hidden_classes: HashSet<u32>,
    pub query: Option<FileQuery>,
    pub views: Option<(usize, Vec<Vec<f32>>)>,
    pub reconstructions: reconstructions::Reconstructions,
    /// Every laid-out snapshot of the current training, for scrubbing and replay.
    pub timeline: timeline::Timeline,
    /// What changed between two snapshots of the timeline.
    pub change: change::ChangeState,
    /// Readable messages shown at the top of the window until dismissed.
    pub errors: Vec<String>,
    pub status: String,
    /// Path typed in the dataset panel.
    pub path_input: String,
    pub query_input: String,
    /// A snapshot waiting for the projection job (only the newest is kept).
    pending_snapshot: Option<Snapshot>,
    /// A space over other map rows (another run's subset), waiting for its layout: rows,
    /// space and layout change together when the projection of this generation arrives.
    incoming_rows: Option<(u64, Space, Arc<Vec<usize>>)>,
    /// A run to open once the initial dataset has loaded (`pretext --run DIR`).
    initial_run: Option<(PathBuf, u64)>,
    /// CSV columns and series rows: how the next dataset is read.
    pub read_options: read_options::ReadOptions,
    /// The layout job of the newest snapshot: its streamed frames and the next warm start.
    pub(crate) projection: live_projection::LiveProjection,
    next_generation: u64,
    next_request: u64,
    style_version: u64,
    colors: Vec<egui::Color32>,
    colors_key: Option<(u64, settings::ColorBy)>,
    visible: Vec<bool>,
    commands: Vec<Command>,
    ctx: egui::Context,
    /// Set once the settings' dataset load has been requested (first frame).
    started: bool,
    initial: Option<PathBuf>,
    /// Milliseconds the last frames took to build (UI code only; the GPU is measured apart).
    pub frame_ms: std::collections::VecDeque<f32>,
    frame_intervals: Vec<f32>,
    /// When the last frame-statistics report was printed.
    frame_stats_since: Option<std::time::Instant>,
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
            trainer: None,
            log: TrainingLog::default(),
            runs: RunsTable::default(),
            scores: Default::default(),
            tags: Default::default(),
            probe: Default::default(),
            isolation: Default::default(),
            contours: Default::default(),
            map: MapState::default(),
            jobs,
            thumbs: Thumbs::default(),
            focus: None,
            neighbours: None,
            clusters: None,
            knn_correct: None,
            selection: Vec::new(),
            selection_count: 0,
            hidden_classes: HashSet::new(),
            query: None,
            views: None,
            reconstructions: Default::default(),
            timeline: Default::default(),
            change: Default::default(),
            errors: Vec::new(),
            status: String::new(),
            path_input,
            query_input: String::new(),
            pending_snapshot: None,
            incoming_rows: None,
            initial_run: None,
            read_options: Default::default(),
            projection: Default::default(),
            next_generation: 1,
            next_request: 1,
            style_version: 1,
            colors: Vec::new(),
            colors_key: None,
            visible: Vec::new(),
            commands: Vec::new(),
            ctx,
            started: false,
            initial,
            frame_ms: Default::default(),
            frame_intervals: Vec::new(),
            frame_stats_since: None,
        }
    }

    /// The app opening `dir`, a saved run, on the dataset its config.json names.
    pub fn with_run(ctx: egui::Context, settings: Settings, dir: PathBuf) -> crate::Result<Self> {
        let config = crate::ssl::run::load_config(&dir)?;
        let mut app = Self::with_settings(ctx, settings, Some(PathBuf::from(&config.dataset.source)));
        app.initial_run = Some((dir, config.split_seed()));
        app.read_options = read_options::ReadOptions::of_run(&config);
        Ok(app)
    }

    /// Queues a command as if a panel had emitted it (tests and drag-and-drop use this).
    pub fn command(&mut self, cmd: Command) {
        self.commands.push(cmd);
    }

    /// Background work still running (loading, projection, clustering, ...).
    pub fn busy(&self) -> bool {
        self.jobs.any_running() || self.projection.running.is_some()
    }

    /// Screen position of map row `row` in the last frame (tests click here).
    pub fn map_point_screen_pos(&self, row: usize) -> Option<egui::Pos2> {
        self.map.screen_pos(row)
    }

    /// With PRETEXT_FRAME_STATS set: the window repaints continuously and, every 120 frames,
    /// prints the frame rate reached, the UI build time (mesh included) and eframe's
    /// whole-frame time (UI, tessellation and GL calls, without vsync waits) on stderr.
    /// Used for the frame-time figures in the README.
    fn print_frame_stats(&mut self, whole_frame: Option<f32>) {
        let Some(dt) = whole_frame else { return };
        self.frame_intervals.push(dt * 1000.0);
        if self.frame_intervals.len() >= 120 {
            let n = self.frame_intervals.len() as f32;
            let ui: Vec<f32> = self.frame_ms.iter().rev().take(self.frame_intervals.len()).copied().collect();
            let now = std::time::Instant::now();
            let fps = self.frame_stats_since.map(|since| n / now.duration_since(since).as_secs_f32());
            self.frame_stats_since = Some(now);
            eprintln!(
                "frames {} ({}) points {} | ui build mean {:.2} ms max {:.2} ms | whole frame mean {:.2} ms max {:.2} ms | last mesh {:.2} ms",
                self.frame_intervals.len(),
                fps.map_or("first report".into(), |f| format!("{f:.1} fps")),
                self.map.len(),
                ui.iter().sum::<f32>() / ui.len().max(1) as f32,
                ui.iter().copied().fold(0.0, f32::max),
                self.frame_intervals.iter().sum::<f32>() / n,
                self.frame_intervals.iter().copied().fold(0.0, f32::max),
                self.map.last_build_ms
            );
            self.frame_intervals.clear();
        }
    }

    /// Colour of map row `row` in the last frame (tests check what the map shows).
    pub fn point_color(&self, row: usize) -> Option<egui::Color32> {
        self.colors.get(row).copied()
    }

    /// Global dataset index of a map row.
    pub fn item_of_row(&self, row: usize) -> Option<usize> {
        self.data.as_ref().and_then(|d| d.map_indices.get(row).copied())
    }
}

impl eframe::App for PretextApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let started = std::time::Instant::now();
        if !self.started {
            self.started = true;
            let path = self.initial.clone().unwrap_or_else(crate::data::load::sample_data_dir);
            self.open_dataset_split(path, self.initial_run.as_ref().map_or(0, |(_, seed)| *seed));
        }
        self.drain();
        self.take_dropped_files(ui.ctx());
        ui::show(self, ui);
        for cmd in std::mem::take(&mut self.commands) {
            self.apply(cmd);
        }
        if self.frame_ms.len() >= 240 {
            self.frame_ms.pop_front();
        }
        self.frame_ms.push_back(started.elapsed().as_secs_f32() * 1000.0);
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
