//! Text datasets: a file with one item per line (optionally `label<TAB>text`), a CSV with a
//! text column, or a folder of `.txt` files in `root/<class>/`. Each item is stored as a
//! fixed-length row of byte codes (byte + 1; 0 pads the tail), the form the byte-level
//! encoder reads; the strings are kept beside them for display.
//!
//! Whitespace runs (newlines and tabs included) are collapsed to one space, so an item is one
//! line however it was written. Empty items are skipped and counted in `Dataset::notes`;
//! bytes that are not UTF-8 become `�` (U+FFFD), for the model as on screen, and are counted.

use std::path::Path;

use crate::data::csv_table::{column_index, default_label_index, encode_labels};
use crate::data::image_folder::list_by_class;
use crate::data::{Dataset, Modality, Split};
use crate::error::{PretextError, Result};

/// Code of the padding after a text's last byte.
pub const PAD: u32 = 0;
/// Code of a hidden position (span masking, the masked autoencoder's input).
pub const MASK: u32 = 257;
/// Number of codes: padding, the 256 byte values, the mask.
pub const VOCAB: usize = 258;
/// Longest item kept, in bytes, when the user sets no length: longer texts are cut.
pub const DEFAULT_MAX_LEN: usize = 256;

/// Extensions read as one-item-per-line text files.
const LINE_EXTENSIONS: [&str; 2] = ["txt", "tsv"];

pub fn is_text_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| LINE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn is_txt(path: &Path) -> bool {
    path.is_file() && path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

/// Whether a .tsv holds texts (`label<TAB>text` lines) rather than numbers (a UCR series
/// set): the first non-empty line decides; a file that cannot be read counts as texts, so
/// the text loader reports the problem.
pub fn is_text_tsv(path: &Path) -> bool {
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open(path) else { return true };
    let first = std::io::BufReader::new(file)
        .split(b'\n')
        .take(1000)
        .map_while(|l| l.ok())
        .find(|l| !l.iter().all(u8::is_ascii_whitespace));
    let Some(line) = first else { return true };
    let line = String::from_utf8_lossy(&line);
    let mut fields = line.trim_end().split('\t').skip(1).peekable();
    fields.peek().is_none() || !fields.all(|f| f.trim().parse::<f64>().is_ok())
}

/// A folder whose class sub-folders (or itself) hold `.txt` files and no images.
pub fn is_text_folder(root: &Path) -> bool {
    let has = |keep: fn(&Path) -> bool| list_by_class(root, keep).is_ok_and(|(files, _)| !files.is_empty());
    has(is_txt) && !has(crate::data::image_folder::is_image_file)
}

/// Writes the byte codes of `text` into `out`: byte + 1 for the first `out.len()` bytes, then
/// padding. A cut may split a multi-byte character; the model sees bytes, so that is harmless.
pub fn encode(text: &str, out: &mut [f32]) {
    encode_bytes(text.as_bytes(), out)
}

fn encode_bytes(bytes: &[u8], out: &mut [f32]) {
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = bytes.get(i).map_or(PAD as f32, |&b| b as f32 + 1.0);
    }
}

/// The text a row of codes spells (padding dropped, hidden positions shown as `_`): what an
/// augmented view looks like to the model.
pub fn decode(codes: &[f32]) -> String {
    let mut bytes = Vec::with_capacity(codes.len());
    for &c in codes {
        match c.round() as i64 {
            c if c == MASK as i64 => bytes.push(b'_'),
            c @ 1..=256 => bytes.push((c - 1) as u8),
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The text with every whitespace run made one space, and whether it was valid UTF-8.
fn clean(bytes: &[u8]) -> (String, bool) {
    let (text, valid) = match std::str::from_utf8(bytes) {
        Ok(s) => (std::borrow::Cow::Borrowed(s), true),
        Err(_) => (String::from_utf8_lossy(bytes), false),
    };
    (text.split_whitespace().collect::<Vec<_>>().join(" "), valid)
}

/// Items as they are read, before the split: what every text format produces.
#[derive(Default)]
struct Collected {
    texts: Vec<String>,
    /// Raw label per text (all `Some` or all `None`).
    labels: Vec<Option<String>>,
    /// Where each text came from (`Split::sources`).
    sources: Vec<String>,
    empty: usize,
    not_utf8: usize,
}

impl Collected {
    /// Adds one item unless its text is empty (then counted).
    fn push(&mut self, raw: &[u8], label: Option<String>, source: String) {
        let (text, valid) = clean(raw);
        if text.is_empty() {
            self.empty += 1;
            return;
        }
        if !valid {
            self.not_utf8 += 1;
        }
        self.texts.push(text);
        self.labels.push(label);
        self.sources.push(source);
    }

    fn into_dataset(self, path: &Path, name: String, max_len: Option<usize>, test_fraction: f32, seed: u64, what: &str) -> Result<Dataset> {
        let n = self.texts.len();
        if n < 2 {
            let skipped = if self.empty > 0 { format!(" ({} empty skipped)", self.empty) } else { String::new() };
            return Err(PretextError::bad_file(path, format!("{n} non-empty {what}{skipped}; at least 2 are needed")));
        }
        let max_len = match max_len {
            Some(0) => return Err(PretextError::InvalidConfig("text length must be at least 1 byte".into())),
            Some(l) => l,
            None => auto_max_len(&self.texts),
        };
        let modality = Modality::Text { max_len };
        let mut x = vec![0.0; n * max_len];
        for (row, text) in x.chunks_mut(max_len).zip(&self.texts) {
            encode(text, row);
        }
        let cut = self.texts.iter().filter(|t| t.len() > max_len).count();
        let (labels, class_names) = if self.labels.iter().all(Option::is_some) {
            let raw: Vec<String> = self.labels.into_iter().flatten().collect();
            let (labels, names) = encode_labels(&raw);
            (Some(labels), names)
        } else {
            (None, Vec::new())
        };
        let mut pool = Split::new(x, labels, max_len);
        pool.texts = self.texts;
        pool.sources = self.sources;
        let mut ds = Dataset::from_pool(name, path.display().to_string(), modality, class_names, pool, test_fraction, seed);
        if self.empty > 0 {
            ds.notes.push(format!("skipped {} empty {what}", self.empty));
        }
        if self.not_utf8 > 0 {
            ds.notes.push(format!("{} {what} are not valid UTF-8 (their bad bytes show as �)", self.not_utf8));
        }
        if cut > 0 {
            ds.notes.push(format!("{cut} {what} are longer than {max_len} bytes and were cut"));
        }
        Ok(ds)
    }
}

/// The longest text rounded up to 16 bytes, at most `DEFAULT_MAX_LEN`.
fn auto_max_len(texts: &[String]) -> usize {
    let longest = texts.iter().map(String::len).max().unwrap_or(1);
    (longest.div_ceil(16) * 16).clamp(16, DEFAULT_MAX_LEN)
}

fn stem(path: &Path, fallback: &str) -> String {
    path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| fallback.into())
}

/// One item per line. When the first non-empty line holds a tab, every line is
/// `label<TAB>text` (a line without a tab is an error; one with an empty label too).
pub fn load_lines(path: &Path, max_len: Option<usize>, test_fraction: f32, seed: u64) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| PretextError::io(path, e))?;
    if bytes.is_empty() {
        return Err(PretextError::bad_file(path, "the file is empty"));
    }
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    let is_blank = |l: &[u8]| l.iter().all(u8::is_ascii_whitespace);
    let labelled = lines.iter().find(|l| !is_blank(l)).is_some_and(|l| l.contains(&b'\t'));
    let mut items = Collected::default();
    for (i, line) in lines.iter().enumerate() {
        if is_blank(line) {
            // A final newline leaves one empty piece after it: not a skipped item.
            items.empty += usize::from(i + 1 < lines.len());
            continue;
        }
        if !labelled {
            items.push(line, None, format!("line:{}", i + 1));
            continue;
        }
        let Some(tab) = line.iter().position(|&b| b == b'\t') else {
            return Err(PretextError::bad_file(path, format!("line {}: no tab (expected label<TAB>text, as on the first line)", i + 1)));
        };
        let label = clean(&line[..tab]).0;
        if label.is_empty() {
            return Err(PretextError::bad_file(path, format!("line {}: empty label before the tab", i + 1)));
        }
        items.push(&line[tab + 1..], Some(label), format!("line:{}", i + 1));
    }
    items.into_dataset(path, stem(path, "texts"), max_len, test_fraction, seed, "lines")
}

/// A CSV with a text column; labels from `label_column`, else a column called
/// label/class/target, if any.
pub fn load_csv(
    path: &Path,
    text_column: &str,
    label_column: Option<&str>,
    max_len: Option<usize>,
    test_fraction: f32,
    seed: u64,
) -> Result<Dataset> {
    let bad = |reason: String| PretextError::bad_file(path, reason);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| bad(format!("cannot open CSV ({e})")))?;
    let headers: Vec<String> = reader
        .byte_headers()
        .map_err(|e| bad(format!("cannot read the header row ({e})")))?
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let text_idx = column_index(path, &headers, text_column)?;
    let label_idx = match label_column {
        Some(name) => Some(column_index(path, &headers, name)?),
        None => default_label_index(&headers).filter(|&i| i != text_idx),
    };
    let mut items = Collected::default();
    for (row, record) in reader.byte_records().enumerate() {
        let row = row + 1; // 1-based data row, as a spreadsheet shows it below the header
        let record = record.map_err(|e| bad(format!("row {row}: {e}")))?;
        if record.len() != headers.len() {
            return Err(bad(format!("row {row} has {} fields, the header has {}", record.len(), headers.len())));
        }
        let label = label_idx.map(|j| clean(&record[j]).0);
        items.push(&record[text_idx], label, format!("row:{}", row - 1));
    }
    items.into_dataset(path, stem(path, "texts"), max_len, test_fraction, seed, "rows")
}

/// `.txt` files in `root/<class>/` (label = folder name) or directly in `root` (no labels):
/// each file is one item.
pub fn load_folder(root: &Path, max_len: Option<usize>, test_fraction: f32, seed: u64) -> Result<Dataset> {
    let (files, class_names) = list_by_class(root, is_txt)?;
    if files.is_empty() {
        return Err(PretextError::bad_file(root, "no .txt files in this folder or its sub-folders"));
    }
    let mut items = Collected::default();
    for (file, label) in &files {
        let bytes = std::fs::read(file).map_err(|e| PretextError::io(file, e))?;
        let label = label.map(|l| class_names.get(l as usize).cloned().unwrap_or_default());
        items.push(&bytes, label, crate::data::image_folder::relative_source(root, file));
    }
    let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "texts".into());
    items.into_dataset(root, name, max_len, test_fraction, seed, "files")
}
