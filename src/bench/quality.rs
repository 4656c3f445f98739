//! `pretext bench quality`: what a fixed budget of CPU minutes buys. The default image
//! recipe (SimCLR, the default CNN, batch 256) trains on Fashion-MNIST for `--minutes` with
//! no live evaluation, then its backbone embedding is scored by weighted kNN (k = 20,
//! T = 0.07) of the 10,000 test images against the 60,000 train images. `bench/peers_quality.py`
//! then does the same in PyTorch (same model, initialisation distributions, views, optimiser,
//! schedule, threads and kNN protocol) for the same minutes, and both figures are printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::data::{load_dataset, Dataset, LoadOptions};
use crate::error::{PretextError, Result};
use crate::ssl::{TrainCommand, TrainConfig, TrainEvent, Trainer};

#[derive(clap::Args, Debug, Clone)]
pub struct QualityArgs {
    /// Training minutes on each side (the clock counts training steps only).
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f32,
    /// Folder with the Fashion-MNIST IDX files.
    #[arg(long, default_value = "/usr/share/datasets/fashion-mnist")]
    pub data: PathBuf,
    /// Threads on both sides (our training pool, PyTorch's intra-op threads).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Where our run is saved.
    #[arg(long, default_value = "target/bench-quality/run")]
    pub out: PathBuf,
    /// Skip the PyTorch reference.
    #[arg(long)]
    pub no_peers: bool,
}

/// One side's result.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct QualityFigure {
    pub steps: usize,
    pub train_seconds: f64,
    pub knn_accuracy: f64,
}

pub fn run(args: &QualityArgs) -> Result<String> {
    if !(args.minutes > 0.0) {
        return Err(PretextError::InvalidConfig("--minutes must be positive".into()));
    }
    let ds = Arc::new(load_dataset(&args.data, &LoadOptions::default())?);
    if !ds.has_labels() {
        return Err(PretextError::BadData(format!("{} has no labels to score the embedding with", args.data.display())));
    }
    println!("pretext: SimCLR on {} ({} train items) for {} min, {} threads…", ds.name, ds.train.len, args.minutes, args.threads);
    let ours = train_ours(ds.clone(), args)?;
    println!("pretext: {} steps in {:.0} s, kNN accuracy {:.4}", ours.steps, ours.train_seconds, ours.knn_accuracy);
    let peer = if args.no_peers { Err("skipped (--no-peers)".to_string()) } else { run_peer(args) };
    let mut out = format!(
        "\n| side | steps | training s | kNN accuracy (k=20, T=0.07, 10k test vs 60k train) |\n|---|---|---|---|\n| pretext | {} | {:.0} | {:.4} |\n",
        ours.steps, ours.train_seconds, ours.knn_accuracy
    );
    match peer {
        Ok(p) => out += &format!("| PyTorch | {} | {:.0} | {:.4} |\n", p.steps, p.train_seconds, p.knn_accuracy),
        Err(why) => out += &format!("\nPyTorch reference: {why}\n"),
    }
    out += &format!("\n{} min of training on each side, {} threads, no live evaluation while training\n", args.minutes, args.threads);
    Ok(out)
}

fn train_ours(ds: Arc<Dataset>, args: &QualityArgs) -> Result<QualityFigure> {
    let cfg = TrainConfig {
        minutes: Some(args.minutes),
        epochs: 0.0,
        threads: args.threads.max(1),
        // No snapshot while training: the PyTorch side evaluates only at the end too.
        eval_every: usize::MAX / 2,
        map_items: 1_000,
        ..TrainConfig::for_modality(&ds.modality)
    };
    let trainer = Trainer::spawn(ds.clone(), cfg, None)?;
    trainer.send(TrainCommand::Start);
    let started = Instant::now();
    let steps = loop {
        match trainer.recv_timeout(Duration::from_secs(3600)) {
            Some(TrainEvent::Finished { step, .. }) => break step,
            Some(TrainEvent::Error(e)) => return Err(PretextError::BadData(e)),
            Some(_) => {}
            None => return Err(PretextError::BadData("the trainer stopped answering".into())),
        }
    };
    let train_seconds = started.elapsed().as_secs_f64();
    save(&trainer, &args.out)?;
    drop(trainer);
    let (_, train, test) = crate::ssl::run::embed_splits(&args.out, &ds, crate::ssl::DeviceChoice::Cpu)?;
    let (Some(train_labels), Some(test_labels)) = (&ds.train.labels, &ds.test.labels) else {
        return Err(PretextError::BadData("the dataset lost its labels".into()));
    };
    let knn = crate::analysis::knn::accuracy(&train, train_labels, &test, test_labels, crate::analysis::knn::KnnProtocol::default())?;
    Ok(QualityFigure { steps, train_seconds, knn_accuracy: knn as f64 })
}

fn save(trainer: &Trainer, dir: &Path) -> Result<()> {
    trainer.send(TrainCommand::Save(dir.to_path_buf()));
    loop {
        match trainer.recv_timeout(Duration::from_secs(600)) {
            Some(TrainEvent::Saved(_)) => return Ok(()),
            Some(TrainEvent::Error(e)) => return Err(PretextError::BadData(e)),
            Some(_) => {}
            None => return Err(PretextError::BadData("saving the run timed out".into())),
        }
    }
}

/// Runs bench/peers_quality.py; `Err` says why there is no reference figure.
fn run_peer(args: &QualityArgs) -> std::result::Result<QualityFigure, String> {
    let script = Path::new("bench/peers_quality.py");
    if !script.exists() {
        return Err(format!("{} not found (run from the repository folder)", script.display()));
    }
    println!("PyTorch: the same recipe for {} min (bench/peers_quality.py)…", args.minutes);
    let out = Command::new("python3")
        .arg(script)
        .args(["--minutes", &args.minutes.to_string(), "--threads", &args.threads.max(1).to_string(), "--json", "--data"])
        .arg(&args.data)
        .output()
        .map_err(|e| format!("could not start python3: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    if !out.status.success() {
        return Err(format!("bench/peers_quality.py failed: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or_default()));
    }
    if last.contains("\"skipped\"") {
        return Err(last.to_string());
    }
    serde_json::from_str(last).map_err(|e| format!("unreadable output from bench/peers_quality.py ({e}): {last}"))
}
