//! `pretext embed`: a run folder from an encoder's weights without training (a published
//! checkpoint explored on the user's data), and `pretext export-weights`: a run's encoder
//! written in its architecture's own names for PyTorch.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::cli::train::EncoderArgs;
use crate::cli::DataArgs;
use crate::ssl::encoder::SslModel;
use crate::ssl::run::RunProgress;
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

/// Embedding parquet written beside the run: every item, in dataset order.
pub const ALL_EMBEDDINGS: &str = "embeddings.parquet";

pub fn embed(args: EmbedArgs) -> anyhow::Result<()> {
    let ds = args.data.load(args.split_seed)?;
    let mut cfg = TrainConfig { seed: args.seed, map_items: args.map_items, device: args.device.device, ..TrainConfig::for_modality(&ds.modality) };
    args.encoder.apply(&mut cfg);
    cfg.init = args.init.clone();
    cfg.check()?;
    let (varmap, model) = SslModel::build(&ds.modality, &cfg)?;
    match &args.init {
        Some(init) => {
            let report = crate::ssl::checkpoint::load_encoder(&varmap, init)?;
            let prefix = if report.prefix.is_empty() { String::new() } else { format!(" under '{}'", report.prefix) };
            eprintln!("loaded {} tensors{prefix} from {} ({} others left out)", report.loaded, init.display(), report.ignored);
        }
        None => eprintln!("no --init: embedding with seeded random weights (seed {})", cfg.seed),
    }
    eprintln!("embedding {} items with {} on {}...", ds.len(), cfg.encoder.label(), cfg.device);
    let d = ds.item_len();
    let train = crate::ssl::evaluate::embed_split(&model, &ds.train, d)?;
    let test = crate::ssl::evaluate::embed_split(&model, &ds.test, d)?;
    let mut all = train.clone();
    all.data.extend_from_slice(&test.data);
    all.rows += test.rows;

    let indices = crate::ssl::trainer::map_subset(ds.len(), cfg.map_items, cfg.seed);
    let map = all.select_rows(&indices);
    let progress = RunProgress { train_seconds: Some(0.0), ..RunProgress::default() };
    crate::ssl::run::save(&args.out, &ds, &cfg, &progress, &varmap, &indices, &map)?;
    let index: Vec<usize> = (0..ds.len()).collect();
    let labels = ds.has_labels().then(|| index.iter().map(|&i| ds.global_label(i).map_or(String::new(), |l| ds.class_name(l).to_string())).collect());
    let meta = crate::export::RowMeta { index: &index, label: labels, cluster: None, tags: &[] };
    let parquet = args.out.join(ALL_EMBEDDINGS);
    crate::export::write_parquet(&parquet, &all, &meta, &Default::default())?;

    let eval = match crate::ssl::run::evaluation_is_sampled(&ds) {
        true => crate::ssl::run::evaluate_run(&args.out, &ds, cfg.device)?,
        false => crate::ssl::run::evaluate_embeddings(&ds, &train, &test, cfg.seed, 0)?,
    };
    crate::ssl::run::save_evaluation(&args.out, &eval)?;
    crate::cli::inspect::print_evaluation(&eval, 0.0, args.json);
    eprintln!("run written to {} (every item's embedding in {})", args.out.display(), parquet.display());
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
