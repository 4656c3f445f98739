//! Training-throughput benchmark: SimCLR NT-Xent steps with AdamW on the default CNN
//! (candle's conv2d vs ours) and on an MLP encoder, images/s and peak memory, optionally side
//! by side with the same models in PyTorch (bench/peers_train.py); with `--objectives`, the
//! default image model under each other objective next to SimCLR. Every row trains with
//! the trainer's own ops: `ssl::dense` layers, `ssl::contrastive` loss, `ssl::optim` AdamW.
//!
//! Images are counted per view: one step at batch 256 trains on 512 images. The inputs are
//! fixed random batches, so the figures are the trainer's compute alone, without data loading
//! or augmentation.

mod isolate;
mod models;
mod peers;

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Optimizer, ParamsAdamW, VarBuilder, VarMap};

use crate::data::Modality;
use crate::error::{PretextError, Result};
use crate::ssl::encoder::SslModel;
use crate::ssl::objective::{build_objective, Batch};
use crate::ssl::optim::AdamW;
use super::sysinfo::process_cpu_secs;
use crate::ssl::{ObjectiveKind, TrainConfig};
pub use models::{nt_xent, Cnn, ConvImpl, Mlp};
pub use peers::{PeerRow, Peers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BenchModel {
    /// The plain reference CNN (no BatchNorm) with candle's conv2d / max_pool2d (its linear layers, loss and
    /// optimiser are the project's, as in every row).
    CnnCandle,
    /// The same CNN with `ssl::conv` (im2col + gemm custom ops).
    CnnPretext,
    /// 784→512→256→128 MLP.
    Mlp,
    /// The project's default image model and objective (`ssl::encoder::SslModel` with
    /// BatchNorm, SimCLR as the trainer runs it) on 1×28×28 images.
    DefaultImage,
    /// The project's table model (BatchNorm MLP) on 784 columns.
    DefaultTable,
    /// The default image model trained with another objective (teachers, queues and
    /// predictors included), to set each objective's cost next to SimCLR's.
    ImageObjective(ObjectiveKind),
}

impl BenchModel {
    pub const ALL: [BenchModel; 5] =
        [BenchModel::CnnCandle, BenchModel::CnnPretext, BenchModel::Mlp, BenchModel::DefaultImage, BenchModel::DefaultTable];

    /// The default image model under every objective but SimCLR (which is `DefaultImage`).
    pub fn objective_rows() -> impl Iterator<Item = BenchModel> {
        ObjectiveKind::ALL.into_iter().filter(|&o| o != ObjectiveKind::Simclr).map(BenchModel::ImageObjective)
    }

    /// Every model a command line can name.
    pub fn all_known() -> impl Iterator<Item = BenchModel> {
        BenchModel::ALL.into_iter().chain(Self::objective_rows())
    }

    pub fn label(self) -> String {
        match self {
            BenchModel::CnnCandle => "cnn (candle conv2d)".into(),
            BenchModel::CnnPretext => "cnn (pretext conv)".into(),
            BenchModel::Mlp => "mlp".into(),
            BenchModel::DefaultImage => "default image (bn cnn)".into(),
            BenchModel::DefaultTable => "default table (bn mlp)".into(),
            BenchModel::ImageObjective(o) => format!("default image, {}", o.key()),
        }
    }

    /// Short name for command lines.
    pub fn key(self) -> String {
        match self {
            BenchModel::CnnCandle => "cnn-candle".into(),
            BenchModel::CnnPretext => "cnn-pretext".into(),
            BenchModel::Mlp => "mlp".into(),
            BenchModel::DefaultImage => "default-image".into(),
            BenchModel::DefaultTable => "default-table".into(),
            BenchModel::ImageObjective(o) => format!("image-{}", o.key()),
        }
    }

    /// Inputs the encoder takes per item in a step (two views, or one masked/noisy copy).
    fn views(self) -> usize {
        match self {
            BenchModel::ImageObjective(o) if !o.uses_views() => 1,
            _ => 2,
        }
    }

    /// The model's name in bench/peers_train.py (the reference trains SimCLR only).
    fn peer_name(self) -> Option<&'static str> {
        match self {
            BenchModel::CnnCandle | BenchModel::CnnPretext => Some("cnn"),
            BenchModel::Mlp => Some("mlp"),
            BenchModel::DefaultImage => Some("cnn-bn"),
            BenchModel::DefaultTable => Some("mlp-bn"),
            BenchModel::ImageObjective(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TrainBenchOptions {
    pub batch_size: usize,
    /// Timed steps per model, after `warmup` untimed ones.
    pub steps: usize,
    pub warmup: usize,
    /// Threads for the rayon pool the steps run in (and for PyTorch).
    pub threads: usize,
    pub models: Vec<BenchModel>,
    /// Run the PyTorch reference script (skipped with a message if python3/torch are missing).
    pub peers: Option<PathBuf>,
    /// Run each model in a child process (this executable, same arguments), so that each
    /// peak memory figure is that model's alone.
    pub isolate: bool,
}

impl Default for TrainBenchOptions {
    fn default() -> Self {
        Self {
            batch_size: 256,
            steps: 20,
            warmup: 3,
            threads: 2,
            models: BenchModel::ALL.to_vec(),
            peers: Some(PathBuf::from("bench/peers_train.py")),
            isolate: true,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BenchRow {
    pub model: BenchModel,
    pub images_per_s: f64,
    pub ms_per_step: f64,
    /// CPU time (all threads, user + system) per step: the compute a step costs, which
    /// contention from other processes inflates less than wall time.
    pub cpu_ms_per_step: Option<f64>,
    /// Process peak RSS while this model trained (VmHWM, reset before each model), MiB.
    /// Only this model's own when it ran in a child process (`isolate`).
    pub peak_mib: Option<f64>,
    /// RSS just before the model was built, MiB.
    pub base_mib: Option<f64>,
    pub final_loss: f32,
}

#[derive(Debug, Clone)]
pub struct TrainBenchReport {
    pub options: TrainBenchOptions,
    pub rows: Vec<BenchRow>,
    pub peers: Peers,
}

pub fn run(opts: &TrainBenchOptions) -> Result<TrainBenchReport> {
    if opts.batch_size < 2 || opts.steps == 0 {
        return Err(PretextError::InvalidConfig("bench needs batch ≥ 2 and steps ≥ 1".into()));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| PretextError::InvalidConfig(format!("thread pool: {e}")))?;
    if let Some(model) = isolate::child_model() {
        let row = pool.install(|| bench_model(model, opts))?;
        isolate::print_row(&row)?;
        return Ok(TrainBenchReport { options: opts.clone(), rows: vec![row], peers: Peers::NotRun });
    }
    let mut rows = Vec::new();
    for &model in &opts.models {
        rows.push(match opts.isolate {
            true => isolate::run_in_child(model)?,
            false => pool.install(|| bench_model(model, opts))?,
        });
    }
    let peers = match &opts.peers {
        Some(script) => {
            let mut names: Vec<&str> = opts.models.iter().filter_map(|m| m.peer_name()).collect();
            names.dedup();
            peers::run(script, opts, &names)
        }
        None => Peers::NotRun,
    };
    Ok(TrainBenchReport { options: opts.clone(), rows, peers })
}

fn bench_model(model: BenchModel, opts: &TrainBenchOptions) -> Result<BenchRow> {
    reset_peak_rss();
    let base_mib = proc_status_mib("VmRSS");
    let mut step = match model {
        BenchModel::DefaultImage | BenchModel::DefaultTable | BenchModel::ImageObjective(_) => project_step(model, opts)?,
        _ => reference_step(model, opts)?,
    };
    for i in 0..opts.warmup {
        step(i)?;
    }
    let (start, cpu_start) = (Instant::now(), process_cpu_secs());
    let mut final_loss = f32::NAN;
    for i in 0..opts.steps {
        final_loss = step(i)?;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = process_cpu_secs().zip(cpu_start).map(|(b, a)| 1000.0 * (b - a) / opts.steps as f64);
    if !final_loss.is_finite() {
        return Err(PretextError::Diverged(format!("{}: loss {final_loss}", model.label())));
    }
    Ok(BenchRow {
        model,
        images_per_s: (model.views() * opts.batch_size * opts.steps) as f64 / secs,
        ms_per_step: 1000.0 * secs / opts.steps as f64,
        cpu_ms_per_step: cpu,
        peak_mib: proc_status_mib("VmHWM"),
        base_mib,
        final_loss,
    })
}

type Step = Box<dyn FnMut(usize) -> Result<f32>>;

/// A training step of the plain reference models (built in `models`), on fixed random views.
fn reference_step(model: BenchModel, opts: &TrainBenchOptions) -> Result<Step> {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let (net, shape): (Box<dyn Module>, Vec<usize>) = match model {
        BenchModel::CnnCandle => (Box::new(Cnn::new(vb, ConvImpl::Candle)?), vec![opts.batch_size, 1, 28, 28]),
        BenchModel::CnnPretext => (Box::new(Cnn::new(vb, ConvImpl::Pretext)?), vec![opts.batch_size, 1, 28, 28]),
        _ => (Box::new(Mlp::new(vb)?), vec![opts.batch_size, 784]),
    };
    let params = ParamsAdamW { lr: 2e-3, weight_decay: 1e-4, ..Default::default() };
    let mut opt = AdamW::new(varmap.all_vars(), params)?;
    // A few distinct batches, so no step sees exactly the previous step's input.
    let views = (0..4)
        .map(|_| Ok((Tensor::rand(0f32, 1., shape.as_slice(), &dev)?, Tensor::rand(0f32, 1., shape.as_slice(), &dev)?)))
        .collect::<candle_core::Result<Vec<_>>>()?;
    Ok(Box::new(move |i| {
        let (x1, x2) = &views[i % views.len()];
        let loss = nt_xent(&net.forward(x1)?, &net.forward(x2)?, 0.5)?;
        opt.backward_step(&loss)?;
        Ok(loss.to_scalar::<f32>()?)
    }))
}

/// A training step exactly as the trainer takes it: the default `TrainConfig` (with the
/// row's objective), its model, objective (teacher and queue updates included) and optimiser,
/// on batches the objective makes from a pool of random items without augmentation cost in
/// the timed loop.
fn project_step(model: BenchModel, opts: &TrainBenchOptions) -> Result<Step> {
    let modality = match model {
        BenchModel::DefaultTable => Modality::Table { columns: (0..784).map(|i| format!("f{i}")).collect() },
        _ => Modality::Image { channels: 1, height: 28, width: 28 },
    };
    let objective_kind = match model {
        BenchModel::ImageObjective(o) => o,
        _ => ObjectiveKind::Simclr,
    };
    let cfg = TrainConfig { batch_size: opts.batch_size, objective: objective_kind, ..TrainConfig::default() };
    let (varmap, net) = SslModel::build(&modality, &cfg)?;
    let objective = build_objective(&cfg, &modality, &varmap)?;
    let params = ParamsAdamW { lr: cfg.learning_rate, weight_decay: cfg.weight_decay, ..Default::default() };
    let mut opt = AdamW::new(varmap.all_vars(), params)?;
    let len = opts.batch_size * modality.item_len();
    let mut seed = 1u32;
    let mut noise = move || {
        // xorshift: cheap reproducible pixels in [0, 1).
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                (seed >> 8) as f32 / (1u32 << 24) as f32
            })
            .collect::<Vec<f32>>()
    };
    let pool = crate::data::Split::new(noise(), None, modality.item_len());
    let ds = crate::data::Dataset::from_pool("noise".into(), "bench".into(), modality, Vec::new(), pool, 0.0, 0);
    let items: Vec<usize> = (0..opts.batch_size.min(ds.train.len)).collect();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
    let batches: Vec<Batch> = (0..4).map(|_| objective.make_batch(&ds, &items, &cfg, &mut rng)).collect();
    Ok(Box::new(move |i| {
        let loss = objective.loss(&net, &batches[i % batches.len()], net.device())?;
        opt.backward_step(&loss)?;
        objective.after_step(&varmap, i as f64 / 100.0)?;
        Ok(loss.to_scalar::<f32>()?)
    }))
}

/// Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so each model's peak is
/// its own even though all run in one process. Elsewhere there is no peak to report.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn proc_status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn mib(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".into())
}

impl fmt::Display for TrainBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "SimCLR NT-Xent + AdamW unless a row names another objective, batch {} (x2 views; one input for mae, denoise, data2vec), {} threads, {} timed steps after {} warm-up",
            o.batch_size, o.threads, o.steps, o.warmup
        )?;
        writeln!(
            f,
            "{:<22} {:>9} {:>8} {:>8} {:>9} {:>8} | {:>9} {:>7} {:>9} {:>8}",
            "model", "images/s", "ms/step", "cpu ms", "peak MiB", "+MiB", "torch i/s", "ratio", "torch MiB", "+MiB"
        )?;
        for r in &self.rows {
            let peer = r.model.peer_name().and_then(|name| self.peers.row(name));
            let growth = r.peak_mib.zip(r.base_mib).map(|(p, b)| p - b);
            let (t_ips, ratio, t_peak, t_growth) = match peer {
                Some(p) => (
                    format!("{:.0}", p.images_per_s),
                    format!("{:.2}x", r.images_per_s / p.images_per_s),
                    format!("{:.0}", p.peak_rss_mib),
                    format!("{:.0}", p.peak_rss_mib - p.baseline_rss_mib),
                ),
                None => ("-".into(), "-".into(), "-".into(), "-".into()),
            };
            writeln!(
                f,
                "{:<22} {:>9.0} {:>8.1} {:>8} {:>9} {:>8} | {:>9} {:>7} {:>9} {:>8}",
                r.model.label(),
                r.images_per_s,
                r.ms_per_step,
                r.cpu_ms_per_step.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".into()),
                mib(r.peak_mib),
                mib(growth),
                t_ips,
                ratio,
                t_peak,
                t_growth
            )?;
        }
        match &self.peers {
            Peers::Ran { torch, rows } => {
                writeln!(f, "PyTorch {torch} (bench/peers_train.py), same models, batch and threads; best of two OpenMP wait policies:")?;
                for r in rows {
                    let cpu = r.cpu_ms.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".into());
                    let policy = r.omp_wait_policy.as_deref().unwrap_or("default");
                    writeln!(f, "  torch {:<7} {:>7.0} images/s, {:>7.1} ms/step, {cpu:>5} cpu ms/step, OMP_WAIT_POLICY {policy}", r.model, r.images_per_s, r.step_ms)?;
                }
                Ok(())
            }
            Peers::Skipped(why) => writeln!(f, "PyTorch reference skipped: {why}"),
            Peers::NotRun => Ok(()),
        }?;
        let candle_threads = std::env::var(crate::ssl::ops::CANDLE_THREADS_ENV).unwrap_or_else(|_| "default".into());
        writeln!(f, "{} = {candle_threads} (candle's element-wise pool; see ssl::ops::init_cpu_runtime)", crate::ssl::ops::CANDLE_THREADS_ENV)?;
        write!(f, "cpu ms = CPU time per step, all threads; peak = process VmHWM while the model trained; +MiB = peak minus RSS before the model was built")
    }
}
