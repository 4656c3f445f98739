//! `pretext bench app`: does live watching slow training down? The same data and settings
//! are trained twice for the same number of steps: once as `pretext train` does (no snapshot
//! until the end), once as the window does (a snapshot of the map items every few steps,
//! each laid out again with the window's projection on another thread, the newest
//! superseding an older one still being laid out). Printed: both training rates and their
//! ratio, the time from the start to the first laid-out map, and the peak memory.
//!
//! What is not measured: drawing. The window's frame time at a given point count is a
//! property of egui's painter, not of training.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::settings::Projection;
use crate::app::work::project_with;
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

struct ModeResult {
    items_per_sec: f64,
    snapshots: usize,
    layouts: usize,
    first_layout: Option<Duration>,
}

pub fn run(ds: Arc<Dataset>, opts: &AppBenchOptions) -> Result<String> {
    if opts.steps == 0 || opts.eval_every == 0 {
        return Err(PretextError::InvalidConfig("steps and the snapshot interval must be positive".into()));
    }
    let map_items = opts.map_items.unwrap_or(ds.len()).min(ds.len());
    let base = TrainConfig { batch_size: opts.batch_size, epochs: 1000.0, map_items, ..TrainConfig::for_modality(&ds.modality) };
    let quiet = TrainConfig { eval_every: usize::MAX / 2, ..base.clone() };
    let live = TrainConfig { eval_every: opts.eval_every, ..base };
    let cli = measure(ds.clone(), quiet, opts, false)?;
    let app = measure(ds.clone(), live, opts, true)?;
    let ratio = app.items_per_sec / cli.items_per_sec.max(1e-9);
    let mut out = String::new();
    out += &format!(
        "{} ({} items), batch {}, {} timed steps after {} untimed, {:?} projection, {} map items\n",
        ds.name,
        ds.len(),
        opts.batch_size,
        opts.steps,
        opts.warmup,
        opts.projection,
        map_items
    );
    out += &format!("cli (no snapshots)              {:>8.0} items/s\n", cli.items_per_sec);
    out += &format!(
        "app (snapshot every {:>3} steps)  {:>8.0} items/s   {} snapshots, {} laid out\n",
        opts.eval_every, app.items_per_sec, app.snapshots, app.layouts
    );
    out += &format!("app/cli training rate ratio: {ratio:.3}\n");
    if let Some(t) = app.first_layout {
        out += &format!("start to first laid-out map: {:.2} s\n", t.as_secs_f64());
    }
    if let Some(mib) = peak_rss_mib() {
        out += &format!("peak RSS: {mib:.0} MiB\n");
    }
    if let Some(load) = crate::bench::sysinfo::load_average() {
        out += &format!("load average at the end: {load:.2}\n");
    }
    Ok(out)
}

fn measure(ds: Arc<Dataset>, cfg: TrainConfig, opts: &AppBenchOptions, live: bool) -> Result<ModeResult> {
    let trainer = Trainer::spawn(ds, cfg.clone(), None)?;
    let started = Instant::now();
    trainer.send(TrainCommand::Start);
    let (layout_tx, layout_rx) = crossbeam_channel::unbounded::<Arc<crate::analysis::Matrix>>();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Instant>();
    let projection = opts.projection;
    // The layout thread: the newest waiting snapshot wins, as in the window.
    let layouts = std::thread::spawn(move || {
        let mut count = 0;
        while let Ok(mut emb) = layout_rx.recv() {
            while let Ok(newer) = layout_rx.try_recv() {
                emb = newer;
            }
            if project_with(&emb, None, projection).is_ok() {
                count += 1;
                let _ = done_tx.send(Instant::now());
            }
        }
        count
    });
    let (mut timed_from, mut last_step, mut snapshots) = (None, 0, 0);
    let target = opts.warmup + opts.steps;
    let mut items = 0usize;
    while last_step < target {
        let Some(ev) = trainer.recv_timeout(Duration::from_secs(600)) else {
            return Err(PretextError::BadData("the trainer went quiet for ten minutes".into()));
        };
        match ev {
            TrainEvent::Step { step, .. } => {
                last_step = step;
                if step == opts.warmup {
                    timed_from = Some(Instant::now());
                } else if step > opts.warmup {
                    items += cfg.batch_size;
                }
            }
            TrainEvent::Snapshot { embeddings, .. } if live => {
                snapshots += 1;
                let _ = layout_tx.send(embeddings);
            }
            TrainEvent::Error(e) => return Err(PretextError::BadData(e)),
            _ => {}
        }
    }
    let elapsed = timed_from.map_or(Duration::ZERO, |t| t.elapsed());
    trainer.send(TrainCommand::Stop);
    drop(trainer);
    drop(layout_tx);
    let layouts = layouts.join().unwrap_or(0);
    let first_layout = done_rx.try_recv().ok().map(|t| t.duration_since(started));
    Ok(ModeResult { items_per_sec: items as f64 / elapsed.as_secs_f64().max(1e-9), snapshots, layouts, first_layout })
}

/// Peak resident memory of this process (Linux: VmHWM in /proc/self/status).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
