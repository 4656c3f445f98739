//! `pretext probe`: linear probes on a saved run's frozen embeddings with a few labels — the
//! point of pretraining on everything and then learning the task from a handful of labels.

use std::path::PathBuf;

use clap::Args;

use crate::analysis::probe::{probe_budgets, LabelBudget, ProbeParams};

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// Run folder written by `pretext train` or the app. Without it, --data must be a table
    /// of embeddings made elsewhere (.parquet, .arrow/.feather), probed as they are.
    #[arg(long, required_unless_present = "data")]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub data: crate::cli::TableArgs,
    /// Train labels each probe may use, comma-separated: a share (1%, 10%, 100%, 0.05) or
    /// N-per-class (e.g. 5-per-class). The items are a seeded sample of the train split.
    #[arg(long, default_value = "1%,10%,100%")]
    pub labels: String,
    /// Seed of the sample of labelled items.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the results (with confusion matrices) as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ProbeArgs) -> anyhow::Result<()> {
    let budgets = args
        .labels
        .split(',')
        .map(|b| b.parse::<LabelBudget>().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let source = crate::cli::embedded::embedded(args.run.as_deref(), &args.data)?;
    let (ds, train, test) = (&source.ds, &source.train, &source.test);
    let (Some(train_labels), Some(test_labels)) = (&ds.train.labels, &ds.test.labels) else {
        anyhow::bail!("'{}' has no labels: a probe needs labels to learn from and to score", ds.name);
    };
    let params = ProbeParams { seed: args.seed, ..ProbeParams::default() };
    let results = probe_budgets(train, train_labels, test, test_labels, &budgets, &params)?;
    if args.json {
        let rows: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "labels": r.budget.to_string(),
                    "train_items": r.train_size,
                    "test_accuracy": r.test_accuracy,
                    "confusion": r.confusion,
                })
            })
            .collect();
        let out = serde_json::json!({ "classes": ds.class_names, "test_items": test.rows, "probes": rows });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("linear probe on frozen embeddings, accuracy on the {} test items", test.rows);
        for r in &results {
            println!("{:<14} {:>6} labelled items   accuracy {:.4}", r.budget.to_string(), r.train_size, r.test_accuracy);
        }
    }
    Ok(())
}
