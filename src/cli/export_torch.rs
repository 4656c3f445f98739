//! `pretext export-torch`: a run as a PyTorch Lightning project (see `export::torch_project`).

use std::path::PathBuf;

use clap::Args;

use crate::export::torch_project::{write_project, ProjectOptions, StartWeights};

#[derive(Args, Debug)]
pub struct ExportTorchArgs {
    /// A saved run (image or table data).
    pub run: PathBuf,
    /// The project folder to write (new, or empty; see --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Write into a folder that already holds files (the project's own files are replaced).
    #[arg(long)]
    pub force: bool,
    /// Start the project from the weights the run began with (its seeded initialisation, or
    /// its --init checkpoint) instead of its trained weights: the same recipe, retrained
    /// from the same start.
    #[arg(long)]
    pub from_start: bool,
}

pub fn run(args: ExportTorchArgs) -> anyhow::Result<()> {
    let start = if args.from_start { StartWeights::Initial } else { StartWeights::Trained };
    let summary = write_project(&args.run, &args.out, &ProjectOptions { overwrite: args.force, start })?;
    eprintln!("PyTorch Lightning project written to {} ({} files; the run was at step {})", summary.dir.display(), summary.files.len(), summary.run_step);
    if !summary.not_reproduced.is_empty() {
        eprintln!("not reproduced exactly (see its README): {}", summary.not_reproduced.iter().map(|s| s.split(':').next().unwrap_or(s)).collect::<Vec<_>>().join(", "));
    }
    eprintln!("next: cd {} && pip install -r requirements.txt && python train.py --help", summary.dir.display());
    Ok(())
}
