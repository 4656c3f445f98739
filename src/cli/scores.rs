//! `pretext scores`: data-quality scores for every item of a saved run's dataset (or of a
//! table of embeddings made elsewhere), one CSV row per item, and optionally the embeddings
//! with their scores, clusters and map coordinates as one Parquet file.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::analysis::pca;
use crate::analysis::scores::{score_map, MapScoreSet, ScoreParams};
use crate::cli::embedded::embedded;
use crate::cli::TableArgs;
use crate::export::{write_parquet, ExtraColumns, RowMeta};

#[derive(Args, Debug)]
pub struct ScoresArgs {
    /// Run folder written by `pretext train` or the app. Without it, --data must be a table
    /// of embeddings made elsewhere (.parquet, .arrow/.feather), scored as they are.
    #[arg(long, required_unless_present = "data")]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub data: TableArgs,
    /// Write the scores to this CSV file (default: standard output).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Also write every item's embedding with its label, k-means cluster, PCA map x/y and
    /// scores to this Parquet file (for pandas, Embedding Atlas, or pretext itself).
    #[arg(long)]
    pub parquet: Option<PathBuf>,
    /// Neighbours per item for every score.
    #[arg(short = 'k', long, default_value_t = 10)]
    pub k: usize,
    /// Items closer than this cosine distance (1 - cos) form near-duplicate groups.
    #[arg(long, default_value_t = 0.01)]
    pub duplicate_distance: f32,
}

pub fn run(args: ScoresArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let source = embedded(args.run.as_deref(), &args.data)?;
    let seed = source.seed;
    let (ds, embeddings) = source.into_all();
    let embedded = started.elapsed();
    let labels: Option<Vec<u32>> = (0..ds.len()).map(|i| ds.global_label(i)).collect();
    let params = ScoreParams { k: args.k, duplicate_distance: args.duplicate_distance };
    // The map a user sees first: PCA of the embedding (the app's default projection).
    let layout = pca::project(&embeddings, 2)?;
    let MapScoreSet { scores, clusters, map_disagreement: disagreement, .. } = score_map(&embeddings, labels.as_deref(), ds.class_names.len(), &layout, &params, seed)?;
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
    // A table of embeddings made elsewhere: each item's row in that table, last.
    let has_rows = ds.has_table_rows();
    // A table read with an id column: each item's id, after its source.
    let has_ids = ds.has_ids();
    writeln!(out, "item,label,uniqueness,duplicate_group,label_error,representativeness,map_disagreement{},source{}", if has_rows { ",row" } else { "" }, if has_ids { ",id" } else { "" })?;
    for i in 0..ds.len() {
        writeln!(
            out,
            "{i},{},{:.6},{},{},{},{:.6}{},{}{}",
            ds.global_label(i).map(|l| csv_field(ds.class_name(l))).unwrap_or_default(),
            scores.uniqueness[i],
            scores.duplicate_group[i].map(|g| g.to_string()).unwrap_or_default(),
            fmt(scores.label_error.as_ref().map(|v| v[i])),
            fmt(scores.representativeness.as_ref().map(|v| v[i])),
            disagreement[i],
            if has_rows { ds.global_row(i).map(|r| format!(",{r}")).unwrap_or_default() } else { String::new() },
            csv_field(&ds.item_source(i)),
            ds.item_id(i).map(|id| format!(",{}", csv_field(id))).unwrap_or_default(),
        )?;
    }
    out.flush()?;
    if let Some(path) = &args.parquet {
        let index: Vec<usize> = (0..ds.len()).collect();
        let sources: Vec<String> = index.iter().map(|&i| ds.item_source(i)).collect();
        let meta = RowMeta {
            index: &index,
            label: ds.has_labels().then(|| index.iter().map(|&i| ds.global_label(i).map_or("?", |l| ds.class_name(l)).to_string()).collect()),
            cluster: Some(&clusters),
            tags: &[],
            source: Some(&sources),
        };
        let column = |v: &[f32]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        let mut floats = vec![("uniqueness".to_string(), column(&scores.uniqueness))];
        if let Some(v) = &scores.label_error {
            floats.push(("label_error".into(), column(v)));
        }
        if let Some(v) = &scores.representativeness {
            floats.push(("representativeness".into(), column(v)));
        }
        floats.push(("map_disagreement".into(), column(&disagreement)));
        let extra = ExtraColumns {
            ids: ds.ids_of(&index),
            rows: ds.has_table_rows().then(|| index.iter().map(|&i| ds.global_row(i).unwrap_or_default()).collect()),
            xy: Some(layout.data.chunks(2).map(|p| [p[0], p[1]]).collect()),
            texts: ds.global_text(0).is_some().then(|| index.iter().map(|&i| ds.global_text(i).unwrap_or_default().to_string()).collect()),
            floats,
            ints: vec![("duplicate_group".into(), scores.duplicate_group.iter().map(|g| g.map(|g| g as i64)).collect())],
        };
        write_parquet(path, &embeddings, &meta, &extra)?;
        eprintln!("wrote {}", path.display());
    }
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
