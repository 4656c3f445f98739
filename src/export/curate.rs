//! Acting on a selection outside pretext: the items a user picked on the map (or a tag, or a
//! list of sources from `pretext scores`) become a list of sources, copies of their files, a
//! new CSV or text file without them, or a new CSV with their labels changed and a
//! corrections file beside it (`source,old_label,new_label`, the shape cleanlab's and
//! FiftyOne's users pass around). The user's own files are never written: every output must
//! be a new path.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::data::Dataset;
use crate::error::{PretextError, Result};

/// The items a list names: dataset indices or sources (`Dataset::find_item`), one per line
/// or comma-separated; blank lines and `#` comments are skipped.
pub fn items_named(ds: &Dataset, names: &[String]) -> Result<BTreeSet<usize>> {
    let mut items = BTreeSet::new();
    for name in names.iter().flat_map(|n| n.split([',', '\n'])).map(str::trim).filter(|n| !n.is_empty() && !n.starts_with('#')) {
        let item = ds.find_item(name).ok_or_else(|| PretextError::BadData(format!("no item of {} is '{name}' (an index, or a source such as cat/0042.jpg, row:12, line:7)", ds.name)))?;
        items.insert(item);
    }
    Ok(items)
}

/// The items of the tag `name` in a run folder's `tags.json`.
pub fn tag_items(run: &Path, name: &str) -> Result<BTreeSet<usize>> {
    let path = run.join("tags.json");
    let text = std::fs::read_to_string(&path).map_err(|e| PretextError::bad_file(&path, format!("cannot read the run's tags: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| PretextError::bad_file(&path, format!("not a tags file: {e}")))?;
    let tags = value.get("list").and_then(|l| l.as_array()).cloned().unwrap_or_default();
    let names: Vec<&str> = tags.iter().filter_map(|t| t.get("name")?.as_str()).collect();
    let tag = tags.iter().find(|t| t.get("name").and_then(|n| n.as_str()) == Some(name)).ok_or_else(|| {
        PretextError::bad_file(&path, format!("no tag '{name}' (the run has {})", if names.is_empty() { "none".to_string() } else { names.join(", ") }))
    })?;
    let items = tag.get("items").and_then(|i| i.as_array()).cloned().unwrap_or_default();
    Ok(items.iter().filter_map(|i| i.as_u64()).map(|i| i as usize).collect())
}

/// Refuses a path that exists already (the user's data is never overwritten).
fn new_path(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(PretextError::bad_file(path, "exists already; pretext writes only new files: pick another name"));
    }
    Ok(())
}

/// The selected items' sources, one per line.
pub fn write_source_list(ds: &Dataset, items: &BTreeSet<usize>, out: &Path) -> Result<usize> {
    new_path(out)?;
    let text: String = items.iter().map(|&i| ds.item_source(i) + "\n").collect();
    std::fs::write(out, text).map_err(|e| PretextError::io(out, e))?;
    Ok(items.len())
}

/// Copies (or, with `link`, hard-links, falling back to a copy across file systems) the
/// selected items' files into `out`, keeping their paths below the dataset root (class
/// folders included), so the new folder opens as a dataset of the same kind.
pub fn copy_files(ds: &Dataset, items: &BTreeSet<usize>, out: &Path, link: bool) -> Result<usize> {
    let root = PathBuf::from(&ds.source);
    if !root.is_dir() {
        return Err(PretextError::BadData(format!(
            "{} is not a folder of files, so there are no files to copy; write the list of sources or a new CSV instead",
            ds.source
        )));
    }
    if out.exists() && std::fs::read_dir(out).map_err(|e| PretextError::io(out, e))?.next().is_some() {
        return Err(PretextError::bad_file(out, "is not empty; copy into a new folder"));
    }
    for &i in items {
        let source = ds.item_source(i);
        let from = root.join(&source);
        if !from.is_file() {
            return Err(PretextError::bad_file(&from, format!("item {i} names this file, and it is not there any more")));
        }
        let to = out.join(&source);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| PretextError::io(parent, e))?;
        }
        let linked = link && std::fs::hard_link(&from, &to).is_ok();
        if !linked {
            std::fs::copy(&from, &to).map_err(|e| PretextError::io(&to, e))?;
        }
    }
    Ok(items.len())
}

/// Rows (`row:N`) or lines (`line:N`) of the dataset's own file that the items are.
fn positions(ds: &Dataset, items: &BTreeSet<usize>, kind: &str) -> Result<BTreeSet<usize>> {
    items
        .iter()
        .map(|&i| {
            let source = ds.item_source(i);
            source.strip_prefix(kind).and_then(|n| n.parse().ok()).ok_or_else(|| {
                PretextError::BadData(format!("item {i} is {source}, not a {} of {}: a new file without items needs a CSV or a text file with one item per line", kind.trim_end_matches(':'), ds.source))
            })
        })
        .collect()
}

fn is_csv(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// A copy of the dataset's CSV (or one-item-per-line text file) without the selected rows
/// (lines); returns how many rows (lines) were kept.
pub fn write_without(ds: &Dataset, items: &BTreeSet<usize>, out: &Path) -> Result<usize> {
    new_path(out)?;
    let source = PathBuf::from(&ds.source);
    if is_csv(&source) {
        let drop = positions(ds, items, "row:")?;
        return rewrite_csv(&source, out, |row, record| (!drop.contains(&row)).then(|| record.clone()));
    }
    let drop = positions(ds, items, "line:")?;
    let bytes = std::fs::read(&source).map_err(|e| PretextError::io(&source, e))?;
    let mut kept = 0;
    let mut text = Vec::with_capacity(bytes.len());
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        if !drop.contains(&(i + 1)) {
            text.extend_from_slice(line);
            kept += usize::from(!line.iter().all(u8::is_ascii_whitespace));
        }
    }
    std::fs::write(out, text).map_err(|e| PretextError::io(out, e))?;
    Ok(kept)
}

/// A copy of the dataset's CSV with the selected rows' labels set to `class`, and the
/// corrections (`source,old_label,new_label`, one line per row whose label changed) in
/// `corrections`. Returns how many labels changed.
pub fn write_relabelled(ds: &Dataset, items: &BTreeSet<usize>, class: &str, out: &Path, corrections: &Path) -> Result<usize> {
    new_path(out)?;
    new_path(corrections)?;
    let source = PathBuf::from(&ds.source);
    if !is_csv(&source) {
        return Err(PretextError::BadData(format!("relabelling writes a new CSV, and {} is not one", ds.source)));
    }
    let rows = positions(ds, items, "row:")?;
    let label_at = label_column(ds, &source)?;
    let mut changes = Vec::new();
    rewrite_csv(&source, out, |row, record| {
        if !rows.contains(&row) {
            return Some(record.clone());
        }
        let old = String::from_utf8_lossy(record.get(label_at).unwrap_or_default()).into_owned();
        if old != class {
            changes.push((row, old));
        }
        let fields: Vec<&[u8]> = record.iter().enumerate().map(|(j, f)| if j == label_at { class.as_bytes() } else { f }).collect();
        Some(csv::ByteRecord::from(fields))
    })?;
    let mut w = csv::Writer::from_path(corrections).map_err(|e| PretextError::bad_file(corrections, e.to_string()))?;
    let bad = |e: csv::Error| PretextError::bad_file(corrections, e.to_string());
    w.write_record(["source", "old_label", "new_label"]).map_err(bad)?;
    for (row, old) in &changes {
        w.write_record([format!("row:{row}").as_str(), old, class]).map_err(bad)?;
    }
    w.flush().map_err(|e| PretextError::io(corrections, e))?;
    Ok(changes.len())
}

/// Where the label column of the dataset's CSV is: the one it was read with.
fn label_column(ds: &Dataset, path: &Path) -> Result<usize> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| PretextError::bad_file(path, e.to_string()))?;
    let headers: Vec<String> = reader.headers().map_err(|e| PretextError::bad_file(path, e.to_string()))?.iter().map(|h| h.trim().to_string()).collect();
    let found = match &ds.columns.label_column {
        Some(name) => headers.iter().position(|h| h == name),
        None => crate::data::csv_table::default_label_index(&headers),
    };
    found.ok_or_else(|| PretextError::bad_file(path, "has no label column to change (name one with --label-column when reading it)"))
}

/// Writes `out` from the CSV at `path`: the header as it is, then each data row (0-based)
/// as `keep` returns it (`None` leaves it out). Returns the rows written.
fn rewrite_csv(path: &Path, out: &Path, mut keep: impl FnMut(usize, &csv::ByteRecord) -> Option<csv::ByteRecord>) -> Result<usize> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|e| PretextError::bad_file(path, e.to_string()))?;
    let mut writer = csv::Writer::from_path(out).map_err(|e| PretextError::bad_file(out, e.to_string()))?;
    let bad_out = |e: csv::Error| PretextError::bad_file(out, e.to_string());
    writer.write_byte_record(reader.byte_headers().map_err(|e| PretextError::bad_file(path, e.to_string()))?).map_err(bad_out)?;
    let mut written = 0;
    for (row, record) in reader.byte_records().enumerate() {
        let record = record.map_err(|e| PretextError::bad_file(path, format!("row {row}: {e}")))?;
        if let Some(r) = keep(row, &record) {
            writer.write_byte_record(&r).map_err(bad_out)?;
            written += 1;
        }
    }
    writer.flush().map_err(|e| PretextError::io(out, e))?;
    Ok(written)
}
