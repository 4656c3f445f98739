//! CSV tables: numeric columns are features, one column (named by the user, or called
//! label/class/target) holds the label, and one named by the user may hold each row's id
//! (never a feature). Features are standardised with train statistics.

use std::collections::BTreeSet;
use std::path::Path;

use crate::data::{Dataset, Modality, Split};
use crate::error::{PretextError, Result};

pub(crate) const LABEL_NAMES: [&str; 3] = ["label", "class", "target"];

pub fn load_csv(path: &Path, label_column: Option<&str>, id_column: Option<&str>, test_fraction: f32, seed: u64) -> Result<Dataset> {
    let bad = |reason: String| PretextError::bad_file(path, reason);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| bad(format!("cannot open CSV ({e})")))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| bad(format!("cannot read the header row ({e})")))?
        .iter()
        .map(str::to_string)
        .collect();
    let label_idx = match label_column {
        Some(name) => Some(column_index(path, &headers, name)?),
        None => default_label_index(&headers),
    };
    let id_idx = id_column.map(|name| column_index(path, &headers, name)).transpose()?;
    if id_idx.is_some() && id_idx == label_idx {
        return Err(bad(format!("column '{}' cannot be both the label and the id", id_column.unwrap_or_default())));
    }
    let columns: Vec<String> =
        headers.iter().enumerate().filter(|(i, _)| Some(*i) != label_idx && Some(*i) != id_idx).map(|(_, h)| h.clone()).collect();
    if columns.is_empty() {
        return Err(bad("no feature columns besides the label and the id".into()));
    }
    let mut x = Vec::new();
    let mut raw_labels = Vec::new();
    let mut ids = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let row = row + 1; // 1-based data row, as a spreadsheet shows it below the header
        let record = record.map_err(|e| bad(format!("row {row}: {e}")))?;
        if record.len() != headers.len() {
            return Err(bad(format!("row {row} has {} fields, the header has {}", record.len(), headers.len())));
        }
        for (col, field) in record.iter().enumerate() {
            if Some(col) == label_idx {
                raw_labels.push(field.to_string());
                continue;
            }
            if Some(col) == id_idx {
                ids.push(field.to_string());
                continue;
            }
            let value: f32 = field.parse().map_err(|_| {
                bad(format!("row {row}, column '{}': '{field}' is not a number", headers[col]))
            })?;
            if !value.is_finite() {
                return Err(bad(format!("row {row}, column '{}': value is {field} (NaN or infinite)", headers[col])));
            }
            x.push(value);
        }
    }
    let n = x.len() / columns.len();
    if n < 2 {
        return Err(bad(format!("{n} data row(s); at least 2 are needed")));
    }
    let (labels, class_names) = match label_idx {
        Some(_) => {
            let (labels, names) = encode_labels(&raw_labels);
            (Some(labels), names)
        }
        None => (None, Vec::new()),
    };
    let modality = Modality::Table { columns };
    let mut pool = Split::new(x, labels, modality.item_len());
    pool.rows = (0..n).collect();
    pool.ids = ids;
    let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "table".into());
    let mut ds = Dataset::from_pool(name, path.display().to_string(), modality, class_names, pool, test_fraction, seed);
    standardise(&mut ds);
    if let Some(note) = repeated_ids(&pool_ids(&ds)) {
        ds.notes.push(note);
    }
    Ok(ds)
}

/// Every item's id, train then test.
fn pool_ids(ds: &Dataset) -> Vec<&str> {
    ds.train.ids.iter().chain(&ds.test.ids).map(String::as_str).collect()
}

/// A note when ids repeat: an id then names the first of its rows.
pub(crate) fn repeated_ids(ids: &[&str]) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    let repeated: Vec<&str> = ids.iter().copied().filter(|id| !seen.insert(*id)).collect();
    let first = repeated.first()?;
    Some(format!("{} row(s) repeat an id that an earlier row has (e.g. '{first}'); --item id:... finds the first", repeated.len()))
}

/// Position of the column called `name`, or an error naming the file and listing the columns.
pub(crate) fn column_index(path: &Path, headers: &[String], name: &str) -> Result<usize> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        PretextError::bad_file(path, format!("no column named '{name}' (columns: {})", headers.join(", ")))
    })
}

/// The label column when the user named none: one called label/class/target, if any.
pub(crate) fn default_label_index(headers: &[String]) -> Option<usize> {
    headers.iter().position(|h| LABEL_NAMES.contains(&h.to_ascii_lowercase().as_str()))
}

/// Labels as class indices; class names sorted (numerically when all labels are numbers).
pub(crate) fn encode_labels(raw: &[String]) -> (Vec<u32>, Vec<String>) {
    let mut names: Vec<String> = raw.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    if names.iter().all(|n| n.parse::<f64>().is_ok()) {
        names.sort_by(|a, b| a.parse::<f64>().unwrap_or(0.0).total_cmp(&b.parse::<f64>().unwrap_or(0.0)));
    }
    let labels = raw.iter().map(|r| names.iter().position(|n| n == r).unwrap_or(0) as u32).collect();
    (labels, names)
}

/// Zero mean, unit variance per column, with statistics of the train split only (so the test
/// split is treated as unseen data). Constant columns are centred, not scaled.
pub fn standardise(ds: &mut Dataset) {
    let d = ds.item_len();
    let mut sum = vec![0f64; d];
    let mut sq = vec![0f64; d];
    for row in ds.train.x.chunks(d) {
        add_moments(row, &mut sum, &mut sq);
    }
    let stats = mean_std(&sum, &sq, ds.train.len);
    for split in [&mut ds.train, &mut ds.test] {
        for row in split.x.chunks_mut(d) {
            for (v, &(m, s)) in row.iter_mut().zip(&stats) {
                *v = (*v - m) / s;
            }
        }
    }
}

/// Adds a row to per-column sums and sums of squares.
pub(crate) fn add_moments(row: &[f32], sum: &mut [f64], sq: &mut [f64]) {
    for ((&v, s), q) in row.iter().zip(sum.iter_mut()).zip(sq.iter_mut()) {
        *s += v as f64;
        *q += (v as f64) * (v as f64);
    }
}

/// Per-column (mean, std) from sums and sums of squares over `n` rows; a constant column
/// keeps std 1 (centred, not scaled).
pub(crate) fn mean_std(sum: &[f64], sq: &[f64], n: usize) -> Vec<(f32, f32)> {
    let n = n.max(1) as f64;
    sum.iter()
        .zip(sq)
        .map(|(&s, &q)| {
            let m = s / n;
            let var = (q / n - m * m).max(0.0);
            let std = if var > 1e-12 { var.sqrt() } else { 1.0 };
            (m as f32, std as f32)
        })
        .collect()
}
