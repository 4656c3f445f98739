//! The headless front end: the same core and trainer event stream as the GUI, in a terminal.

mod compare;
mod curate;
mod embed;
mod embedded;
mod export_torch;
mod inspect;
mod probe;
mod scores;
mod select;
mod train;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::data::LoadOptions;

#[derive(Parser, Debug)]
#[command(name = "pretext", version, about = "A lab for self-supervised learning: pretrain an encoder on unlabeled data and explore its embedding space.", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open this dataset in the app instead of the bundled sample.
    #[arg(long, global = false)]
    pub data: Option<PathBuf>,
    /// Open the app on this saved run (and the dataset its config.json names).
    #[arg(long, global = false, conflicts_with = "data")]
    pub run: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Pretrain an encoder self-supervised and write a run folder.
    Train(train::TrainArgs),
    /// Embed a dataset with an encoder's weights (a checkpoint, or random) without training,
    /// and write a run folder the app opens, with every item's embedding as embeddings.parquet.
    /// With --run: embed new items with that run's encoder and place them into its map
    /// without retraining, as a split named "added".
    Embed(embed::EmbedArgs),
    /// Write a run's encoder as safetensors in its architecture's own names (torchvision,
    /// timm, transformers), for PyTorch's load_state_dict(strict=True).
    ExportWeights(embed::ExportWeightsArgs),
    /// Write a run as a PyTorch Lightning project (train.py, requirements.txt, README) that
    /// trains the same recipe on one machine or many (DDP) and writes back what pretext opens.
    ExportTorch(export_torch::ExportTorchArgs),
    /// Measure a saved run on its whole dataset (kNN accuracy, k-means NMI/ARI).
    Eval(inspect::EvalArgs),
    /// Compare saved runs in one table: settings, training time, kNN, linear probe, k-means, rank.
    Compare(compare::CompareArgs),
    /// kNN accuracy of raw features and of PCA features: what a learned embedding must beat.
    Baseline(inspect::BaselineArgs),
    /// The nearest items to one item in a saved run's embedding space.
    Neighbors(inspect::NeighborsArgs),
    /// Data-quality scores for every item of a saved run's dataset (uniqueness, near-duplicate
    /// groups, likely label errors, representativeness, map disagreement), one CSV row each.
    Scores(scores::ScoresArgs),
    /// Act on a selection outside pretext: the sources of a tag or a list of items, copies of
    /// their files, a new CSV or text file without them, or with their labels changed.
    Curate(curate::CurateArgs),
    /// A few diverse items to label (a k-center coreset, or the most typical item of each
    /// cluster), written as their sources, one per line, for `pretext curate --from`.
    Select(select::SelectArgs),
    /// Linear probes on a run's frozen embeddings with a few labels (1%, 10%, 100%, N per class).
    Probe(probe::ProbeArgs),
    /// Speed and quality benchmarks against the Python reference tools, measured in one run.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Training throughput (images/s, peak memory) of the default CNN and MLP, vs PyTorch.
    Train(TrainBenchArgs),
    /// t-SNE, UMAP, HNSW, PCA and k-means on Fashion-MNIST, vs openTSNE, umap-learn, hnswlib, scikit-learn.
    Analysis(crate::bench::analysis::BenchArgs),
    /// Training rate with live snapshots and re-layouts (as in the window) against without
    /// (as `pretext train`), same data and settings; time to the first map; peak memory.
    App(AppBenchArgs),
    /// kNN accuracy after the same minutes of SimCLR on Fashion-MNIST, pretext vs PyTorch
    /// (same model, views, optimiser, schedule and threads).
    Quality(crate::bench::quality::QualityArgs),
    /// Frame times of a very large map (1,000,000 synthetic points by default) while panning,
    /// zooming and hovering: level of detail against a quad per point.
    Map(crate::bench::map::MapBenchArgs),
    /// Peak memory of `pretext train` on a 1,000,000 × 784 NPY streamed from disk, against
    /// the same file held in memory.
    Stream(crate::bench::stream::StreamBenchArgs),
}

#[derive(Args, Debug)]
pub struct AppBenchArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Timed steps per mode (after 5 untimed warm-up steps).
    #[arg(long, default_value_t = 60)]
    pub steps: usize,
    /// Items per step.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Steps between snapshots in the live mode (the window's default).
    #[arg(long, default_value_t = 10)]
    pub eval_every: usize,
    /// Items on the live map (default: the whole dataset, as the window shows).
    #[arg(long)]
    pub map_items: Option<usize>,
    /// Projection of each snapshot: pca, umap or tsne.
    #[arg(long, default_value = "pca")]
    pub projection: String,
}

#[derive(Args, Debug)]
pub struct TrainBenchArgs {
    /// Timed steps per model (after a few untimed warm-up steps).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Items per step (each model sees two views of each, as in training).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Comma-separated models (default: the first five): cnn-candle, cnn-pretext, mlp,
    /// default-image, default-table, and the default image model under another objective:
    /// image-moco, image-vicreg, image-barlow, image-byol, image-data2vec, image-mae, image-denoise.
    #[arg(long)]
    pub models: Option<String>,
    /// Add a row for the default image model under each objective besides SimCLR.
    #[arg(long)]
    pub objectives: bool,
    /// Skip the PyTorch reference (bench/peers_train.py).
    #[arg(long)]
    pub no_peers: bool,
}

/// Where the data is and how to read it (shared by commands that load a dataset).
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Dataset: an IDX folder (MNIST/Fashion-MNIST files), an image folder, a .csv or a .npy,
    /// a table of embeddings made elsewhere (.parquet, or Arrow IPC .arrow/.feather/.ipc),
    /// a UCR/UEA time series set (.ts or .tsv; the folder holding NAME_TRAIN/NAME_TEST or
    /// either file of the pair), a text file (.txt, or a .tsv of label<TAB>text lines; one
    /// item per line) or a folder of .txt files in <class>/ sub-folders. Default: the
    /// bundled Fashion-MNIST sample.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// CSV, Parquet/Arrow: the column holding labels (default: one named label, class or target). With
    /// --series, a 0-based column number also works (for CSVs without a header row).
    #[arg(long)]
    pub label_column: Option<String>,
    /// CSV and 2-D NPY: each row is one time series instead of a table row (3-D NPY arrays,
    /// .ts and .tsv files are series without this flag).
    #[arg(long)]
    pub series: bool,
    /// 2-D NPY: the rows are embeddings made elsewhere: kept as written (not standardised),
    /// explored but not trained on, as a Parquet table's are.
    #[arg(long, conflicts_with = "series")]
    pub embeddings: bool,
    /// CSV: the column holding texts; makes the CSV a text dataset (one item per row).
    /// Parquet/Arrow: the texts shown beside the vectors (default: a column named text).
    #[arg(long)]
    pub text_column: Option<String>,
    /// CSV, Parquet, Arrow: a column naming each row (a key, a file name). It is not a
    /// feature; outputs carry its value as `id` beside the source, and `--item id:VALUE`
    /// finds the row.
    #[arg(long)]
    pub id_column: Option<String>,
    /// Parquet/Arrow: the list column holding each row's embedding (default: the only list
    /// column, or else every numeric column but the label and id).
    #[arg(long)]
    pub vector_column: Option<String>,
    /// Texts: bytes kept per item, longer texts are cut (default: the longest text rounded
    /// up to 16, at most 256).
    #[arg(long)]
    pub max_len: Option<usize>,
    /// NPY: the labels array (default: <name>_labels.npy or labels.npy beside the features).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Side of the square images are resized to at load: image folders (default 32) and,
    /// when given, every image dataset (IDX too), for encoders that take a given size (224 for
    /// ImageNet checkpoints). Images already at that size are not resampled.
    #[arg(long)]
    pub image_size: Option<usize>,
    /// Image folders: fail on the first unreadable file instead of skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Read items from disk as they are used instead of holding the dataset in memory (NPY
    /// feature tables, uncompressed IDX images, image folders): auto streams data that would
    /// take more than 1 GiB.
    #[arg(long, value_enum, default_value_t = crate::data::stream::StreamChoice::Auto)]
    pub stream: crate::data::stream::StreamChoice,
}

/// Where a command runs its model.
#[derive(Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Compute device for the model: cpu, cuda, cuda:N or metal. A GPU needs a build with
    /// `--features cuda` or `--features metal`; the analysis runs on the CPU either way.
    #[arg(long, default_value = "cpu")]
    pub device: crate::ssl::DeviceChoice,
}

/// The data of a command that reads a saved run: the run's dataset elsewhere, or, with no
/// run, a table of embeddings made elsewhere and how to read it.
#[derive(Args, Debug, Clone)]
pub struct TableArgs {
    /// With --run: the run's dataset (default: the path recorded in the run). Without: a
    /// table of embeddings made elsewhere (.parquet, or Arrow IPC .arrow/.feather/.ipc, or a
    /// 2-D .npy of vectors with its labels beside it).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The table's label column (default: one named label, class or target).
    #[arg(long)]
    pub label_column: Option<String>,
    /// The table's list column holding each row's embedding (default: the only list
    /// column, or else every numeric column but the label and id).
    #[arg(long)]
    pub vector_column: Option<String>,
    /// The table's text column (default: one named text, caption or sentence).
    #[arg(long)]
    pub text_column: Option<String>,
    /// CSV, Parquet, Arrow: a column naming each row (a key, a file name). It is not a
    /// feature; outputs carry its value as `id` beside the source, and `--item id:VALUE`
    /// finds the row.
    #[arg(long)]
    pub id_column: Option<String>,
    /// With --run: where the run's encoder embeds the dataset.
    #[command(flatten)]
    pub device: DeviceArgs,
}

impl DataArgs {
    pub fn path(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(crate::data::load::sample_data_dir)
    }

    pub fn load(&self, seed: u64) -> anyhow::Result<crate::data::Dataset> {
        let opts = LoadOptions {
            label_column: self.label_column.clone(),
            text_column: self.text_column.clone(),
            id_column: self.id_column.clone(),
            vector_column: self.vector_column.clone(),
            text_max_len: self.max_len,
            labels_path: self.labels.clone(),
            image_size: self.image_size.unwrap_or(LoadOptions::default().image_size),
            image_side: self.image_size,
            skip_unreadable: !self.strict,
            series: self.series,
            embeddings: self.embeddings,
            stream: self.stream,
            seed,
            ..LoadOptions::default()
        };
        load_with_spinner(&self.path(), &opts)
    }
}

/// Loads `path` with a spinner, then says what was read (and any loader notes) on stderr.
pub fn load_with_spinner(path: &std::path::Path, opts: &LoadOptions) -> anyhow::Result<crate::data::Dataset> {
    let spinner = indicatif::ProgressBar::new_spinner().with_message(format!("loading {}", path.display()));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let ds = crate::data::load_dataset(path, opts);
    spinner.finish_and_clear();
    let ds = ds?;
    eprintln!(
        "{}: {} items ({} train, {} test), {}{}{}",
        ds.name,
        ds.len(),
        ds.train.len,
        ds.test.len,
        ds.modality.describe(),
        if ds.has_labels() { format!(", {} classes", ds.class_names.len()) } else { ", no labels".into() },
        if ds.is_streamed() { ", streamed from disk (items are read as they are used)" } else { "" }
    );
    for note in &ds.notes {
        eprintln!("note: {note}");
    }
    Ok(ds)
}

/// Runs a CLI command; the error is printed by `main` as one line.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Train(a) => train::run(a),
        Command::Embed(a) => embed::embed(a),
        Command::Curate(a) => curate::curate(a),
        Command::Select(a) => select::run(a),
        Command::ExportWeights(a) => embed::export_weights(a),
        Command::ExportTorch(a) => export_torch::run(a),
        Command::Eval(a) => inspect::eval(a),
        Command::Compare(a) => compare::run(a),
        Command::Baseline(a) => inspect::baseline(a),
        Command::Neighbors(a) => inspect::neighbors(a),
        Command::Scores(a) => scores::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Bench(BenchCommand::Train(a)) => {
            use crate::bench::train::{BenchModel, TrainBenchOptions};
            let mut opts = TrainBenchOptions { steps: a.steps, batch_size: a.batch, ..Default::default() };
            if let Some(models) = &a.models {
                opts.models = BenchModel::all_known().filter(|m| models.split(',').any(|k| k.trim() == m.key())).collect();
                if opts.models.is_empty() {
                    anyhow::bail!("no known model in '{models}'");
                }
            }
            if a.objectives {
                opts.models.extend(BenchModel::objective_rows());
            }
            if a.no_peers {
                opts.peers = None;
            }
            println!("{}", crate::bench::train::run(&opts)?);
            Ok(())
        }
        Command::Bench(BenchCommand::App(a)) => {
            use crate::app::settings::Projection;
            let projection = match a.projection.to_ascii_lowercase().as_str() {
                "pca" => Projection::Pca,
                "umap" => Projection::Umap,
                "tsne" | "t-sne" => Projection::Tsne,
                other => anyhow::bail!("unknown projection '{other}' (expected pca, umap or tsne)"),
            };
            let path = a.data.data.clone().unwrap_or_else(crate::data::load::sample_data_dir);
            let opts = crate::bench::app::AppBenchOptions {
                steps: a.steps,
                batch_size: a.batch,
                eval_every: a.eval_every,
                map_items: a.map_items,
                projection,
                ..Default::default()
            };
            print!("{}", crate::bench::app::run(&path, || a.data.load(0).map_err(|e| crate::PretextError::BadData(e.to_string())), &opts)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Stream(a)) => {
            print!("{}", crate::bench::stream::run(&a)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Map(a)) => {
            print!("{}", crate::bench::map::run(&a));
            Ok(())
        }
        Command::Bench(BenchCommand::Quality(a)) => {
            print!("{}", crate::bench::quality::run(&a)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Analysis(a)) => {
            // The benchmark prints its tables as it goes.
            crate::bench::analysis::run(&a.into())?;
            Ok(())
        }
    }
}
