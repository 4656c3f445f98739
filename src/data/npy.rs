//! NPY feature matrices (float32 or float64, 2-D) with an optional labels array.

use std::path::Path;

use ndarray::{Array2, ArrayView2};
use ndarray_npy::{ReadNpyExt, ViewNpyExt};

use std::sync::Arc;

use crate::data::stream::{column_stats, Encoding, FileRows, RowSource, StreamChoice, StreamedRows};
use crate::data::{csv_table::standardise, split_pool, Dataset, Modality, Split};
use crate::error::{PretextError, Result};

/// Opens an .npy file for reading after checking that its header does not promise more
/// values than the file holds: the reader allocates what the header says before reading, so
/// a damaged or hostile header (a shape of 10⁹ × 784 in a 100-byte file) would otherwise
/// abort the process on the allocation.
pub(crate) fn open(path: &Path) -> Result<std::fs::File> {
    open_with_header(path).map(|(file, _)| file)
}

/// `open`, with the header it read (None when it cannot be parsed: the full reader then
/// reports what is wrong).
fn open_with_header(path: &Path) -> Result<(std::fs::File, Option<NpyHeader>)> {
    use std::io::{Read, Seek};
    let mut file = std::fs::File::open(path).map_err(|e| PretextError::io(path, e))?;
    let size = file.metadata().map_err(|e| PretextError::io(path, e))?.len();
    let mut head = vec![0u8; 4096.min(size as usize)];
    file.read_exact(&mut head).map_err(|e| PretextError::io(path, e))?;
    let header = parse_header(&head);
    if let Some((h, item)) = header.as_ref().and_then(|h| Some((h, h.item_bytes()?))) {
        let values = h.values();
        let need = values.checked_mul(item).and_then(|b| b.checked_add(h.data_start));
        if need.is_none_or(|n| n > size) {
            return Err(PretextError::bad_file(
                path,
                format!("the header promises {values} values of {item} bytes but the file holds {size} bytes (cut short or damaged)"),
            ));
        }
    }
    file.rewind().map_err(|e| PretextError::io(path, e))?;
    Ok((file, header))
}

/// What an .npy header says: the dtype string, whether the data is in Fortran order, the
/// shape, and where the data starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NpyHeader {
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    pub data_start: u64,
}

impl NpyHeader {
    /// Number of values the shape promises (saturating).
    fn values(&self) -> u64 {
        self.shape.iter().fold(1u64, |acc, &d| acc.saturating_mul(d))
    }

    /// Bytes per value, from the dtype's size digits.
    fn item_bytes(&self) -> Option<u64> {
        self.descr.trim_start_matches(|c: char| !c.is_ascii_digit()).parse().ok()
    }
}

/// Parses the header at the start of an .npy file, when it can be read; anything odd is left
/// to the full reader to report.
pub(crate) fn parse_header(head: &[u8]) -> Option<NpyHeader> {
    if head.len() < 10 || &head[..6] != b"\x93NUMPY" {
        return None;
    }
    let (len, start) = match head[6] {
        1 => (u16::from_le_bytes([head[8], head[9]]) as usize, 10),
        _ => (u32::from_le_bytes(head.get(8..12)?.try_into().ok()?) as usize, 12),
    };
    let text = std::str::from_utf8(head.get(start..start + len)?).ok()?;
    let descr = text.split("'descr':").nth(1)?.split('\'').nth(1)?.to_string();
    let fortran_order = text.split("'fortran_order':").nth(1)?.trim_start().starts_with("True");
    let shape = text.split("'shape':").nth(1)?;
    let shape = &shape[shape.find('(')? + 1..shape.find(')')?];
    let shape = shape
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('L').parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    Some(NpyHeader { descr, fortran_order, shape, data_start: (start + len) as u64 })
}

/// Reads a 2-D float array, accepting float32 or float64.
pub fn read_matrix(path: &Path) -> Result<Array2<f32>> {
    if let Ok(a) = Array2::<f32>::read_npy(open(path)?) {
        return Ok(a);
    }
    Array2::<f64>::read_npy(open(path)?)
        .map(|a| a.mapv(|v| v as f32))
        .map_err(|e| PretextError::bad_file(path, format!("expected a 2-D float32/float64 .npy array ({e})")))
}

/// Reads a 1-D integer label array (any integer type .npy writes commonly).
pub fn read_labels(path: &Path) -> Result<Vec<i64>> {
    use ndarray::Array1;
    macro_rules! try_type {
        ($t:ty) => {
            if let Ok(a) = Array1::<$t>::read_npy(open(path)?) {
                return Ok(a.iter().map(|&v| v as i64).collect());
            }
        };
    }
    try_type!(i64);
    try_type!(i32);
    try_type!(u8);
    try_type!(u32);
    try_type!(u16);
    try_type!(i16);
    Err(PretextError::bad_file(path, "expected a 1-D integer .npy array of labels"))
}

/// A 2-D float array viewed in place in a mapped .npy file.
enum MatrixView<'a> {
    F32(ArrayView2<'a, f32>),
    F64(ArrayView2<'a, f64>),
}

impl MatrixView<'_> {
    fn dim(&self) -> (usize, usize) {
        match self {
            MatrixView::F32(v) => v.dim(),
            MatrixView::F64(v) => v.dim(),
        }
    }

    /// Appends the rows `rows`, as f32, to a new buffer.
    fn gather(&self, rows: &[usize]) -> Vec<f32> {
        let mut x = Vec::with_capacity(rows.len() * self.dim().1);
        for &r in rows {
            match self {
                MatrixView::F32(v) => x.extend(v.row(r).iter()),
                MatrixView::F64(v) => x.extend(v.row(r).iter().map(|&v| v as f32)),
            }
        }
        x
    }

    /// (row, column) of the first NaN or infinite value.
    fn first_non_finite(&self) -> Option<(usize, usize)> {
        let at = |i: usize| (i / self.dim().1, i % self.dim().1);
        match self {
            MatrixView::F32(v) => v.iter().position(|v| !v.is_finite()).map(at),
            MatrixView::F64(v) => v.iter().position(|v| !v.is_finite()).map(at),
        }
    }
}

/// `features.npy` with labels from `labels` (a path) or a sibling `<stem>_labels.npy` /
/// `labels.npy`: a feature table (standardised with train statistics), or with `embeddings`
/// vectors made elsewhere, kept as written. The file is mapped and its rows copied straight into the train and test
/// splits, so the matrix is held once (a 70,000 × 784 float32 array: 220 MB, not three times that).
pub fn load_npy(path: &Path, labels: Option<&Path>, embeddings: bool, stream: StreamChoice, test_fraction: f32, seed: u64) -> Result<Dataset> {
    let (file, header) = open_with_header(path)?;
    if let (false, Some(header)) = (embeddings, &header) {
        if let Some(rows) = streamable(path, header, stream)? {
            return load_streamed(path, rows, labels, test_fraction, seed);
        }
    }
    // Safety: the map is read only while this function runs; a file changed under it by
    // another process at that moment could give odd values, never unsound ones we keep.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| PretextError::io(path, e))?;
    // Arrays that cannot be viewed in place (big-endian, say) are read into memory instead.
    let owned;
    let view = match (ArrayView2::<f32>::view_npy(&map), ArrayView2::<f64>::view_npy(&map)) {
        (Ok(v), _) => MatrixView::F32(v),
        (_, Ok(v)) => MatrixView::F64(v),
        _ => {
            owned = read_matrix(path)?;
            MatrixView::F32(owned.view())
        }
    };
    let (n, d) = view.dim();
    if n < 2 || d == 0 {
        return Err(PretextError::bad_file(path, format!("array is {n}×{d}; need at least 2 rows and 1 column")));
    }
    if let Some((row, col)) = view.first_non_finite() {
        return Err(PretextError::bad_file(path, format!("row {row}, column {col}: NaN or infinite value")));
    }
    let (labels, class_names) = labels_beside(path, labels, n)?;
    let (train_idx, test_idx) = split_pool(n, test_fraction, seed);
    let split = |rows: &[usize]| Split { rows: rows.to_vec(), ..Split::new(view.gather(rows), labels.as_ref().map(|l| rows.iter().map(|&r| l[r]).collect()), d) };
    let (mut train, mut test) = (split(&train_idx), split(&test_idx));
    let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "npy".into());
    let source = path.display().to_string();
    if embeddings {
        (train.rows, test.rows) = (train_idx, test_idx);
        return Ok(Dataset::from_splits(name, source, Modality::Embedding { dim: d }, class_names, train, test, seed));
    }
    let columns = (0..d).map(|j| format!("f{j}")).collect();
    let mut ds = Dataset::from_splits(name, source, Modality::Table { columns }, class_names, train, test, seed);
    standardise(&mut ds);
    Ok(ds)
}

/// The rows of `path` read from disk, when `stream` asks for it and the layout allows it (a
/// 2-D little-endian float32/float64 array in C order); `Always` with another layout is an
/// error, `Auto` then reads the file into memory.
fn streamable(path: &Path, header: &NpyHeader, stream: StreamChoice) -> Result<Option<FileRows>> {
    let bytes = header.values().saturating_mul(4);
    if !stream.streams(bytes) {
        return Ok(None);
    }
    let encoding = match header.descr.as_str() {
        "<f4" => Some(Encoding::F32),
        "<f8" => Some(Encoding::F64),
        _ => None,
    };
    match (encoding, header.shape.as_slice(), header.fortran_order) {
        (Some(encoding), &[n, d], false) if n >= 2 && d > 0 => {
            FileRows::open(path, header.data_start, n as usize, d as usize, encoding).map(Some)
        }
        _ if stream == StreamChoice::Always => Err(PretextError::bad_file(
            path,
            format!(
                "cannot be streamed: only 2-D little-endian float32/float64 arrays in C order are read row by row (this one is {} {:?}{})",
                header.descr,
                header.shape,
                if header.fortran_order { ", Fortran order" } else { "" }
            ),
        )),
        _ => Ok(None),
    }
}

/// A feature table whose rows stay on disk: one pass over the file checks every value and
/// takes the train split's column statistics; items are standardised as they are read.
fn load_streamed(path: &Path, rows: FileRows, labels: Option<&Path>, test_fraction: f32, seed: u64) -> Result<Dataset> {
    let (n, d) = (rows.rows(), rows.row_len());
    let (labels, class_names) = labels_beside(path, labels, n)?;
    let (train_idx, test_idx) = split_pool(n, test_fraction, seed);
    let split_labels = |idx: &[usize]| labels.as_ref().map(|l| idx.iter().map(|&r| l[r]).collect());
    let (train_labels, test_labels) = (split_labels(&train_idx), split_labels(&test_idx));
    let source: Arc<dyn RowSource> = Arc::new(rows);
    let (train, test) = (StreamedRows::new(source.clone(), train_idx.clone()), StreamedRows::new(source, test_idx.clone()));
    let (stats, non_finite) = column_stats(&train, &test)?;
    if let Some((row, col)) = non_finite {
        return Err(PretextError::bad_file(path, format!("row {row}, column {col}: NaN or infinite value")));
    }
    let stats = Arc::new(stats);
    let train = train.with_scale(stats.clone()).with_marginal_sample(seed)?;
    let test = test.with_scale(stats);
    let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "npy".into());
    let columns = (0..d).map(|j| format!("f{j}")).collect();
    // Each item keeps its row of the file (`row:N`), streamed as held.
    let (train, test) = (Split { rows: train_idx, ..Split::streamed(train, train_labels) }, Split { rows: test_idx, ..Split::streamed(test, test_labels) });
    Ok(Dataset::from_splits(name, path.display().to_string(), Modality::Table { columns }, class_names, train, test, seed))
}

/// Labels for the `n` rows of `path`: from `labels` if given, else a sibling
/// `<stem>_labels.npy` or `labels.npy`; class names are the numbers 0..=max.
pub(crate) fn labels_beside(path: &Path, labels: Option<&Path>, n: usize) -> Result<(Option<Vec<u32>>, Vec<String>)> {
    let label_path = labels.map(Path::to_path_buf).or_else(|| {
        let stem = path.file_stem()?.to_string_lossy().into_owned();
        let dir = path.parent()?;
        [dir.join(format!("{stem}_labels.npy")), dir.join("labels.npy")]
            .into_iter()
            .find(|p| p.is_file() && p != path)
    });
    Ok(match label_path {
        Some(lp) => {
            let raw = read_labels(&lp)?;
            if raw.len() != n {
                return Err(PretextError::bad_file(&lp, format!("{} labels for {n} rows", raw.len())));
            }
            if let Some(bad) = raw.iter().find(|&&v| v < 0) {
                return Err(PretextError::bad_file(&lp, format!("negative label {bad}")));
            }
            let (labels, names) = dense_labels(&raw);
            (Some(labels), names)
        }
        None => (None, Vec::new()),
    })
}

/// Label values to class indices 0..k in increasing order of value, with each value as its
/// class name: sparse or huge values (say 3·10⁹) cost one class each, never a table that size.
pub fn dense_labels(raw: &[i64]) -> (Vec<u32>, Vec<String>) {
    let mut values = raw.to_vec();
    values.sort_unstable();
    values.dedup();
    // At most one class per row, so the index always fits in u32 for any loadable file.
    let labels = raw.iter().map(|v| values.binary_search(v).map_or(0, |i| i as u32)).collect();
    (labels, values.iter().map(|v| v.to_string()).collect())
}
