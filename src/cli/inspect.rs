//! `pretext eval`, `pretext baseline`, `pretext neighbors`: read-only looks at runs and data.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::cli::{DataArgs, TableArgs};
use crate::data::Dataset;
use crate::ssl::run::{self, RunConfig, RunEvaluation};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Run folder written by `pretext train` or the app. Without it, --data must be a table
    /// of embeddings made elsewhere (.parquet, .arrow/.feather), measured as they are.
    #[arg(long, required_unless_present = "data")]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub data: TableArgs,
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
    /// Run folder written by `pretext train` or the app. Without it, --data must be a table
    /// of embeddings made elsewhere (.parquet, .arrow/.feather), searched as they are.
    #[arg(long, required_unless_present = "data")]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub data: TableArgs,
    /// The query item: its dataset index (train items first, then test items), or its
    /// source: a file relative to the dataset root (`cat/0042.jpg`), `row:N` of a table
    /// (0-based, header excluded), `line:N` of a text file, `series:N` of a .ts/.tsv file, or
    /// `id:VALUE` for a table read with --id-column. For a table of embeddings (--data
    /// without --run), a number is its row in the table.
    #[arg(long)]
    pub item: String,
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
    let source = super::embedded::embedded(args.run.as_deref(), &args.data)?;
    let e = run::evaluate_embeddings(&source.ds, &source.train, &source.test, source.seed, source.step)?;
    print_evaluation(&e, 0.0, args.json);
    Ok(())
}

pub fn baseline(args: BaselineArgs) -> anyhow::Result<()> {
    let all = args.data.load(args.seed)?;
    // A streamed or very large dataset is measured on the sample its runs are evaluated on,
    // so the baseline compares like with like (and is never read whole into memory).
    let ds = crate::ssl::run::evaluation_items(&all);
    let mut r = crate::analysis::baseline::knn_baselines(&ds, args.pca_dim)?;
    // Embeddings made elsewhere have no encoder of ours to compare with untrained.
    let untrained = match ds.modality {
        crate::data::Modality::Embedding { .. } => None,
        crate::data::Modality::Image { .. } | crate::data::Modality::Table { .. } | crate::data::Modality::Series { .. } | crate::data::Modality::Text { .. } => {
            Some(crate::ssl::untrained::knn_accuracy(&ds, args.seed)?)
        }
    };
    (r.untrained_dim, r.untrained_knn_accuracy) = (untrained.map(|u| u.0), untrained.map(|u| u.1));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("kNN accuracy (weighted, cosine, k=20, T=0.07), {} test vs {} train items", r.test_items, r.train_items);
        println!("{} ({}-d)   {:.4}  (1-NN: {:.4})", r.raw_features, r.raw_dim, r.raw_knn_accuracy, r.raw_nn1_accuracy);
        println!("PCA-{}              {:.4}  (PCA fit {:.1} s)", r.pca_dim, r.pca_knn_accuracy, r.pca_seconds);
        if let Some((dim, accuracy)) = untrained {
            println!("untrained encoder ({dim}-d)  {accuracy:.4}  (default encoder, seed {})", args.seed);
        }
    }
    Ok(())
}

pub fn neighbors(args: NeighborsArgs) -> anyhow::Result<()> {
    let Some(run_dir) = &args.run else { return table_neighbors(&args) };
    let saved = run::load(run_dir)?;
    // The dataset names each item's source; a run whose data has moved still answers by index.
    let ds = match run_dataset(&saved.config, args.data.data.clone()) {
        Ok(ds) => Some(ds),
        Err(e) => {
            eprintln!("note: sources unavailable ({e:#}); items are shown by index");
            None
        }
    };
    let item = match (&ds, args.item.trim().parse::<usize>()) {
        (_, Ok(i)) => i,
        (Some(ds), Err(_)) => ds.find_item(&args.item).ok_or_else(|| anyhow::anyhow!("no item of {} has the {} '{}'", ds.name, what_names(&args.item), args.item))?,
        // Without the data, the sources saved with the run still name its rows.
        (None, Err(_)) => saved.find_saved(&args.item).ok_or_else(|| {
            anyhow::anyhow!("'{}' is not an item index nor the {} of an item this run saved, and the run's dataset could not be read to look further", args.item, what_names(&args.item))
        })?,
    };
    let Some(row) = saved.indices.iter().position(|&i| i == item) else {
        let (lo, hi) = (saved.indices.first().copied().unwrap_or(0), saved.indices.last().copied().unwrap_or(0));
        bail!("item {item} is not among the {} items this run saved embeddings for (indices {lo}..={hi}; see indices.npy)", saved.indices.len());
    };
    let found = crate::analysis::neighbors::neighbors_of(&saved.embeddings, row, args.k)?;
    let names = &saved.config.dataset.class_names;
    let label_of = |r: usize| -> String {
        saved.labels.as_ref().and_then(|l| l.get(r)).map_or("-".into(), |&l| names.get(l as usize).cloned().unwrap_or(l.to_string()))
    };
    let source_of = |i: usize| match &ds {
        Some(ds) => ds.item_source(i),
        None => saved.saved_source(i).unwrap_or("-").to_string(),
    };
    let id_of = |i: usize| match &ds {
        Some(ds) => ds.item_id(i).map(str::to_string),
        None => saved.saved_id(i).map(str::to_string),
    };
    let line = |i: usize, distance: f32, r: usize| Neighbor { item: i, source: source_of(i), id: id_of(i), distance, label: label_of(r) };
    let rows = found.iter().map(|n| line(saved.indices[n.index], n.distance(), n.index)).collect();
    let query = line(item, 0.0, row);
    print_neighbors(&args, &query, rows)
}

/// What `--item` names, for messages: an id or a source.
fn what_names(item: &str) -> &'static str {
    if item.trim().starts_with("id:") {
        "id"
    } else {
        "source"
    }
}

/// One line of `pretext neighbors`.
struct Neighbor {
    item: usize,
    source: String,
    /// The value of the item's id column, when the table was read with one.
    id: Option<String>,
    distance: f32,
    label: String,
}

/// The neighbours of the query as a table or JSON: item, source, cosine distance and label.
fn print_neighbors(args: &NeighborsArgs, query: &Neighbor, rows: Vec<Neighbor>) -> anyhow::Result<()> {
    // Items with ids get an `id` beside their source, in JSON and in the table.
    let with_id = |mut v: serde_json::Value, n: &Neighbor| {
        if let Some(id) = &n.id {
            v["id"] = serde_json::Value::String(id.clone());
        }
        v
    };
    if args.json {
        let rows: Vec<serde_json::Value> =
            rows.iter().map(|n| with_id(serde_json::json!({"item": n.item, "source": n.source, "distance": n.distance, "label": n.label}), n)).collect();
        let out = with_id(serde_json::json!({"query": query.item, "source": query.source, "label": query.label, "neighbors": rows}), query);
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let id_text = |n: &Neighbor| n.id.as_ref().map(|id| format!("  id {id}")).unwrap_or_default();
    println!("query item {} {}{} ({})", query.item, query.source, id_text(query), query.label);
    println!("{:>4}  {:>8}  {:>15}  {:<10}  source", "rank", "item", "cosine distance", "label");
    for (rank, n) in rows.iter().enumerate() {
        println!("{:>4}  {:>8}  {:>15.4}  {:<10}  {}{}", rank + 1, n.item, n.distance, n.label, n.source, id_text(n));
    }
    Ok(())
}

/// `neighbors --data TABLE`: the nearest rows of a table of embeddings, in its own space.
fn table_neighbors(args: &NeighborsArgs) -> anyhow::Result<()> {
    let (ds, all) = super::embedded::embedded(None, &args.data)?.into_all();
    let item = if args.item.trim().starts_with("id:") {
        ds.find_item(&args.item).ok_or_else(|| anyhow::anyhow!("no row of {} has the id '{}'", ds.name, args.item.trim().trim_start_matches("id:")))?
    } else {
        let row: usize = args.item.trim().strip_prefix("row:").unwrap_or(args.item.trim()).parse().map_err(|_| anyhow::anyhow!("--item on a table of embeddings is its row (a number or row:N) or id:VALUE, not '{}'", args.item))?;
        let Some(item) = ds.item_of_row(row) else {
            bail!("row {row} is outside the table ({} rows)", all.rows);
        };
        item
    };
    let found = crate::analysis::neighbors::neighbors_of(&all, item, args.k)?;
    let label_of = |i: usize| ds.global_label(i).map_or("-".to_string(), |l| ds.class_name(l).to_string());
    let row_of = |i: usize| ds.global_row(i).unwrap_or(i);
    let line = |i: usize, distance: f32| Neighbor { item: row_of(i), source: ds.item_source(i), id: ds.item_id(i).map(str::to_string), distance, label: label_of(i) };
    print_neighbors(args, &line(item, 0.0), found.iter().map(|n| line(n.index, n.distance())).collect())
}
