//! Acting on the map's selection outside pretext (the window's side of `pretext curate`):
//! its sources as a list, copies of its files, a new CSV or text file without it, or a new
//! CSV with its labels changed and a corrections file. Everything is written into the export
//! folder under a new name, in the background.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::app::jobs::{JobKind, JobResult};
use crate::app::PretextApp;
use crate::export::curate;

/// What the selection panel asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum CurateCommand {
    /// `selection-sources.txt`: one source per line.
    ListSources,
    /// `selection-files/`: the selected files, in their class folders.
    CopyFiles,
    /// `NAME-without-selection.EXT`: the dataset's CSV or text file without the selection.
    WriteWithout,
    /// `NAME-relabelled.csv` with the selection's labels set to this class, and
    /// `NAME-relabelled-corrections.csv`.
    Relabel(String),
}

/// What a dataset's file lets the window write: files to copy (a folder), rows or lines to
/// leave out (a CSV or a text file), labels to change (a labelled CSV).
pub struct Possible {
    pub copy: bool,
    pub without: bool,
    pub relabel: bool,
}

pub fn possible(source: &str, has_labels: bool) -> Possible {
    let path = Path::new(source);
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    Possible { copy: path.is_dir(), without: ["csv", "txt", "tsv"].contains(&ext.as_str()), relabel: ext == "csv" && has_labels }
}

/// `base` with `-suffix` after its stem, in `dir`, keeping the extension.
fn beside(dir: &Path, source: &str, suffix: &str) -> PathBuf {
    let path = Path::new(source);
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "data".into());
    let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    dir.join(format!("{stem}-{suffix}{ext}"))
}

impl PretextApp {
    pub(crate) fn curate(&mut self, command: CurateCommand) {
        let Some(data) = &self.data else { return };
        let items: BTreeSet<usize> = self.selection.selected().into_iter().filter_map(|r| self.item_of_row(r)).collect();
        if items.is_empty() {
            return self.error("nothing selected");
        }
        let dir = PathBuf::from(self.settings.export_dir.trim());
        let ds = data.dataset.clone();
        self.shell.status = format!("writing {} selected items…", items.len());
        self.jobs.spawn(JobKind::Curate, move || {
            let n = items.len();
            let done = std::fs::create_dir_all(&dir).map_err(|e| crate::PretextError::io(&dir, e)).and_then(|_| match &command {
                CurateCommand::ListSources => {
                    let out = dir.join("selection-sources.txt");
                    curate::write_source_list(&ds, &items, &out).map(|_| format!("wrote the sources of {n} items to {}", out.display()))
                }
                CurateCommand::CopyFiles => {
                    let out = dir.join("selection-files");
                    curate::copy_files(&ds, &items, &out, false).map(|_| format!("copied {n} files into {}", out.display()))
                }
                CurateCommand::WriteWithout => {
                    let out = beside(&dir, &ds.source, "without-selection");
                    curate::write_without(&ds, &items, &out).map(|kept| format!("wrote {} ({kept} kept, {n} left out)", out.display()))
                }
                CurateCommand::Relabel(class) => {
                    let out = beside(&dir, &ds.source, "relabelled");
                    let corrections = beside(&dir, &ds.source, "relabelled-corrections");
                    curate::write_relabelled(&ds, &items, class, &out, &corrections)
                        .map(|changed| format!("wrote {} with {changed} labels set to '{class}' (changes in {})", out.display(), corrections.display()))
                }
            });
            JobResult::Done(done.map_err(|e| e.to_string()))
        });
    }
}
