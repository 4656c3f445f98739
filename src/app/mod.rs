//! The desktop app (being written on the `gui` branch).

use std::path::PathBuf;

pub fn run_gui(_data: Option<PathBuf>) -> anyhow::Result<()> {
    anyhow::bail!("the desktop app is not built yet; use a subcommand (pretext --help)")
}
