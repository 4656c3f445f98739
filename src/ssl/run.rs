//! A run directory: everything needed to reopen a run and continue it.
//!
//! ```text
//! config.json            training settings, dataset identity, step
//! checkpoint.safetensors model weights (candle VarMap, BatchNorm running stats included)
//! teacher.safetensors    the momentum teacher's weights (BYOL, MoCo, data2vec)
//! embeddings.npy         backbone embeddings of the map subset (float32, rows × dim)
//! indices.npy            dataset index of each row (int64; train items first, then test)
//! labels.npy             label of each row (int64), when the dataset has labels
//! sources.json           where each row's item came from (its file, row, line or series)
//!                        and its id, when the data has an id column
//! metrics.json           evaluation history and the loss of every step
//! evaluation.json        full-dataset metrics (written by `pretext train` / `eval` / `compare`)
//! training_state.safetensors  AdamW's step counter and moments, and the objective's own
//!                        state (MoCo's queue), so a resumed run continues exactly
//! ```
//! Batches need no saved state: the items and augmentations of a step are drawn from the seed
//! and the step number alone (`ssl::pipeline`). A run saved in the middle of a training phase
//! also records the phase (`RunConfig::phase`), so resuming finishes the same learning-rate
//! schedule rather than starting a new one.

use std::path::{Path, PathBuf};

use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

use crate::analysis::Matrix;
use crate::data::{Dataset, Modality};
use crate::error::{PretextError, Result};
use crate::export::{read_npy_ints, read_npy_matrix, write_npy_ints, write_npy_matrix};
use crate::ssl::config::TrainConfig;
use crate::ssl::device::DeviceChoice;
use crate::ssl::evaluate::EvalRecord;

pub const CONFIG: &str = "config.json";
pub const CHECKPOINT: &str = "checkpoint.safetensors";
pub const TEACHER: &str = "teacher.safetensors";
pub const EMBEDDINGS: &str = "embeddings.npy";
pub const INDICES: &str = "indices.npy";
pub const LABELS: &str = "labels.npy";
pub const METRICS: &str = "metrics.json";
pub const SOURCES: &str = "sources.json";

/// Where each saved row's item came from, kept with the run so it still names its items
/// when the data has moved (in the order of `indices.npy`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSources {
    pub sources: Vec<String>,
    /// Each row's value of the dataset's id column; empty when it has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
}
pub const TRAINING_STATE: &str = "training_state.safetensors";

/// A training phase that was interrupted (paused or stopped, then saved): its first and its
/// last step, and the time it had run, which a time budget counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainingPhase {
    pub from_step: usize,
    pub to_step: usize,
    pub elapsed_seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub name: String,
    pub source: String,
    pub modality: Modality,
    pub class_names: Vec<String>,
    pub train_items: usize,
    pub test_items: usize,
    /// Seed of the train/test split (data without a split of its own). Runs saved before
    /// it was recorded split with their training seed, as `pretext train` does.
    #[serde(default)]
    pub split_seed: Option<u64>,
    /// CSV columns named when the data was read (runs saved before they were recorded
    /// reopen with the defaults).
    #[serde(default)]
    pub columns: crate::data::ReadColumns,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunConfig {
    pub pretext_version: String,
    pub train: TrainConfig,
    pub dataset: DatasetInfo,
    pub step: usize,
    /// Wall-clock seconds spent training (evaluations included, pauses not); None for runs
    /// saved before this was recorded, and for runs resumed from one of those.
    #[serde(default)]
    pub train_seconds: Option<f64>,
    /// The unfinished phase the run was saved in (None when it was saved between phases).
    #[serde(default)]
    pub phase: Option<TrainingPhase>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RunMetrics {
    pub history: Vec<EvalRecord>,
    /// `[step, loss]` of every training step (empty for runs saved before it was recorded).
    #[serde(default)]
    pub losses: Vec<(usize, f32)>,
}

/// How far a run has got: what is saved beside its weights and embeddings.
#[derive(Debug, Clone, Default)]
pub struct RunProgress {
    pub step: usize,
    pub history: Vec<EvalRecord>,
    pub losses: Vec<(usize, f32)>,
    pub train_seconds: Option<f64>,
    pub phase: Option<TrainingPhase>,
}

/// A run as read back from disk.
#[derive(Debug, Clone)]
pub struct SavedRun {
    pub dir: PathBuf,
    pub config: RunConfig,
    pub embeddings: Matrix,
    pub indices: Vec<usize>,
    pub labels: Option<Vec<u32>>,
    pub history: Vec<EvalRecord>,
    pub losses: Vec<(usize, f32)>,
    /// The rows' sources and ids as saved (None for runs saved before they were kept).
    pub sources: Option<RunSources>,
}

impl SavedRun {
    /// The folder's name, which is how tables and legends name the run.
    pub fn name(&self) -> String {
        run_name(&self.dir)
    }

    /// The saved source of dataset item `item`, when it is one of the run's rows.
    pub fn saved_source(&self, item: usize) -> Option<&str> {
        let row = self.indices.iter().position(|&i| i == item)?;
        self.sources.as_ref()?.sources.get(row).map(String::as_str)
    }

    /// The saved id of dataset item `item`, when it is one of the run's rows and has one.
    pub fn saved_id(&self, item: usize) -> Option<&str> {
        let row = self.indices.iter().position(|&i| i == item)?;
        self.sources.as_ref()?.ids.get(row).map(String::as_str)
    }

    /// The run's item a user names by a saved source or `id:VALUE` (for when the data is
    /// not there to ask).
    pub fn find_saved(&self, name: &str) -> Option<usize> {
        let saved = self.sources.as_ref()?;
        let row = match name.trim().strip_prefix("id:") {
            Some(id) => saved.ids.iter().position(|s| s == id),
            None => {
                let name = name.trim().replace('\\', "/");
                saved.sources.iter().position(|s| *s == name)
            }
        }?;
        self.indices.get(row).copied()
    }

    pub fn progress(&self) -> RunProgress {
        RunProgress {
            step: self.config.step,
            history: self.history.clone(),
            losses: self.losses.clone(),
            train_seconds: self.config.train_seconds,
            phase: self.config.phase,
        }
    }
}

/// The last component of a run folder's path (the whole path if it has none).
pub fn run_name(dir: &Path) -> String {
    dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned())
}

impl SavedRun {
    /// The run's dataset must be the one it was trained on (same shape of items and splits).
    pub fn check_dataset(&self, ds: &Dataset) -> Result<()> {
        let info = &self.config.dataset;
        if info.modality != ds.modality || info.train_items != ds.train.len || info.test_items != ds.test.len {
            return Err(PretextError::BadData(format!(
                "this run was trained on '{}' ({}, {} + {} items) but the open dataset is '{}' ({}, {} + {} items); open {}",
                info.name,
                info.modality.describe(),
                info.train_items,
                info.test_items,
                ds.name,
                ds.modality.describe(),
                ds.train.len,
                ds.test.len,
                info.source
            )));
        }
        if let (Some(open), run) = (ds.split_seed, self.config.split_seed()) {
            if open != run {
                return Err(PretextError::BadData(format!(
                    "this run split '{}' into train and test with seed {run} but the open dataset was split with seed {open}, so its item numbers name other items; open the run with `pretext --run {}`",
                    info.name,
                    self.dir.display()
                )));
            }
        }
        Ok(())
    }
}

impl RunConfig {
    /// The seed the run's dataset was split with (its training seed for older runs).
    pub fn split_seed(&self) -> u64 {
        self.dataset.split_seed.unwrap_or(self.train.seed)
    }

    /// Loader options that read the run's dataset again as it was read for training: its CSV
    /// columns, image size, text length, series reading and split. Every front end that
    /// reopens a run's data goes through this.
    pub fn load_options(&self) -> crate::data::LoadOptions {
        let modality = &self.dataset.modality;
        let defaults = crate::data::LoadOptions::default();
        crate::data::LoadOptions {
            label_column: self.dataset.columns.label_column.clone(),
            text_column: self.dataset.columns.text_column.clone(),
            vector_column: self.dataset.columns.vector_column.clone(),
            id_column: self.dataset.columns.id_column.clone(),
            text_max_len: match modality {
                Modality::Text { max_len } => Some(*max_len),
                Modality::Image { .. } | Modality::Table { .. } | Modality::Series { .. } | Modality::Embedding { .. } => None,
            },
            image_size: match modality {
                Modality::Image { width, .. } => *width,
                Modality::Table { .. } | Modality::Series { .. } | Modality::Text { .. } | Modality::Embedding { .. } => defaults.image_size,
            },
            // Images resized at load (`--image-size`) are resized again to the same side.
            image_side: match modality {
                Modality::Image { width, .. } => Some(*width),
                Modality::Table { .. } | Modality::Series { .. } | Modality::Text { .. } | Modality::Embedding { .. } => None,
            },
            series: matches!(modality, Modality::Series { .. }),
            seed: self.split_seed(),
            ..defaults
        }
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| PretextError::bad_file(path, e.to_string()))?;
    std::fs::write(path, text).map_err(|e| PretextError::io(path, e))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| PretextError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| PretextError::bad_file(path, format!("not a valid pretext file ({e})")))
}

pub fn save(dir: &Path, ds: &Dataset, cfg: &TrainConfig, progress: &RunProgress, varmap: &VarMap, indices: &[usize], embeddings: &Matrix) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| PretextError::io(dir, e))?;
    let config = RunConfig {
        pretext_version: env!("CARGO_PKG_VERSION").to_string(),
        train: cfg.clone(),
        dataset: DatasetInfo {
            name: ds.name.clone(),
            source: ds.source.clone(),
            modality: ds.modality.clone(),
            class_names: ds.class_names.clone(),
            train_items: ds.train.len,
            test_items: ds.test.len,
            split_seed: ds.split_seed,
            columns: ds.columns.clone(),
        },
        step: progress.step,
        train_seconds: progress.train_seconds,
        phase: progress.phase,
    };
    write_json(&dir.join(CONFIG), &config)?;
    if cfg.encoder == crate::ssl::EncoderKind::Bert {
        let source = crate::ssl::bert_tokens::assets_dir(cfg.text_model.as_deref(), cfg.init.as_deref())?;
        crate::ssl::bert_tokens::copy_into_run(&source, dir)?;
    }
    let ckpt = dir.join(CHECKPOINT);
    save_varmap(varmap, &ckpt).map_err(|e| PretextError::bad_file(&ckpt, format!("cannot write checkpoint ({e})")))?;
    write_npy_matrix(&dir.join(EMBEDDINGS), embeddings)?;
    write_npy_ints(&dir.join(INDICES), &indices.iter().map(|&i| i as i64).collect::<Vec<_>>())?;
    if ds.has_labels() {
        let labels: Vec<i64> = indices.iter().map(|&i| ds.global_label(i).map_or(-1, |l| l as i64)).collect();
        write_npy_ints(&dir.join(LABELS), &labels)?;
    }
    let sources = RunSources { sources: indices.iter().map(|&i| ds.item_source(i)).collect(), ids: ds.ids_of(indices).unwrap_or_default() };
    write_json(&dir.join(SOURCES), &sources)?;
    write_json(&dir.join(METRICS), &RunMetrics { history: progress.history.clone(), losses: progress.losses.clone() })
}

/// The run's config.json alone (settings, dataset identity, step).
pub fn load_config(dir: &Path) -> Result<RunConfig> {
    if !dir.join(CONFIG).is_file() {
        return Err(PretextError::bad_file(dir, "not a pretext run folder (no config.json)"));
    }
    let mut config: RunConfig = read_json(&dir.join(CONFIG))?;
    // A BERT run reads its config and tokenizer from its own copy, wherever it was moved.
    if let Some(own) = crate::ssl::bert_tokens::run_copy(dir) {
        config.train.text_model = Some(own);
    }
    Ok(config)
}

pub fn load(dir: &Path) -> Result<SavedRun> {
    let config = load_config(dir)?;
    let embeddings = read_npy_matrix(&dir.join(EMBEDDINGS))?;
    let indices: Vec<usize> = read_npy_ints(&dir.join(INDICES))?.into_iter().map(|i| i.max(0) as usize).collect();
    if indices.len() != embeddings.rows {
        return Err(PretextError::bad_file(dir, format!("{} embeddings but {} indices", embeddings.rows, indices.len())));
    }
    if let Some(&bad) = indices.iter().find(|&&i| i >= config.dataset.train_items + config.dataset.test_items) {
        return Err(PretextError::bad_file(
            &dir.join(INDICES),
            format!("item {bad} is outside the run's dataset ({} items)", config.dataset.train_items + config.dataset.test_items),
        ));
    }
    let labels_path = dir.join(LABELS);
    let labels: Option<Vec<u32>> = if labels_path.is_file() {
        Some(read_npy_ints(&labels_path)?.into_iter().map(|l| l.max(0) as u32).collect())
    } else {
        None
    };
    if labels.as_ref().is_some_and(|l| l.len() != indices.len()) {
        return Err(PretextError::bad_file(&labels_path, format!("{} labels for {} embeddings", labels.as_ref().map_or(0, |l| l.len()), indices.len())));
    }
    let metrics = if dir.join(METRICS).is_file() { read_json::<RunMetrics>(&dir.join(METRICS))? } else { RunMetrics::default() };
    let sources = if dir.join(SOURCES).is_file() { Some(read_json::<RunSources>(&dir.join(SOURCES))?) } else { None };
    if let Some(s) = &sources {
        if s.sources.len() != indices.len() || !(s.ids.is_empty() || s.ids.len() == indices.len()) {
            return Err(PretextError::bad_file(&dir.join(SOURCES), format!("{} sources and {} ids for {} embeddings", s.sources.len(), s.ids.len(), indices.len())));
        }
    }
    Ok(SavedRun { dir: dir.to_path_buf(), config, embeddings, indices, labels, history: metrics.history, losses: metrics.losses, sources })
}

/// Loads the checkpoint's weights into an already-built model.
pub fn load_weights(varmap: &VarMap, dir: &Path) -> Result<()> {
    let ckpt = dir.join(CHECKPOINT);
    let mut vm = varmap.clone();
    vm.load(&ckpt).map_err(|e| PretextError::bad_file(&ckpt, format!("checkpoint does not fit this model ({e})")))
}

/// Writes the optimizer's and the objective's state beside the checkpoint.
pub fn save_training_state(dir: &Path, state: &std::collections::HashMap<String, candle_core::Tensor>) -> Result<()> {
    let path = dir.join(TRAINING_STATE);
    save_on_cpu(state.iter().map(|(k, v)| (k.clone(), v.clone())), &path)
        .map_err(|e| PretextError::bad_file(&path, format!("cannot write the training state ({e})")))
}

/// A VarMap's weights to a safetensors file, from whatever device they are on.
fn save_varmap(varmap: &VarMap, path: &Path) -> candle_core::Result<()> {
    let data = varmap.data().lock().map_err(|_| candle_core::Error::Msg("the model's weights are poisoned".into()))?;
    save_on_cpu(data.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())), path)
}

/// Copies each tensor to the CPU first (a no-op for CPU tensors): safetensors writes host
/// memory, and candle's own GPU read-back inside its writer cannot report a failure.
fn save_on_cpu(tensors: impl Iterator<Item = (String, candle_core::Tensor)>, path: &Path) -> candle_core::Result<()> {
    let host = tensors
        .map(|(k, t)| Ok((k, t.to_device(&candle_core::Device::Cpu)?)))
        .collect::<candle_core::Result<std::collections::HashMap<_, _>>>()?;
    candle_core::safetensors::save(&host, path)
}

/// The saved optimizer and objective state; None for runs saved without it (they resume with
/// fresh moments).
pub fn load_training_state(dir: &Path) -> Result<Option<std::collections::HashMap<String, candle_core::Tensor>>> {
    let path = dir.join(TRAINING_STATE);
    if !path.is_file() {
        return Ok(None);
    }
    candle_core::safetensors::load(&path, &candle_core::Device::Cpu)
        .map(Some)
        .map_err(|e| PretextError::bad_file(&path, format!("not a valid training state ({e})")))
}

/// Writes a momentum teacher's weights beside the checkpoint.
pub fn save_teacher(teacher: &VarMap, dir: &Path) -> Result<()> {
    let path = dir.join(TEACHER);
    save_varmap(teacher, &path).map_err(|e| PretextError::bad_file(&path, format!("cannot write the teacher's weights ({e})")))
}

/// Loads a saved teacher when the run has one; a run saved without it keeps the teacher the
/// objective started with (a copy of the student).
pub fn load_teacher(teacher: &VarMap, dir: &Path) -> Result<()> {
    let path = dir.join(TEACHER);
    if !path.is_file() {
        return Ok(());
    }
    let mut vm = teacher.clone();
    vm.load(&path).map_err(|e| PretextError::bad_file(&path, format!("teacher weights do not fit this model ({e})")))
}

/// Metrics of a saved run on its full dataset (not only the map subset).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunEvaluation {
    pub step: usize,
    pub embedding_dim: usize,
    pub train_items: usize,
    pub test_items: usize,
    /// Weighted kNN (DINO protocol) of every test item against every train item.
    pub knn_accuracy: Option<f32>,
    /// 1-nearest-neighbour (cosine) of every test item against every train item.
    #[serde(default)]
    pub nn1_accuracy: Option<f32>,
    /// k-means on the test embeddings with k = number of classes, against the labels.
    pub kmeans_nmi: Option<f64>,
    pub kmeans_ari: Option<f64>,
    pub kmeans_purity: Option<f32>,
    pub effective_rank: f32,
    /// Linear probe (softmax regression on the frozen embeddings) trained on 1 % and on all of
    /// the train labels, accuracy on the test split. Missing in evaluations saved before it
    /// was measured.
    #[serde(default)]
    pub probe_1pct: Option<f64>,
    #[serde(default)]
    pub probe_100pct: Option<f64>,
}

impl RunEvaluation {
    /// Whether this evaluation measures the run as saved now, with every metric this
    /// version reports (so a run resumed and saved again, or measured by an older version,
    /// is measured again).
    pub fn is_current_for(&self, config: &RunConfig) -> bool {
        let labelled = !config.dataset.class_names.is_empty();
        self.step == config.step && (!labelled || (self.probe_1pct.is_some() && self.probe_100pct.is_some()))
    }
}

/// Where a run's full-dataset metrics came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvaluationSource {
    /// Read from the run's evaluation.json.
    Saved,
    /// Measured now (and written to evaluation.json when the folder is writable).
    Computed,
}

/// The run's saved evaluation when it is current, else a new one measured on `ds` and
/// written beside the run (a read-only folder only loses the cache).
pub fn current_evaluation(dir: &Path, ds: &Dataset, device: DeviceChoice) -> Result<(RunEvaluation, EvaluationSource)> {
    let config = load_config(dir)?;
    if let Some(saved) = load_evaluation(dir)?.filter(|e| e.is_current_for(&config)) {
        return Ok((saved, EvaluationSource::Saved));
    }
    let fresh = evaluate_run(dir, ds, device)?;
    let _ = save_evaluation(dir, &fresh);
    Ok((fresh, EvaluationSource::Computed))
}

/// Train and test items a streamed or very large dataset is evaluated on at most: the
/// embeddings are held in memory and the kNN vote costs train × test (800,000 × 200,000 is
/// hours), so it is measured on a seeded sample (the counts are in the evaluation).
pub const SAMPLED_EVAL_TRAIN: usize = 50_000;
pub const SAMPLED_EVAL_TEST: usize = 10_000;
/// Datasets held in memory with more items than this are evaluated on the sample too.
pub const SAMPLED_EVAL_ABOVE: usize = 200_000;

/// Whether `evaluate_run` measures a seeded sample of `ds` instead of all of it.
pub fn evaluation_is_sampled(ds: &Dataset) -> bool {
    ds.is_streamed() || ds.len() > SAMPLED_EVAL_ABOVE
}

/// The items `evaluate_run` measures: the whole dataset, or a seeded sample of a streamed or
/// very large one.
pub fn evaluation_items(ds: &Dataset) -> std::borrow::Cow<'_, Dataset> {
    use crate::data::sample_items;
    if !evaluation_is_sampled(ds) {
        return std::borrow::Cow::Borrowed(ds);
    }
    let d = ds.item_len();
    std::borrow::Cow::Owned(ds.with_splits(
        ds.train.select(&sample_items(ds.train.len, SAMPLED_EVAL_TRAIN, 1), d),
        ds.test.select(&sample_items(ds.test.len, SAMPLED_EVAL_TEST, 2), d),
    ))
}

/// Embeds the dataset (or a seeded sample, `evaluation_items`) with the run's
/// checkpoint on `device` and measures it.
pub fn evaluate_run(dir: &Path, ds: &Dataset, device: DeviceChoice) -> Result<RunEvaluation> {
    let saved = load(dir)?;
    saved.check_dataset(ds)?;
    let ds = evaluation_items(ds);
    let (train, test) = embed_with(&saved, &ds, device)?;
    evaluate_embeddings(&ds, &train, &test, saved.config.train.seed, saved.config.step)
}

/// The full-dataset metrics of given train and test embeddings of `ds` (a run's at `step`,
/// or vectors made elsewhere); `seed` seeds k-means and the probe's label sample.
pub fn evaluate_embeddings(ds: &Dataset, train: &Matrix, test: &Matrix, seed: u64, step: usize) -> Result<RunEvaluation> {
    use crate::analysis::probe::{linear_probe, ProbeParams};
    use crate::analysis::{kmeans, knn, metrics};
    let (mut knn_accuracy, mut nn1_accuracy, mut kmeans_nmi, mut kmeans_ari, mut kmeans_purity) = (None, None, None, None, None);
    let (mut probe_1pct, mut probe_100pct) = (None, None);
    if let (Some(train_labels), Some(test_labels)) = (&ds.train.labels, &ds.test.labels) {
        knn_accuracy = Some(knn::accuracy(train, train_labels, test, test_labels, knn::KnnProtocol::default())?);
        nn1_accuracy = Some(knn::accuracy(train, train_labels, test, test_labels, knn::KnnProtocol::NEAREST)?);
        let k = ds.class_names.len().max(2).min(test.rows);
        let clusters = kmeans::fit(&test.l2_normalized(), k, seed)?;
        let truth: Vec<usize> = test_labels.iter().map(|&l| l as usize).collect();
        kmeans_nmi = Some(metrics::nmi(&clusters, &truth));
        kmeans_ari = Some(metrics::ari(&clusters, &truth));
        kmeans_purity = Some(metrics::purity(&clusters, test_labels, k));
        let params = ProbeParams { fractions: vec![0.01, 1.0], seed, ..ProbeParams::default() };
        let probes = linear_probe(train, train_labels, test, test_labels, &params)?;
        probe_1pct = probes.first().map(|p| p.test_accuracy);
        probe_100pct = probes.get(1).map(|p| p.test_accuracy);
    }
    let sample: Vec<usize> = (0..test.rows).step_by((test.rows / 1024).max(1)).take(1024).collect();
    Ok(RunEvaluation {
        step,
        embedding_dim: train.cols,
        train_items: ds.train.len,
        test_items: ds.test.len,
        knn_accuracy,
        nn1_accuracy,
        kmeans_nmi,
        kmeans_ari,
        kmeans_purity,
        effective_rank: metrics::effective_rank(&test.select_rows(&sample).l2_normalized()),
        probe_1pct,
        probe_100pct,
    })
}

pub const EVALUATION: &str = "evaluation.json";

pub fn save_evaluation(dir: &Path, eval: &RunEvaluation) -> Result<()> {
    write_json(&dir.join(EVALUATION), eval)
}

pub fn load_evaluation(dir: &Path) -> Result<Option<RunEvaluation>> {
    let path = dir.join(EVALUATION);
    if path.is_file() {
        read_json(&path).map(Some)
    } else {
        Ok(None)
    }
}

/// Backbone embeddings of the train and the test split with a saved run's weights, computed
/// on `device` (the matrices are on the CPU).
pub fn embed_splits(dir: &Path, ds: &Dataset, device: DeviceChoice) -> Result<(SavedRun, Matrix, Matrix)> {
    let saved = load(dir)?;
    saved.check_dataset(ds)?;
    let (train, test) = embed_with(&saved, ds, device)?;
    Ok((saved, train, test))
}

/// Train and test embeddings of `ds` (the run's dataset, or a sample of it) with the
/// weights of `saved`, computed on `device` (the matrices are on the CPU).
fn embed_with(saved: &SavedRun, ds: &Dataset, device: DeviceChoice) -> Result<(Matrix, Matrix)> {
    let cfg = TrainConfig { device, ..saved.config.train.clone() };
    let (varmap, model) = crate::ssl::encoder::SslModel::build(&ds.modality, &cfg)?;
    load_weights(&varmap, &saved.dir)?;
    let d = ds.item_len();
    let train = crate::ssl::evaluate::embed_split(&model, &ds.train, d)?;
    let test = crate::ssl::evaluate::embed_split(&model, &ds.test, d)?;
    Ok((train, test))
}

/// Backbone embeddings of every item of `ds` with a saved run's weights, in dataset order
/// (train items, then test items).
pub fn embed_all(dir: &Path, ds: &Dataset, device: DeviceChoice) -> Result<Matrix> {
    let (_, mut all, test) = embed_splits(dir, ds, device)?;
    all.data.extend_from_slice(&test.data);
    all.rows += test.rows;
    Ok(all)
}
