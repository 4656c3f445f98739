//! `pretext curate`: act on a selection outside pretext. The selection is a tag of a run, a
//! list of items (indices or sources), or a file of them (e.g. the sources `pretext scores`
//! ranks first); the actions write a list of sources, copies of the files, a new CSV or text
//! file without the items, or a new CSV with their labels changed and a corrections file.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::export::curate;

#[derive(Args, Debug)]
pub struct CurateArgs {
    /// Run folder: its dataset, and its tags for --tag.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// The dataset (default with --run: the one the run was trained on).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The items of this tag of the run (made in the window's tags panel).
    #[arg(long)]
    pub tag: Option<String>,
    /// Items by index or source, comma-separated: 12,cat/0042.jpg,row:7,line:3.
    #[arg(long)]
    pub items: Option<String>,
    /// A file naming one item per line (index or source; `#` starts a comment), such as the
    /// output of --list.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Write the selected items' sources here, one per line.
    #[arg(long)]
    pub list: Option<PathBuf>,
    /// Copy the selected items' files into this new folder, keeping their class folders.
    #[arg(long)]
    pub copy_to: Option<PathBuf>,
    /// With --copy-to: hard-link the files instead of copying them (copies across disks).
    #[arg(long)]
    pub link: bool,
    /// Write a new CSV (or text file) with every row (line) of the dataset's file but the
    /// selected ones.
    #[arg(long)]
    pub without: Option<PathBuf>,
    /// Set the selected rows' labels to this class in a new CSV (--relabelled), with the
    /// changes listed in --corrections.
    #[arg(long, requires = "relabelled")]
    pub relabel: Option<String>,
    /// The new CSV --relabel writes.
    #[arg(long, requires = "relabel")]
    pub relabelled: Option<PathBuf>,
    /// Where --relabel lists its changes as source,old_label,new_label (default: beside the
    /// new CSV, NAME-corrections.csv).
    #[arg(long)]
    pub corrections: Option<PathBuf>,
}

pub fn curate(args: CurateArgs) -> anyhow::Result<()> {
    let ds = match (&args.run, &args.data) {
        (Some(run), data) => super::inspect::run_dataset(&crate::ssl::run::load_config(run)?, data.clone())?,
        (None, Some(data)) => super::load_with_spinner(data, &crate::data::LoadOptions::default())?,
        (None, None) => bail!("name the data: --run RUN or --data PATH"),
    };
    let mut items = std::collections::BTreeSet::new();
    if let Some(tag) = &args.tag {
        let Some(run) = &args.run else { bail!("--tag reads the run's tags: give --run") };
        items.extend(curate::tag_items(run, tag)?);
    }
    if let Some(list) = &args.items {
        items.extend(curate::items_named(&ds, &[list.clone()])?);
    }
    if let Some(file) = &args.from {
        let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        items.extend(curate::items_named(&ds, &[text])?);
    }
    if items.is_empty() {
        bail!("no items selected: give --tag, --items or --from");
    }
    if args.list.is_none() && args.copy_to.is_none() && args.without.is_none() && args.relabel.is_none() {
        bail!("nothing to do: give --list, --copy-to, --without or --relabel");
    }
    if let Some(out) = &args.list {
        curate::write_source_list(&ds, &items, out)?;
        eprintln!("wrote the sources of {} items to {}", items.len(), out.display());
    }
    if let Some(out) = &args.copy_to {
        curate::copy_files(&ds, &items, out, args.link)?;
        eprintln!("{} {} files into {}", if args.link { "linked" } else { "copied" }, items.len(), out.display());
    }
    if let Some(out) = &args.without {
        let kept = curate::write_without(&ds, &items, out)?;
        eprintln!("wrote {} without the {} selected items ({kept} kept)", out.display(), items.len());
    }
    if let (Some(class), Some(out)) = (&args.relabel, &args.relabelled) {
        let corrections = args.corrections.clone().unwrap_or_else(|| {
            let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "labels".into());
            out.with_file_name(format!("{stem}-corrections.csv"))
        });
        let changed = curate::write_relabelled(&ds, &items, class, out, &corrections)?;
        eprintln!("wrote {} with {changed} labels set to '{class}'; the changes are in {}", out.display(), corrections.display());
    }
    Ok(())
}
