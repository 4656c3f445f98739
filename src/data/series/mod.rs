//! Time series: the UCR/UEA archive's `.ts` and `.tsv` files (a `NAME_TRAIN` / `NAME_TEST`
//! pair is the archive's split), CSV with one series per row, and NPY arrays of N×T or N×C×T.
//!
//! Every channel of every series is z-normalised (zero mean, unit standard deviation; the UCR
//! archive's convention, under which its published 1-NN accuracies are measured). Series of
//! unequal length are resampled to the longest by linear interpolation, and the load says so.

mod rows;
mod ts;

use std::path::{Path, PathBuf};

use ndarray::Array3;
use ndarray_npy::ReadNpyExt;

use crate::data::{csv_table::encode_labels, npy, Dataset, LoadOptions, Modality, Split};
use crate::error::{PretextError, Result};

/// One series as read: values per channel (lengths may differ before equalising) and its label.
pub(crate) struct RawSeries {
    pub channels: Vec<Vec<f32>>,
    pub label: Option<String>,
}

/// One file's series, the classes its header declares (in order), and things to tell the user.
pub(crate) struct RawFile {
    pub series: Vec<RawSeries>,
    pub classes: Option<Vec<String>>,
    pub notes: Vec<String>,
}

/// File extensions that are always series.
pub fn is_series_file(path: &Path) -> bool {
    matches!(extension(path).as_str(), "ts" | "tsv")
}

fn extension(path: &Path) -> String {
    path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default()
}

/// Parses values of one channel. `?`, `NaN` and empty fields are missing: at the end they
/// mark a series shorter than its row (the archive pads variable-length series so) and are
/// dropped; inside a series they are an error.
pub(crate) fn parse_values<'a>(
    fields: impl Iterator<Item = &'a str>,
    bad: impl Fn(String) -> PretextError,
) -> Result<Vec<f32>> {
    let mut values: Vec<Option<f32>> = Vec::new();
    for (i, f) in fields.enumerate() {
        let f = f.trim();
        if f.is_empty() || f == "?" || f.eq_ignore_ascii_case("nan") {
            values.push(None);
            continue;
        }
        let v: f32 = f.parse().map_err(|_| bad(format!("value {}: '{f}' is not a number", i + 1)))?;
        if !v.is_finite() {
            return Err(bad(format!("value {}: '{f}' is infinite", i + 1)));
        }
        values.push(Some(v));
    }
    while values.last().is_some_and(Option::is_none) {
        values.pop();
    }
    if values.is_empty() {
        return Err(bad("empty series (no values)".into()));
    }
    match values.iter().position(Option::is_none) {
        Some(p) => Err(bad(format!(
            "missing value at position {} inside the series (only trailing missing values, which mark a shorter series, are accepted)",
            p + 1
        ))),
        None => Ok(values.into_iter().flatten().collect()),
    }
}

/// A file's text, or an error naming the line of the first byte that is not UTF-8.
fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| PretextError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        PretextError::bad_file(path, format!("line {line}: not UTF-8 text (byte {at} of the file)"))
    })
}

/// `NAME_TRAIN.ext` → (`NAME`, train file, test file), keeping the spelling's case.
fn archive_pair(path: &Path) -> Option<(String, PathBuf, PathBuf)> {
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    let ext = path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new(""));
    let upper = stem.to_ascii_uppercase();
    let (prefix, train_tag, test_tag) = if upper.ends_with("_TRAIN") {
        let tag = &stem[stem.len() - 6..];
        let test = if tag == "_TRAIN" { "_TEST" } else { "_test" };
        (&stem[..stem.len() - 6], tag.to_string(), test.to_string())
    } else if upper.ends_with("_TEST") {
        let tag = &stem[stem.len() - 5..];
        let train = if tag == "_TEST" { "_TRAIN" } else { "_train" };
        (&stem[..stem.len() - 5], train.to_string(), tag.to_string())
    } else {
        return None;
    };
    let file = |tag: &str| dir.join(format!("{prefix}{tag}.{ext}"));
    Some((prefix.to_string(), file(&train_tag), file(&test_tag)))
}

/// The archive file (`*_TRAIN` or `*_TEST`, `.ts` preferred over `.tsv`) in a folder, if the
/// folder holds one set; an error if it holds several (which one was meant is not clear).
pub fn archive_file_in(dir: &Path) -> Result<Option<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| PretextError::io(dir, e))?;
    let mut found: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_series_file(p))
        .filter_map(|p| archive_pair(&p).map(|(name, _, _)| (name, p)))
        .collect();
    // `.ts` sorts before `.tsv`: the richer format wins when both are there.
    found.sort_by(|a, b| (&a.0, extension(&a.1).len()).cmp(&(&b.0, extension(&b.1).len())));
    let mut names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    names.dedup();
    if names.len() > 1 {
        return Err(PretextError::bad_file(
            dir,
            format!("holds several archive sets ({}); open one of their files", names.join(", ")),
        ));
    }
    Ok(found.into_iter().next().map(|(_, p)| p))
}

/// Reads one file's series, choosing the parser from the extension.
fn read_raw(path: &Path, opts: &LoadOptions) -> Result<RawFile> {
    if !path.is_file() {
        return Err(PretextError::bad_file(path, "no such file"));
    }
    match extension(path).as_str() {
        "ts" => ts::parse(path, &read_text(path)?),
        "csv" => rows::parse_csv(path, opts.label_column.as_deref()),
        "npy" => read_npy(path, opts.labels_path.as_deref()),
        _ => rows::parse_ucr(path, &read_text(path)?),
    }
}

/// Opens a series file; an archive file (`NAME_TRAIN` / `NAME_TEST`) brings its sibling,
/// and the pair is the split. Any other file is split 80/20 (seeded).
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    if let Some((name, train_path, test_path)) = archive_pair(path) {
        for p in [&train_path, &test_path] {
            if !p.is_file() {
                let sibling = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                return Err(PretextError::bad_file(path, format!("its split's other half, {sibling}, is not beside it")));
            }
        }
        let train = read_raw(&train_path, opts)?;
        if let Some(p) = &opts.progress {
            p(0.5);
        }
        let test = read_raw(&test_path, opts)?;
        let source = path.parent().unwrap_or(Path::new(".")).display().to_string();
        return assemble(name, source, (&train_path, train), Some((&test_path, test)), opts);
    }
    let raw = read_raw(path, opts)?;
    let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "series".into());
    assemble(name, path.display().to_string(), (path, raw), None, opts)
}

/// Whether a `.npy` file holds a 3-D array (read from its header only).
pub fn npy_is_3d(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 256];
    let Ok(n) = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) else { return false };
    let text = String::from_utf8_lossy(&head[..n]);
    let Some(start) = text.find("'shape': (") else { return false };
    let dims = text[start + 10..].split(')').next().unwrap_or("");
    dims.split(',').filter(|d| !d.trim().is_empty()).count() == 3
}

/// An N×C×T float array (an N×T array is N series of one channel; a T array one series).
fn read_npy_array(path: &Path) -> Result<Array3<f32>> {
    let open = || crate::data::npy::open(path);
    let array = if let Ok(a) = Array3::<f32>::read_npy(open()?) {
        a
    } else if let Ok(a) = Array3::<f64>::read_npy(open()?) {
        a.mapv(|v| v as f32)
    } else if let Ok(m) = npy::read_matrix(path) {
        let (n, t) = m.dim();
        m.into_shape_with_order((n, 1, t)).map_err(|e| PretextError::bad_file(path, e.to_string()))?
    } else {
        let v = ndarray::Array1::<f32>::read_npy(open()?).map_err(|_| {
            PretextError::bad_file(path, "expected a float32/float64 .npy array of N×T or N×C×T series")
        })?;
        let t = v.len();
        v.into_shape_with_order((1, 1, t)).map_err(|e| PretextError::bad_file(path, e.to_string()))?
    };
    let (n, c, t) = array.dim();
    if n == 0 || c == 0 || t == 0 {
        return Err(PretextError::bad_file(path, format!("array is {n}×{c}×{t}; no series in it")));
    }
    if let Some((i, _)) = array.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(PretextError::bad_file(
            path,
            format!("series {}, channel {}, step {}: NaN or infinite value", i / (c * t), (i / t) % c, i % t),
        ));
    }
    Ok(array)
}

/// N×C×T (or N×T) series with labels beside them as for NPY features.
fn read_npy(path: &Path, labels: Option<&Path>) -> Result<RawFile> {
    let array = read_npy_array(path)?;
    let (labels, classes) = npy::labels_beside(path, labels, array.dim().0)?;
    let series = array
        .outer_iter()
        .enumerate()
        .map(|(i, s)| RawSeries {
            channels: s.outer_iter().map(|ch| ch.to_vec()).collect(),
            label: labels.as_ref().map(|l| l[i].to_string()),
        })
        .collect();
    Ok(RawFile { series, classes: labels.is_some().then_some(classes), notes: Vec::new() })
}

/// Checks the files agree, equalises lengths, z-normalises and builds the dataset.
fn assemble(
    name: String,
    source: String,
    (train_path, train): (&Path, RawFile),
    test: Option<(&Path, RawFile)>,
    opts: &LoadOptions,
) -> Result<Dataset> {
    let channels = train.series[0].channels.len();
    let labelled = train.series[0].label.is_some();
    let mut notes = train.notes.clone();
    let classes = train.classes.clone().or_else(|| test.as_ref().and_then(|(_, t)| t.classes.clone()));
    if let Some((test_path, t)) = &test {
        let tc = t.series[0].channels.len();
        if tc != channels {
            return Err(PretextError::bad_file(test_path, format!("series have {tc} channels, the train file's have {channels}")));
        }
        if t.series[0].label.is_some() != labelled {
            let (has, lacks) = if labelled { ("train", "test") } else { ("test", "train") };
            return Err(PretextError::bad_file(test_path, format!("the {has} file has labels and the {lacks} file has none")));
        }
        notes.extend(t.notes.iter().cloned());
    }
    for (path, file) in std::iter::once((train_path, &train)).chain(test.iter().map(|(p, f)| (*p, f))) {
        if let Some(i) = file.series.iter().position(|s| s.channels.len() != channels) {
            return Err(PretextError::bad_file(path, format!("series {} has {} channels, the first has {channels}", i + 1, file.series[i].channels.len())));
        }
    }
    let all: Vec<&RawSeries> = train.series.iter().chain(test.iter().flat_map(|(_, t)| &t.series)).collect();
    let lengths = all.iter().flat_map(|s| s.channels.iter().map(Vec::len));
    let (min_len, max_len) = lengths.fold((usize::MAX, 0), |(lo, hi), l| (lo.min(l), hi.max(l)));
    if min_len != max_len {
        let uneven = all.iter().filter(|s| s.channels.iter().any(|c| c.len() != max_len)).count();
        notes.push(format!(
            "{uneven} of {} series are shorter than the longest ({min_len}–{max_len} steps); each was resampled to {max_len} steps by linear interpolation",
            all.len()
        ));
    }
    // Labels: the header's classes in their order, else the labels seen, sorted.
    let raw_labels: Vec<String> = all.iter().filter_map(|s| s.label.clone()).collect();
    let (codes, class_names) = match (&classes, labelled) {
        (_, false) => (Vec::new(), Vec::new()),
        (Some(declared), true) => {
            let mut codes = Vec::with_capacity(raw_labels.len());
            for l in &raw_labels {
                match declared.iter().position(|c| c == l) {
                    Some(k) => codes.push(k as u32),
                    None => {
                        let path = test.as_ref().map_or(train_path, |(p, _)| *p);
                        return Err(PretextError::bad_file(path, format!("label '{l}' is not among the declared classes ({})", declared.join(" "))));
                    }
                }
            }
            (codes, declared.clone())
        }
        (None, true) => encode_labels(&raw_labels),
    };
    let modality = Modality::Series { channels, length: max_len };
    let paired = test.is_some();
    let to_split = |path: &Path, series: &[RawSeries], codes: &[u32]| {
        let mut x = Vec::with_capacity(series.len() * channels * max_len);
        for s in series {
            for c in &s.channels {
                let start = x.len();
                x.extend(resample(c, max_len));
                z_normalise(&mut x[start..]);
            }
        }
        let mut split = Split::new(x, labelled.then(|| codes.to_vec()), channels * max_len);
        split.sources = (0..series.len()).map(|n| series_source(path, paired, n)).collect();
        split
    };
    let n_train = train.series.len();
    let train_codes = if labelled { &codes[..n_train] } else { &codes[..] };
    let train_split = to_split(train_path, &train.series, train_codes);
    let mut ds = match &test {
        Some((test_path, t)) => {
            let test_codes = if labelled { &codes[n_train..] } else { &codes[..] };
            Dataset {
                name,
                source,
                modality,
                class_names,
                train: train_split,
                test: to_split(test_path, &t.series, test_codes),
                notes: Vec::new(),
                split_seed: None,
                columns: Default::default(),
            }
        }
        None => Dataset::from_pool(name, source, modality, class_names, train_split, opts.test_fraction, opts.seed),
    };
    if ds.train.len < 2 {
        return Err(PretextError::bad_file(train_path, format!("{} series for training; at least 2 are needed", ds.train.len)));
    }
    ds.notes = notes;
    Ok(ds)
}

/// Where series `n` (0-based, in file order) of `path` is: `series:N` of a `.ts`/`.tsv`
/// file, `row:N` of a CSV (below its header) or NPY array; a file of an archive pair names
/// itself first (`Coffee_TEST.ts:series:3`), as the pair's two files both count from 0.
fn series_source(path: &Path, paired: bool, n: usize) -> String {
    let place = match extension(path).as_str() {
        "csv" | "npy" => format!("row:{n}"),
        _ => format!("series:{n}"),
    };
    match path.file_name().filter(|_| paired) {
        Some(file) => format!("{}:{place}", file.to_string_lossy()),
        None => place,
    }
}

/// `values` stretched or shrunk to `len` points by linear interpolation (ends kept).
pub fn resample(values: &[f32], len: usize) -> Vec<f32> {
    let n = values.len();
    if n == len || n == 0 {
        return values.to_vec();
    }
    if n == 1 || len == 1 {
        return vec![values[0]; len];
    }
    let scale = (n - 1) as f32 / (len - 1) as f32;
    (0..len)
        .map(|i| {
            let p = i as f32 * scale;
            let lo = (p as usize).min(n - 2);
            let t = p - lo as f32;
            values[lo] * (1.0 - t) + values[lo + 1] * t
        })
        .collect()
}

/// Zero mean, unit standard deviation; a constant series is only centred.
pub fn z_normalise(values: &mut [f32]) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let scale = if var > 1e-12 { 1.0 / var.sqrt() } else { 1.0 };
    for v in values {
        *v = ((*v as f64 - mean) * scale) as f32;
    }
}

/// One series from a file (query by file) prepared as the dataset's items are: a text file
/// (one row per channel, or one column) or a `.npy` of T or C×T values, resampled to the
/// dataset's length and z-normalised per channel.
pub fn read_query(path: &Path, channels: usize, length: usize) -> Result<Vec<f32>> {
    let values: Vec<Vec<f32>> = if extension(path) == "npy" {
        let a = read_npy_array(path)?;
        match a.dim() {
            // A C×T array reads as C series of one channel: its rows are the channels.
            (n, 1, _) if n == channels && n > 1 => a.outer_iter().map(|s| s.iter().copied().collect()).collect(),
            (1, _, _) => a.outer_iter().flat_map(|s| s.outer_iter().map(|ch| ch.to_vec()).collect::<Vec<_>>()).collect(),
            (n, c, t) => return Err(PretextError::bad_file(path, format!("array is {n}×{c}×{t}; expected one series (T or C×T values)"))),
        }
    } else {
        rows::parse_single(path, &read_text(path)?, channels)?
    };
    if values.len() != channels {
        return Err(PretextError::bad_file(path, format!("{} channel(s); the dataset's series have {channels}", values.len())));
    }
    let mut out = Vec::with_capacity(channels * length);
    for c in &values {
        let start = out.len();
        out.extend(resample(c, length));
        z_normalise(&mut out[start..]);
    }
    Ok(out)
}
