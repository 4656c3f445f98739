//! `pretext embed`: a run folder from an encoder's weights without training (a published
//! checkpoint explored on the user's data), and `pretext export-weights`: a run's encoder
//! written in its architecture's own names for PyTorch.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::cli::train::EncoderArgs;
use crate::cli::DataArgs;
use crate::ssl::encoder::SslModel;
use crate::ssl::TrainConfig;

#[derive(Args, Debug)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub encoder: EncoderArgs,
    /// The encoder's weights (see `pretext train --init`); without it the encoder keeps its
    /// seeded random weights, an untrained reference.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Items the run's map shows (a seeded sample; every item is embedded and written to
    /// embeddings.parquet).
    #[arg(long, default_value_t = 10_000)]
    pub map_items: usize,
    /// Seed of the random weights (no --init) and of the map sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed of the train/test split of data without a split of its own.
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Run folder to write; `pretext --run` opens it in the app. With --run: a new folder
    /// for a copy of the run with the items added (default: add them to the run itself).
    #[arg(long, required_unless_present = "run")]
    pub out: Option<PathBuf>,
    /// Add --data's items to this run's map: embedded with its encoder, placed into its map
    /// (laid out and saved in the run the first time), written as the split "added".
    #[arg(long, requires = "data")]
    pub run: Option<PathBuf>,
    /// With --run: the map the items are placed into: pca (projected), umap or tsne (placed
    /// among their nearest items, then a few optimisation steps with the map held fixed).
    #[arg(long, default_value = "pca")]
    pub projection: String,
    #[command(flatten)]
    pub device: crate::cli::DeviceArgs,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn embed(args: EmbedArgs) -> anyhow::Result<()> {
    if let Some(run) = &args.run {
        return add_to_run(run, &args);
    }
    let Some(out) = &args.out else { anyhow::bail!("name the run folder to write: --out DIR") };
    let ds = args.data.load(args.split_seed)?;
    let mut cfg = TrainConfig { seed: args.seed, map_items: args.map_items, device: args.device.device, ..TrainConfig::for_modality(&ds.modality) };
    args.encoder.apply(&mut cfg);
    cfg.init = args.init.clone();
    eprintln!("embedding {} items with {} on {}...", ds.len(), cfg.encoder.label(), cfg.device);
    let done = crate::ssl::embed_run::embed_to_run(&ds, &cfg, out)?;
    match (&done.loaded, &args.init) {
        (Some(report), Some(init)) => {
            let prefix = if report.prefix.is_empty() { String::new() } else { format!(" under '{}'", report.prefix) };
            eprintln!("started from {} tensors{prefix} of {} ({} others left out)", report.loaded, init.display(), report.ignored);
        }
        _ => eprintln!("no --init: embedded with seeded random weights (seed {})", cfg.seed),
    }
    crate::cli::inspect::print_evaluation(&done.evaluation, 0.0, args.json);
    eprintln!("run written to {} (every item's embedding in {})", out.display(), out.join(crate::ssl::embed_run::ALL_EMBEDDINGS).display());
    Ok(())
}

/// `pretext embed --run R --data NEW`: NEW's items embedded with the run's encoder and
/// placed into its map, read with the run's settings (image size, text length, columns).
fn add_to_run(run: &std::path::Path, args: &EmbedArgs) -> anyhow::Result<()> {
    use crate::analysis::place::PlaceMethod;
    let Some(method) = PlaceMethod::parse(&args.projection) else {
        anyhow::bail!("unknown projection '{}' (expected pca, umap or tsne)", args.projection);
    };
    let Some(path) = &args.data.data else { anyhow::bail!("name the items to add: --data FILE_OR_FOLDER") };
    let config = crate::ssl::run::load_config(run)?;
    let mut opts = config.load_options();
    if args.data.label_column.is_some() {
        opts.label_column = args.data.label_column.clone();
    }
    if args.data.text_column.is_some() {
        opts.text_column = args.data.text_column.clone();
    }
    opts.skip_unreadable = !args.data.strict;
    let new = crate::cli::load_with_spinner(path, &opts)?;
    eprintln!("embedding {} items with the run's encoder ({}) and placing them on its {} map...", new.len(), config.train.encoder.label(), method.label());
    let report = crate::ssl::added::add_to_map(run, args.out.as_deref(), &new, &path.display().to_string(), method, args.device.device)?;
    if report.laid_out {
        eprintln!("laid out the run's map of its {} items by {} and saved it in {}", crate::ssl::run::load(&report.dir)?.indices.len(), method.label(), report.dir.display());
    }
    eprintln!(
        "added {} items to {} as the split \"{}\" ({} added items in all); for {:.0}% of them the nearest item on the map is one of their {} nearest in embedding space",
        report.added,
        report.dir.display(),
        crate::ssl::added::ADDED_SPLIT,
        report.total,
        100.0 * report.neighbour_agreement,
        crate::ssl::added::REPORT_NEIGHBOURS
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct ExportWeightsArgs {
    /// A saved run.
    pub run: PathBuf,
    /// The safetensors file to write.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn export_weights(args: ExportWeightsArgs) -> anyhow::Result<()> {
    let saved = crate::ssl::run::load_config(&args.run)?;
    let cfg = TrainConfig { device: crate::ssl::DeviceChoice::Cpu, ..saved.train.clone() };
    let (varmap, _) = SslModel::build(&saved.dataset.modality, &cfg)?;
    crate::ssl::run::load_weights(&varmap, &args.run)?;
    let batches = i64::try_from(saved.step).unwrap_or(i64::MAX);
    let n = crate::ssl::checkpoint::export_encoder(&varmap, batches, &args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("{n} tensors of the {} encoder written to {} ({})", cfg.encoder.label(), args.out.display(), cfg.encoder.origin_note());
    Ok(())
}
