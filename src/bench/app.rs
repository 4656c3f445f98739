//! `pretext bench app`: does live watching slow training down, and how soon does the map
//! move? The same data and settings train twice for the same number of steps: once as
//! `pretext train` does (no snapshot until the end), once in the window itself, run
//! headless (the app's own code: snapshot worker, warm-started layouts streamed to the map,
//! scores of every layout, the timeline), built at 60 frames a second as a window that
//! never stops repainting would be. Printed: both training rates and their ratio, the time
//! from Train to the first moved and the first finished map, the frame times, and the
//! app's peak memory (measured before the CLI side runs).
//!
//! What a frame time here holds: the app's UI code and egui's tessellation, on the CPU;
//! not the GPU's (or Xvfb's software GL's) painting, which `PRETEXT_FRAME_STATS=1` prints
//! from a real window.

use crate::app::jobs::JobKind;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::settings::{Projection, Settings};
use crate::app::state::{Command, TrainStatus};
use crate::app::PretextApp;
use crate::data::Dataset;
use crate::error::{PretextError, Result};
use crate::ssl::{TrainCommand, TrainConfig, TrainEvent, Trainer};

#[derive(Debug, Clone)]
pub struct AppBenchOptions {
    /// Timed steps per mode, after `warmup` untimed ones.
    pub steps: usize,
    pub warmup: usize,
    pub batch_size: usize,
    /// Snapshot interval of the live mode (the window's default is 10).
    pub eval_every: usize,
    /// Items on the live map (default: all of them, as the window shows).
    pub map_items: Option<usize>,
    pub projection: Projection,
}

impl Default for AppBenchOptions {
    fn default() -> Self {
        Self { steps: 60, warmup: 5, batch_size: 256, eval_every: 10, map_items: None, projection: Projection::Pca }
    }
}

/// One frame every 1/60 s, as a window repainting continuously.
const FRAME: Duration = Duration::from_micros(16_667);
/// Frames timed while the map animates to a new layout after training.
const ANIMATION_FRAMES: usize = 120;

struct AppResult {
    name: String,
    len: usize,
    items_per_sec: f64,
    snapshots: usize,
    layouts: usize,
    first_moved: Option<Duration>,
    first_layout: Option<Duration>,
    training_frames: Vec<f32>,
    animation_frames: Vec<f32>,
    map_points: usize,
    peak_rss: Option<f64>,
}

/// `path` is read by the app as the window reads it; `load` reads the same data for the CLI
/// side, after the app has been measured and closed (so the app's peak memory is its own).
pub fn run(path: &Path, load: impl FnOnce() -> Result<Dataset>, opts: &AppBenchOptions) -> Result<String> {
    if opts.steps == 0 || opts.eval_every == 0 {
        return Err(PretextError::InvalidConfig("steps and the snapshot interval must be positive".into()));
    }
    let (app, base) = measure_app(path, opts)?;
    let ds = Arc::new(load()?);
    let cli = measure_cli(ds.clone(), TrainConfig { eval_every: usize::MAX / 2, ..base }, opts)?;
    let ratio = app.items_per_sec / cli.max(1e-9);
    let mut out = String::new();
    out += &format!(
        "{} ({} items), batch {}, {} timed steps after {} untimed, {:?} projection, {} map items\n",
        app.name, app.len, opts.batch_size, opts.steps, opts.warmup, opts.projection, app.map_points
    );
    out += &format!("cli (no snapshots)              {cli:>8.0} items/s\n");
    out += &format!(
        "app (snapshot every {:>3} steps)  {:>8.0} items/s   {} snapshots, {} laid out\n",
        opts.eval_every, app.items_per_sec, app.snapshots, app.layouts
    );
    out += &format!("app/cli training rate ratio: {ratio:.3}\n");
    let secs = |d: Option<Duration>| d.map_or("none within the timed steps".to_string(), |d| format!("{:.2} s", d.as_secs_f64()));
    out += &format!("Train pressed to first moved map (a streamed frame or a layout): {}\n", secs(app.first_moved));
    out += &format!("Train pressed to first finished layout: {}\n", secs(app.first_layout));
    out += &format!("frame time while training at {} points: {}\n", app.map_points, frame_stats(&app.training_frames));
    out += &format!("frame time while the map animates at {} points: {}\n", app.map_points, frame_stats(&app.animation_frames));
    if let Some(mib) = app.peak_rss {
        out += &format!("app peak RSS: {mib:.0} MiB\n");
    }
    if let Some(load) = crate::bench::sysinfo::load_average() {
        out += &format!("load average at the end: {load:.2}\n");
    }
    Ok(out)
}

fn frame_stats(ms: &[f32]) -> String {
    if ms.is_empty() {
        return "no frames".into();
    }
    let mut sorted = ms.to_vec();
    sorted.sort_by(f32::total_cmp);
    let p95 = sorted[(sorted.len() * 95 / 100).min(sorted.len() - 1)];
    let mean = sorted.iter().sum::<f32>() / sorted.len() as f32;
    format!("mean {mean:.1} ms, p95 {p95:.1} ms, max {:.1} ms over {} frames (UI + tessellation)", sorted[sorted.len() - 1], sorted.len())
}

/// The training rate of a trainer that never snapshots (as `pretext train`).
fn measure_cli(ds: Arc<Dataset>, cfg: TrainConfig, opts: &AppBenchOptions) -> Result<f64> {
    let trainer = Trainer::spawn(ds, cfg.clone(), None)?;
    trainer.send(TrainCommand::Start);
    let (mut timed_from, mut items) = (None, 0usize);
    loop {
        let Some(ev) = trainer.recv_timeout(Duration::from_secs(600)) else {
            return Err(PretextError::BadData("the trainer went quiet for ten minutes".into()));
        };
        match ev {
            TrainEvent::Step { step, .. } => {
                if step == opts.warmup {
                    timed_from = Some(Instant::now());
                } else if step > opts.warmup {
                    items += cfg.batch_size;
                }
                if step >= opts.warmup + opts.steps {
                    break;
                }
            }
            TrainEvent::Error(e) => return Err(PretextError::BadData(e)),
            _ => {}
        }
    }
    let elapsed = timed_from.map_or(Duration::ZERO, |t| t.elapsed());
    trainer.send(TrainCommand::Stop);
    Ok(items as f64 / elapsed.as_secs_f64().max(1e-9))
}

/// A headless window: egui's context run by hand at 60 frames a second.
struct HeadlessWindow {
    ctx: egui::Context,
    frame: eframe::Frame,
    app: PretextApp,
}

impl HeadlessWindow {
    /// Builds and tessellates one frame; returns its milliseconds.
    fn frame(&mut self) -> f32 {
        let started = Instant::now();
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1600.0, 1000.0))),
            ..Default::default()
        };
        let (app, frame) = (&mut self.app, &mut self.frame);
        let output = self.ctx.run_ui(input, |ui| eframe::App::ui(app, ui, frame));
        let _ = self.ctx.tessellate(output.shapes, output.pixels_per_point);
        started.elapsed().as_secs_f32() * 1000.0
    }

    /// Frames until `done` holds (at most `limit`).
    fn until(&mut self, limit: Duration, what: &str, done: impl Fn(&PretextApp) -> bool) -> Result<()> {
        let started = Instant::now();
        while !done(&self.app) {
            if started.elapsed() > limit {
                return Err(PretextError::BadData(format!("gave up waiting for {what}")));
            }
            let ms = self.frame();
            std::thread::sleep(FRAME.saturating_sub(Duration::from_secs_f32(ms / 1000.0)));
        }
        Ok(())
    }
}

/// The window's run; also returns the training settings it used (the CLI side's).
fn measure_app(path: &Path, opts: &AppBenchOptions) -> Result<(AppResult, TrainConfig)> {
    let mut settings = Settings { projection: opts.projection, map_whole_dataset: opts.map_items.is_none(), ..Settings::default() };
    settings.train.map_items = opts.map_items.unwrap_or(usize::MAX);
    let ctx = egui::Context::default();
    let app = PretextApp::with_settings(ctx.clone(), settings, Some(path.to_path_buf()));
    let mut window = HeadlessWindow { ctx, frame: eframe::Frame::_new_kittest(), app };
    // Train is pressed as soon as the map is on screen, as a user would (the raw map's
    // scores may still be running).
    let loaded = |a: &PretextApp| (a.data.is_some() && !a.jobs.is_running(JobKind::Load) && !a.map.view.is_empty()) || !a.shell.errors.is_empty();
    window.until(Duration::from_secs(1200), "the dataset to load", loaded)?;
    if let Some(e) = window.app.shell.errors.first() {
        return Err(PretextError::BadData(e.clone()));
    }
    // The same settings on both sides: the modality's defaults, the bench's batch and
    // interval, the map the window holds.
    let Some(data) = window.app.data.as_ref() else { return Err(PretextError::BadData("the app has no dataset".into())) };
    let (name, len) = (data.dataset.name.clone(), data.dataset.len());
    let map_points = data.map_indices.len();
    let base = TrainConfig { batch_size: opts.batch_size, epochs: 1000.0, map_items: map_points, ..TrainConfig::for_modality(&data.dataset.modality) };
    window.app.settings.train = TrainConfig { eval_every: opts.eval_every, ..base.clone() };
    window.app.command(Command::Train);
    let pressed = Instant::now();
    let version = window.app.map.view.layout_version();
    let (mut first_moved, mut first_layout, mut timed_from) = (None, None, None);
    let mut training_frames = Vec::new();
    let target = opts.warmup + opts.steps;
    while window.app.training.log.step < target {
        if pressed.elapsed() > Duration::from_secs(3600) {
            return Err(PretextError::BadData("training in the window made no progress for an hour".into()));
        }
        let ms = window.frame();
        if timed_from.is_none() && window.app.training.log.step >= opts.warmup {
            timed_from = Some((Instant::now(), window.app.training.log.step));
        } else if timed_from.is_some() {
            training_frames.push(ms);
        }
        if first_moved.is_none() && window.app.map.view.layout_version() != version {
            first_moved = Some(pressed.elapsed());
        }
        if first_layout.is_none() && !window.app.timeline.frames().is_empty() {
            first_layout = Some(pressed.elapsed());
        }
        if let Some(e) = window.app.shell.errors.first() {
            return Err(PretextError::BadData(e.clone()));
        }
        std::thread::sleep(FRAME.saturating_sub(Duration::from_secs_f32(ms / 1000.0)));
    }
    let (from, from_step) = timed_from.unwrap_or((Instant::now(), window.app.training.log.step));
    let items = (window.app.training.log.step - from_step) * window.app.settings.train.batch_size;
    let items_per_sec = items as f64 / from.elapsed().as_secs_f64().max(1e-9);
    let (snapshots, layouts) = (window.app.training.log.snapshots, window.app.timeline.frames().len());
    window.app.command(Command::Stop);
    window.until(Duration::from_secs(600), "training to stop", |a| a.training.log.status != TrainStatus::Running)?;
    // The map animating to another layout of every point: a mirrored copy of the current one.
    let mirrored: Vec<[f32; 2]> = window.app.map.view.target().iter().map(|p| [-p[0], p[1]]).collect();
    let now = window.app.map.view.time();
    window.app.map.view.set_layout(mirrored, true, now);
    let animation_frames: Vec<f32> = (0..ANIMATION_FRAMES)
        .map(|_| {
            let ms = window.frame();
            std::thread::sleep(FRAME.saturating_sub(Duration::from_secs_f32(ms / 1000.0)));
            ms
        })
        .collect();
    Ok((AppResult {
        name,
        len,
        items_per_sec,
        snapshots,
        layouts,
        first_moved,
        first_layout,
        training_frames,
        animation_frames,
        map_points,
        peak_rss: peak_rss_mib(),
    }, base))
}

/// Peak resident memory of this process (Linux: VmHWM in /proc/self/status).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
