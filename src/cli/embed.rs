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
    /// Run folder to write; `pretext --run` opens it in the app.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub device: crate::cli::DeviceArgs,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn embed(args: EmbedArgs) -> anyhow::Result<()> {
    let ds = args.data.load(args.split_seed)?;
    let mut cfg = TrainConfig { seed: args.seed, map_items: args.map_items, device: args.device.device, ..TrainConfig::for_modality(&ds.modality) };
    args.encoder.apply(&mut cfg);
    cfg.init = args.init.clone();
    eprintln!("embedding {} items with {} on {}...", ds.len(), cfg.encoder.label(), cfg.device);
    let done = crate::ssl::embed_run::embed_to_run(&ds, &cfg, &args.out)?;
    match (&done.loaded, &args.init) {
        (Some(report), Some(init)) => {
            let prefix = if report.prefix.is_empty() { String::new() } else { format!(" under '{}'", report.prefix) };
            eprintln!("started from {} tensors{prefix} of {} ({} others left out)", report.loaded, init.display(), report.ignored);
        }
        _ => eprintln!("no --init: embedded with seeded random weights (seed {})", cfg.seed),
    }
    crate::cli::inspect::print_evaluation(&done.evaluation, 0.0, args.json);
    eprintln!("run written to {} (every item's embedding in {})", args.out.display(), args.out.join(crate::ssl::embed_run::ALL_EMBEDDINGS).display());
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
