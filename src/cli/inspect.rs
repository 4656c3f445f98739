//! `pretext eval`, `pretext baseline`, `pretext neighbors`: read-only looks at runs and data.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::cli::DataArgs;
use crate::data::Dataset;
use crate::ssl::run::{self, RunConfig, RunEvaluation};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Run folder written by `pretext train` or the app.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset of the run (default: the path recorded in the run).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Principal components for the PCA baseline.
    #[arg(long, default_value_t = 50)]
    pub pca_dim: usize,
    /// Seed of the train/test split for formats without their own split (and of the untrained encoder).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the accuracies as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct NeighborsArgs {
    /// Run folder written by `pretext train` or the app.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset index of the query item (train items first, then test items).
    #[arg(long)]
    pub item: usize,
    /// How many neighbours to list.
    #[arg(short = 'k', long, default_value_t = 10)]
    pub k: usize,
    /// Print the neighbours as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn print_evaluation(e: &RunEvaluation, throughput: f32, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(e).unwrap_or_default());
        return;
    }
    let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
    println!("step                {}", e.step);
    println!("embedding           {}-d, {} train + {} test items", e.embedding_dim, e.train_items, e.test_items);
    println!("kNN accuracy        {}  (weighted kNN, cosine, k=20, T=0.07; test vs train)", opt(e.knn_accuracy.map(f64::from)));
    println!("1-NN accuracy       {}  (cosine, k=1; test vs train)", opt(e.nn1_accuracy.map(f64::from)));
    println!("k-means NMI / ARI   {} / {}  (test split, k = classes)", opt(e.kmeans_nmi), opt(e.kmeans_ari));
    println!("k-means purity      {}", opt(e.kmeans_purity.map(f64::from)));
    println!("linear probe        {} (1 % of train labels) / {} (100 %)  (test split)", opt(e.probe_1pct), opt(e.probe_100pct));
    println!("effective rank      {:.1}", e.effective_rank);
    if throughput > 0.0 {
        println!("throughput          {throughput:.0} images/s (each view counted)");
    }
}

/// The dataset a run was trained on, read as it was for training (`data` overrides the
/// path recorded in the run).
pub fn run_dataset(config: &RunConfig, data: Option<PathBuf>) -> anyhow::Result<Dataset> {
    let path = data.unwrap_or_else(|| PathBuf::from(&config.dataset.source));
    super::load_with_spinner(&path, &config.load_options())
}

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let saved = run::load(&args.run)?;
    let ds = run_dataset(&saved.config, args.data.clone())?;
    let e = run::evaluate_run(&args.run, &ds)?;
    print_evaluation(&e, 0.0, args.json);
    Ok(())
}

pub fn baseline(args: BaselineArgs) -> anyhow::Result<()> {
    let ds = args.data.load(args.seed)?;
    let mut r = crate::analysis::baseline::knn_baselines(&ds, args.pca_dim)?;
    let (dim, accuracy) = crate::ssl::untrained::knn_accuracy(&ds, args.seed)?;
    (r.untrained_dim, r.untrained_knn_accuracy) = (Some(dim), Some(accuracy));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("kNN accuracy (weighted, cosine, k=20, T=0.07), {} test vs {} train items", r.test_items, r.train_items);
        println!("{} ({}-d)   {:.4}  (1-NN: {:.4})", r.raw_features, r.raw_dim, r.raw_knn_accuracy, r.raw_nn1_accuracy);
        println!("PCA-{}              {:.4}  (PCA fit {:.1} s)", r.pca_dim, r.pca_knn_accuracy, r.pca_seconds);
        println!("untrained encoder ({dim}-d)  {accuracy:.4}  (default encoder, seed {})", args.seed);
    }
    Ok(())
}

pub fn neighbors(args: NeighborsArgs) -> anyhow::Result<()> {
    let saved = run::load(&args.run)?;
    let Some(row) = saved.indices.iter().position(|&i| i == args.item) else {
        let (lo, hi) = (saved.indices.first().copied().unwrap_or(0), saved.indices.last().copied().unwrap_or(0));
        bail!(
            "item {} is not among the {} items this run saved embeddings for (indices {lo}..={hi}; see indices.npy)",
            args.item,
            saved.indices.len()
        );
    };
    let found = crate::analysis::neighbors::neighbors_of(&saved.embeddings, row, args.k)?;
    let names = &saved.config.dataset.class_names;
    let label_of = |r: usize| -> String {
        saved.labels.as_ref().and_then(|l| l.get(r)).map_or("-".into(), |&l| names.get(l as usize).cloned().unwrap_or(l.to_string()))
    };
    if args.json {
        let rows: Vec<serde_json::Value> = found
            .iter()
            .map(|n| serde_json::json!({"item": saved.indices[n.index], "distance": n.distance(), "label": label_of(n.index)}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"query": args.item, "label": label_of(row), "neighbors": rows}))?);
        return Ok(());
    }
    println!("query item {} ({})", args.item, label_of(row));
    println!("{:>4}  {:>8}  {:>15}  label", "rank", "item", "cosine distance");
    for (rank, n) in found.iter().enumerate() {
        println!("{:>4}  {:>8}  {:>15.4}  {}", rank + 1, saved.indices[n.index], n.distance(), label_of(n.index));
    }
    Ok(())
}
