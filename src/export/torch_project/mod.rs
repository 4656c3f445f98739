//! `pretext export-torch`: a run handed to PyTorch's distributed training. The export writes
//! a small, self-contained PyTorch Lightning project that trains the run's recipe (encoder,
//! objective, views, optimiser and schedule, batch size, seed) on one machine or many (DDP),
//! and writes back what pretext opens: the backbone as safetensors in its architecture's own
//! names, Lightning checkpoints, and a pretext run folder of the map's embeddings.
//!
//! ```text
//! train.py, data.py, augment.py, models.py, objectives.py, evaluate.py, takeback.py
//! requirements.txt   pinned versions
//! README.md          launching, taking back, what is not reproduced exactly
//! pretext_run.json   the run's config.json (the program writes it back with its run folder)
//! split/             train.npy, test.npy (pretext's items as positions in the source),
//!                    eval_train.npy, eval_test.npy (what kNN measures), map.npy (the map's items)
//! weights/           start.safetensors (+ teacher.safetensors): the weights to start from,
//!                    in pretext's names
//! ```

mod items;
mod readme;
pub mod recipe;
pub mod templates;

use std::path::{Path, PathBuf};

use crate::data::Modality;
use crate::error::PretextError;
use crate::ssl::encoder::SslModel;
use crate::ssl::run::{self, RunConfig};
use crate::ssl::{DeviceChoice, EncoderKind, TrainConfig};

#[derive(Debug, thiserror::Error)]
pub enum TorchExportError {
    #[error("{0} is not empty; pick a new folder or overwrite it (--force)")]
    NotEmpty(PathBuf),
    #[error("this run cannot be exported to PyTorch yet: {0}")]
    Unsupported(String),
    #[error(transparent)]
    Run(#[from] PretextError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TorchExportError + '_ {
    move |source| TorchExportError::Io { path: path.to_path_buf(), source }
}

/// Which weights the project starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartWeights {
    /// The run's weights as saved (trained, or the checkpoint it was embedded with).
    #[default]
    Trained,
    /// The weights the run began with: the seeded initialisation of its recipe (loaded from
    /// its `--init` checkpoint when it had one), so the project retrains the recipe from the
    /// same start as pretext.
    Initial,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectOptions {
    /// Write into a folder that already holds files (the project's files are replaced).
    pub overwrite: bool,
    pub start: StartWeights,
}

/// What the export wrote.
#[derive(Debug, Clone)]
pub struct ProjectSummary {
    pub dir: PathBuf,
    /// Every file written, relative to `dir`.
    pub files: Vec<PathBuf>,
    /// The run's step when it was exported.
    pub run_step: usize,
    pub start: StartWeights,
    /// Settings the program does not reproduce exactly (also listed in its README).
    pub not_reproduced: Vec<String>,
}

/// Writes the PyTorch Lightning project of the run in `run_dir` into `out_dir` (created
/// when missing; a folder with files in it only with `options.overwrite`).
pub fn write_project(run_dir: &Path, out_dir: &Path, options: &ProjectOptions) -> Result<ProjectSummary, TorchExportError> {
    let mut config = run::load_config(run_dir)?;
    check_supported(&config)?;
    // The program runs from its own folder: a source named relative to where pretext ran
    // is written as the absolute path it names.
    if let Ok(absolute) = std::fs::canonicalize(&config.dataset.source) {
        config.dataset.source = absolute.display().to_string();
    }
    prepare_folder(out_dir, options.overwrite)?;
    let mut writer = ProjectWriter { dir: out_dir.to_path_buf(), files: Vec::new() };

    for (name, text) in templates::PYTHON {
        let text = if name == "train.py" { fill_train_script(text, &config, run_dir)? } else { text.to_string() };
        writer.text(name, &text)?;
    }
    writer.text("requirements.txt", &requirements(&config))?;
    let start = match options.start {
        StartWeights::Trained => "the run's weights at its step, from weights/start.safetensors.",
        StartWeights::Initial => "the weights the run began with (its seeded initialisation), from weights/start.safetensors.",
    };
    writer.text("README.md", &readme::readme(&config, &run_dir.display().to_string(), start))?;
    let run_json = serde_json::to_string_pretty(&config).map_err(|e| TorchExportError::Unsupported(e.to_string()))?;
    writer.text("pretext_run.json", &run_json)?;
    write_item_lists(&mut writer, run_dir, &config)?;
    write_start_weights(&mut writer, run_dir, &config, options.start)?;

    let not_reproduced = recipe::flatten(&config.train)
        .keys()
        .filter_map(|k| match recipe::elsewhere(k, templates::reads_setting) {
            Some(recipe::Elsewhere::NotReproduced(why)) => Some(format!("{k}: {why}")),
            None if !templates::reads_setting(k) => Some(format!("{k}: not read by the program")),
            _ => None,
        })
        .collect();
    Ok(ProjectSummary { dir: out_dir.to_path_buf(), files: writer.files, run_step: config.step, start: options.start, not_reproduced })
}

fn check_supported(config: &RunConfig) -> Result<(), TorchExportError> {
    if config.train.encoder == EncoderKind::Bert {
        return Err(TorchExportError::Unsupported("BERT-family text encoders are not exported (image and table runs are)".into()));
    }
    match &config.dataset.modality {
        Modality::Image { .. } | Modality::Table { .. } => Ok(()),
        other => Err(TorchExportError::Unsupported(format!("the run's data is {}; image and table runs are exported", other.describe()))),
    }
}

/// Creates `dir`, or checks that it may be written into.
fn prepare_folder(dir: &Path, overwrite: bool) -> Result<(), TorchExportError> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(TorchExportError::Run(PretextError::bad_file(dir, "exists and is not a folder")));
        }
        let non_empty = std::fs::read_dir(dir).map_err(io(dir))?.next().is_some();
        if non_empty && !overwrite {
            return Err(TorchExportError::NotEmpty(dir.to_path_buf()));
        }
    }
    std::fs::create_dir_all(dir).map_err(io(dir))
}

struct ProjectWriter {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl ProjectWriter {
    fn path(&mut self, rel: &str) -> Result<PathBuf, TorchExportError> {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        self.files.push(PathBuf::from(rel));
        Ok(path)
    }

    fn text(&mut self, rel: &str, text: &str) -> Result<(), TorchExportError> {
        let path = self.path(rel)?;
        std::fs::write(&path, text).map_err(io(&path))
    }

    fn ints(&mut self, rel: &str, values: &[usize]) -> Result<(), TorchExportError> {
        let path = self.path(rel)?;
        let values: Vec<i64> = values.iter().map(|&v| v as i64).collect();
        Ok(crate::export::write_npy_ints(&path, &values)?)
    }
}

/// `train.py` with the run's settings, data and step count filled in.
fn fill_train_script(template: &str, config: &RunConfig, run_dir: &Path) -> Result<String, TorchExportError> {
    let dataset = serde_json::to_value(&config.dataset).map_err(|e| TorchExportError::Unsupported(e.to_string()))?;
    let title = format!("{} on {}, exported from pretext.", config.train.objective.label(), config.dataset.name);
    Ok(template
        .replace("{{TITLE}}", &title)
        .replace("{{RUN_DIR}}", &run_dir.display().to_string())
        .replace("{{RECIPE}}", &recipe::recipe_literal(&config.train))
        .replace("{{DATASET}}", &recipe::python_literal(&dataset))
        .replace("{{RUN_STEPS}}", &config.step.max(1).to_string()))
}

fn requirements(config: &RunConfig) -> String {
    let mut lines: Vec<&str> = templates::REQUIREMENTS.to_vec();
    if matches!(config.train.encoder, EncoderKind::VitTiny | EncoderKind::VitSmall) {
        lines.push(templates::TIMM);
    }
    if config.dataset.source.to_ascii_lowercase().ends_with(".parquet") {
        lines.push(templates::PYARROW);
    }
    lines.join("\n") + "\n"
}

fn write_item_lists(writer: &mut ProjectWriter, run_dir: &Path, config: &RunConfig) -> Result<(), TorchExportError> {
    let lists = items::item_lists(config).map_err(TorchExportError::Unsupported)?;
    writer.ints("split/train.npy", &lists.train)?;
    writer.ints("split/test.npy", &lists.test)?;
    writer.ints("split/eval_train.npy", &lists.eval_train)?;
    writer.ints("split/eval_test.npy", &lists.eval_test)?;
    // The map shows the run's own seeded sample: its indices.npy.
    let map: Vec<usize> = crate::export::read_npy_ints(&run_dir.join(run::INDICES))?.into_iter().map(|i| i.max(0) as usize).collect();
    writer.ints("split/map.npy", &map)
}

fn write_start_weights(writer: &mut ProjectWriter, run_dir: &Path, config: &RunConfig, start: StartWeights) -> Result<(), TorchExportError> {
    // A teacher left by an earlier export into this folder would be loaded as this one's.
    let stale_teacher = writer.dir.join("weights/teacher.safetensors");
    if stale_teacher.is_file() {
        std::fs::remove_file(&stale_teacher).map_err(io(&stale_teacher))?;
    }
    match start {
        StartWeights::Trained => {
            let from = run_dir.join(run::CHECKPOINT);
            let to = writer.path("weights/start.safetensors")?;
            std::fs::copy(&from, &to).map_err(io(&from))?;
            let teacher = run_dir.join(run::TEACHER);
            if teacher.is_file() {
                let to = writer.path("weights/teacher.safetensors")?;
                std::fs::copy(&teacher, &to).map_err(io(&teacher))?;
            }
            Ok(())
        }
        StartWeights::Initial => {
            // The same construction the trainer starts from: seeded weights, then the
            // run's --init checkpoint when it had one.
            let cfg = TrainConfig { device: DeviceChoice::Cpu, ..config.train.clone() };
            let (varmap, _) = SslModel::build(&config.dataset.modality, &cfg)?;
            if let Some(init) = &cfg.init {
                crate::ssl::checkpoint::load_encoder(&varmap, init)?;
            }
            let to = writer.path("weights/start.safetensors")?;
            varmap.save(&to).map_err(|e| TorchExportError::Run(PretextError::bad_file(&to, format!("cannot write the weights ({e})"))))
        }
    }
}
