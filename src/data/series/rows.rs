//! Series as rows of text: the classic UCR `.tsv` (label first, then the values, tab
//! separated; shorter series padded with NaN at the end), CSV with one series per row
//! (`--series`), and a file holding one series for query by file.

use std::path::Path;

use crate::data::csv_table::LABEL_NAMES;
use crate::data::series::{parse_values, RawFile, RawSeries};
use crate::error::{PretextError, Result};

/// UCR `.tsv` (or comma-separated `.txt`, the archive's older layout): label, then values.
pub fn parse_ucr(path: &Path, text: &str) -> Result<RawFile> {
    let mut series = Vec::new();
    let mut width: Option<(usize, usize)> = None; // (fields per row, line it was seen on)
    for (i, raw_line) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw_line.trim();
        if t.is_empty() {
            continue;
        }
        let bad = |reason: String| PretextError::bad_file(path, format!("line {line}: {reason}"));
        let sep = if t.contains('\t') { '\t' } else { ',' };
        let fields: Vec<&str> = t.split(sep).collect();
        if fields.len() < 2 {
            return Err(bad("expected a label then the series' values".into()));
        }
        match width {
            Some((w, first)) if w != fields.len() => {
                return Err(bad(format!("{} fields, line {first} has {w} (shorter series are padded with NaN in this format)", fields.len())))
            }
            None => width = Some((fields.len(), line)),
            _ => {}
        }
        let label = fields[0].trim().to_string();
        let values = parse_values(fields[1..].iter().copied(), |e| bad(e))?;
        series.push(RawSeries { channels: vec![values], label: Some(label) });
    }
    if series.is_empty() {
        return Err(PretextError::bad_file(path, "no series in the file"));
    }
    Ok(RawFile { series, classes: None, notes: Vec::new() })
}

/// CSV with one univariate series per row. A first row that is not all numbers is a header;
/// the label column is `label_column` (a header name or a 0-based column number), else a
/// column named label/class/target when there is a header, else none.
pub fn parse_csv(path: &Path, label_column: Option<&str>) -> Result<RawFile> {
    let bad = |reason: String| PretextError::bad_file(path, reason);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| bad(format!("cannot open CSV ({e})")))?;
    let mut records = Vec::new();
    for (i, r) in reader.records().enumerate() {
        let r = r.map_err(|e| bad(format!("line {}: {e}", i + 1)))?;
        if r.iter().all(str::is_empty) {
            continue;
        }
        records.push((i + 1, r));
    }
    let Some((_, first)) = records.first() else { return Err(bad("no rows in the file".into())) };
    let by_number = label_column.and_then(|c| c.parse::<usize>().ok());
    let numeric = |f: &str| f.parse::<f64>().is_ok() || f.is_empty() || f == "?" || f.eq_ignore_ascii_case("nan");
    let has_header = first.iter().enumerate().any(|(j, f)| Some(j) != by_number && !numeric(f));
    let header: Vec<String> = if has_header { first.iter().map(str::to_string).collect() } else { Vec::new() };
    let label_idx = match (label_column, by_number) {
        (_, Some(j)) => Some(j),
        (Some(name), None) => Some(header.iter().position(|h| h == name).ok_or_else(|| {
            if has_header {
                bad(format!("no column named '{name}' (columns: {})", header.join(", ")))
            } else {
                bad(format!("no header row, so '{name}' names no column; give the label column's 0-based number"))
            }
        })?),
        (None, None) => header.iter().position(|h| LABEL_NAMES.contains(&h.to_ascii_lowercase().as_str())),
    };
    let width = first.len();
    if label_idx.is_some_and(|j| j >= width) {
        return Err(bad(format!("label column {} is past the last column ({width} columns)", label_idx.unwrap_or(0))));
    }
    let mut series = Vec::new();
    for (line, r) in records.iter().skip(usize::from(has_header)) {
        let rbad = |reason: String| bad(format!("line {line}: {reason}"));
        if r.len() != width {
            return Err(rbad(format!("{} fields, the first row has {width} (pad shorter series with empty fields or NaN)", r.len())));
        }
        let label = label_idx.map(|j| r[j].to_string());
        let values = parse_values(r.iter().enumerate().filter(|(j, _)| Some(*j) != label_idx).map(|(_, f)| f), rbad)?;
        series.push(RawSeries { channels: vec![values], label });
    }
    if series.is_empty() {
        return Err(bad("a header but no series".into()));
    }
    Ok(RawFile { series, classes: None, notes: Vec::new() })
}

/// One series from a small text file (query by file): one line per channel, values separated
/// by commas, tabs or spaces; or a single column of values for a univariate series. A first
/// line that is not numeric is a header and skipped.
pub fn parse_single(path: &Path, text: &str, channels: usize) -> Result<Vec<Vec<f32>>> {
    let split = |l: &str| -> Vec<String> {
        l.split(|c: char| c == ',' || c == '\t' || c.is_whitespace()).filter(|f| !f.is_empty()).map(str::to_string).collect()
    };
    let mut lines: Vec<(usize, Vec<String>)> =
        text.lines().enumerate().map(|(i, l)| (i + 1, split(l.trim()))).filter(|(_, f)| !f.is_empty()).collect();
    if lines.first().is_some_and(|(_, f)| f.iter().any(|v| v.parse::<f64>().is_err() && v != "?" && !v.eq_ignore_ascii_case("nan"))) {
        lines.remove(0);
    }
    if lines.is_empty() {
        return Err(PretextError::bad_file(path, "no values in the file"));
    }
    // A single column of numbers is one univariate series written downwards.
    if channels == 1 && lines.len() > 1 && lines.iter().all(|(_, f)| f.len() == 1) {
        let (first_line, _) = lines[0];
        let column: Vec<String> = lines.into_iter().flat_map(|(_, f)| f).collect();
        lines = vec![(first_line, column)];
    }
    if lines.len() != channels {
        return Err(PretextError::bad_file(
            path,
            format!("{} rows of values; the dataset's series have {channels} channel(s), one row each", lines.len()),
        ));
    }
    lines
        .iter()
        .map(|(line, f)| {
            parse_values(f.iter().map(String::as_str), |e| PretextError::bad_file(path, format!("line {line}: {e}")))
        })
        .collect()
}
