//! `pretext scores`: data-quality scores for every item of a saved run's dataset, one CSV row
//! per item.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::analysis::scores::{item_scores_of_graph, neighbour_graph, ScoreParams};
use crate::analysis::{kmeans, pca, quality};
use crate::ssl::run;

#[derive(Args, Debug)]
pub struct ScoresArgs {
    /// Run folder written by `pretext train` or the app.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset of the run (default: the path recorded in the run).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Write the scores to this CSV file (default: standard output).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Neighbours per item for every score.
    #[arg(short = 'k', long, default_value_t = 10)]
    pub k: usize,
    /// Items closer than this cosine distance (1 - cos) form near-duplicate groups.
    #[arg(long, default_value_t = 0.01)]
    pub duplicate_distance: f32,
}

pub fn run(args: ScoresArgs) -> anyhow::Result<()> {
    let saved = run::load(&args.run)?;
    let ds = super::inspect::run_dataset(&saved.config, args.data.clone())?;
    let started = Instant::now();
    let embeddings = run::embed_all(&args.run, &ds)?;
    let embedded = started.elapsed();
    let labels: Option<Vec<u32>> = (0..ds.len()).map(|i| ds.global_label(i)).collect();
    let k = ds.class_names.len().max(2).min(embeddings.rows);
    let clusters = kmeans::fit(&embeddings.l2_normalized(), k, saved.config.train.seed)?;
    let params = ScoreParams { k: args.k, duplicate_distance: args.duplicate_distance };
    // One k-NN search of the embedding serves every score and the map disagreement.
    let graph = neighbour_graph(&embeddings, args.k)?;
    let scores = item_scores_of_graph(&graph, &embeddings, labels.as_deref(), Some(&clusters), &params);
    // The map a user sees first: PCA of the embedding (the app's default projection).
    let layout = pca::project(&embeddings, 2)?;
    let disagreement = quality::neighbor_disagreement_of_graph(&graph, &layout, args.k)?;
    eprintln!(
        "{} items: embedded in {:.1} s, scored in {:.1} s; {} near-duplicate groups",
        ds.len(),
        embedded.as_secs_f64(),
        (started.elapsed() - embedded).as_secs_f64(),
        scores.duplicate_group.iter().flatten().max().map_or(0, |g| g + 1)
    );
    let mut out: Box<dyn Write> = match &args.csv {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let fmt = |v: Option<f32>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    writeln!(out, "item,label,uniqueness,duplicate_group,label_error,representativeness,map_disagreement")?;
    for i in 0..ds.len() {
        writeln!(
            out,
            "{i},{},{:.6},{},{},{},{:.6}",
            ds.global_label(i).map(|l| csv_field(ds.class_name(l))).unwrap_or_default(),
            scores.uniqueness[i],
            scores.duplicate_group[i].map(|g| g.to_string()).unwrap_or_default(),
            fmt(scores.label_error.as_ref().map(|v| v[i])),
            fmt(scores.representativeness.as_ref().map(|v| v[i])),
            disagreement[i],
        )?;
    }
    out.flush()?;
    Ok(())
}

/// A class name as one CSV field (quoted when it holds a comma, quote or line break).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
