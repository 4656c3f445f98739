//! `pretext compare RUN_DIR...`: several runs side by side, one row each.
//!
//! Runs of different datasets (or of different train/test splits of one) are grouped: one
//! table per dataset, since their metrics are not comparable across datasets. A run without a current full-dataset evaluation is
//! measured (as `pretext eval` does) and the evaluation is saved beside it.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::ssl::run::{self, SavedRun};
use crate::ssl::summary::{text_table, RunSummary};

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Run folders written by `pretext train` or the app.
    #[arg(required = true, value_name = "RUN_DIR")]
    pub runs: Vec<PathBuf>,
    /// Print the rows as a JSON array.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the rows as CSV (one header line).
    #[arg(long)]
    pub csv: bool,
    /// Do not measure runs that lack a current evaluation.json; their metrics show as –.
    #[arg(long)]
    pub no_eval: bool,
    /// Where runs without a current evaluation are embedded.
    #[command(flatten)]
    pub device: crate::cli::DeviceArgs,
}

/// Runs of one dataset, in the order given.
struct Group {
    key: (String, String, usize, usize, Option<u64>),
    runs: Vec<SavedRun>,
}

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let mut groups: Vec<Group> = Vec::new();
    for dir in &args.runs {
        let saved = run::load(dir)?;
        let d = &saved.config.dataset;
        let key = (d.name.clone(), d.source.clone(), d.train_items, d.test_items, d.split_seed);
        match groups.iter_mut().find(|g| g.key == key) {
            Some(g) => g.runs.push(saved),
            None => groups.push(Group { key, runs: vec![saved] }),
        }
    }
    let mut tables: Vec<(String, Vec<RunSummary>)> = Vec::new();
    for group in &groups {
        tables.push((describe(group), summarise(group, args.no_eval, args.device.device)?));
    }
    let rows: Vec<&RunSummary> = tables.iter().flat_map(|(_, r)| r).collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if args.csv {
        let mut w = csv::Writer::from_writer(std::io::stdout());
        for r in rows {
            w.serialize(r)?;
        }
        w.flush()?;
    } else {
        for (i, (title, rows)) in tables.iter().enumerate() {
            if i > 0 {
                println!();
            }
            if tables.len() > 1 {
                println!("{title}");
            }
            println!("{}", text_table(rows));
        }
        println!("kNN: weighted 20-NN (cosine, T = 0.07), test vs train; probe: linear probe on 1 % / 100 % of the train labels; NMI/ARI: k-means on the test split; train min: wall-clock minutes of training.");
    }
    Ok(())
}

fn describe(group: &Group) -> String {
    let (name, source, train, test, split) = &group.key;
    let split = split.map_or(String::new(), |s| format!(", split seed {s}"));
    format!("dataset {name} ({source}, {train} train + {test} test items{split})")
}

/// Rows of one dataset's runs, measuring the runs whose evaluation is missing or stale.
fn summarise(group: &Group, no_eval: bool, device: crate::ssl::DeviceChoice) -> anyhow::Result<Vec<RunSummary>> {
    // One load per split seed: runs of one-pool data split it with their own seed.
    let mut datasets: std::collections::HashMap<u64, crate::data::Dataset> = Default::default();
    let mut rows = Vec::new();
    for saved in &group.runs {
        let current = run::load_evaluation(&saved.dir)?.filter(|e| e.is_current_for(&saved.config));
        let row = match current {
            Some(e) => RunSummary::new(saved, Some((&e, run::EvaluationSource::Saved))),
            None if no_eval => RunSummary::new(saved, None),
            None => {
                let seed = saved.config.split_seed();
                if !datasets.contains_key(&seed) {
                    let ds = super::inspect::run_dataset(&saved.config, None).with_context(|| format!("measuring {} needs its dataset", saved.dir.display()))?;
                    datasets.insert(seed, ds);
                }
                let ds = &datasets[&seed];
                eprintln!("{}: no current full-dataset evaluation; measuring it now (as `pretext eval` does)...", saved.dir.display());
                let (e, source) = run::current_evaluation(&saved.dir, ds, device).with_context(|| format!("measuring {}", saved.dir.display()))?;
                RunSummary::new(saved, Some((&e, source)))
            }
        };
        rows.push(row);
    }
    Ok(rows)
}
