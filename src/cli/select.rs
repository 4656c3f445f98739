//! `pretext select`: a few diverse items to label, chosen in a run's embedding space (or a
//! table of embeddings made elsewhere) and written as their sources, one per line, a list
//! `pretext curate --from` reads.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use crate::analysis::coreset::{self, CoresetMethod, CoresetParams};
use crate::cli::TableArgs;

#[derive(Args, Debug)]
pub struct SelectArgs {
    /// Run folder written by `pretext train` or the app. Without it, --data must be a table
    /// of embeddings made elsewhere (.parquet, .arrow/.feather).
    #[arg(long, required_unless_present = "data")]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub data: TableArgs,
    /// How many items to select.
    #[arg(long)]
    pub coreset: usize,
    /// k-center: every item close to a selected one, outliers included (Sener & Savarese
    /// 2018). typical: the most typical item of each of N k-means clusters (TypiClust), best
    /// when only a handful of labels are affordable.
    #[arg(long, default_value = "k-center")]
    pub method: String,
    /// Seed of the first k-center pick and of k-means.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the sources here (a new file) instead of to standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: SelectArgs) -> anyhow::Result<()> {
    let Some(method) = CoresetMethod::parse(&args.method) else {
        bail!("unknown selection method '{}' (expected k-center or typical)", args.method);
    };
    let source = super::embedded::embedded(args.run.as_deref(), &args.data)?;
    let (ds, all) = source.into_all();
    CoresetParams { n: args.coreset, seed: args.seed }.check(all.rows)?;
    // Unit-length rows: distances rank as cosine similarity does, as in the neighbours list.
    let x = all.l2_normalized();
    eprintln!("selecting {} of {} items ({})...", args.coreset, x.rows, method.label());
    let picked = coreset::select(&x, method, CoresetParams { n: args.coreset, seed: args.seed })?;
    let mut text = format!(
        // No commas: `pretext curate --from` reads commas as separators, comments included.
        "# {} selection of {} of the {} items of {}: every item is within {:.4} of one (distance between unit-length embeddings)\n",
        method.label(),
        picked.picks.len(),
        x.rows,
        ds.name,
        picked.radius
    );
    for &i in &picked.picks {
        text.push_str(&ds.item_source(i));
        text.push('\n');
    }
    match &args.out {
        Some(out) => {
            if out.exists() {
                bail!("{}: exists already; pretext writes only new files: pick another name", out.display());
            }
            std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote the sources of {} items to {} (coverage radius {:.4})", picked.picks.len(), out.display(), picked.radius);
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(())
}
