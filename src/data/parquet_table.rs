//! Embeddings made elsewhere, as a Parquet or Arrow IPC (`.arrow`, `.feather`, `.ipc`)
//! table: one vector per row, either a list column of numbers (fixed-size or not) or N
//! numeric columns, with optional label, text and image path columns beside it. The
//! vectors are kept exactly as written, not standardised per column as a CSV table is: their
//! cosine geometry is what the model that made them learned.

use std::path::Path;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::Schema;

use crate::data::arrow_columns::{append_vectors, is_label, is_list, is_numeric, is_string, numbers, strings};
use crate::data::csv_table::{default_label_index, encode_labels};
use crate::data::{split_pool, Dataset, LoadOptions, Modality, Split};
use crate::error::{PretextError, Result};

/// Whether `ext` (lower case, no dot) names a Parquet or Arrow IPC file.
pub fn is_table_extension(ext: &str) -> bool {
    matches!(ext, "parquet" | "pq" | "arrow" | "feather" | "ipc" | "arrows")
}

/// Columns that identify a row rather than describe it: never features.
const ID_NAMES: [&str; 2] = ["id", "index"];
/// Columns read as the item's text when `--text-column` names none.
const TEXT_NAMES: [&str; 3] = ["text", "caption", "sentence"];
/// Columns read as the item's image file (relative to the table's folder).
const IMAGE_NAMES: [&str; 5] = ["image_path", "image", "path", "filepath", "file_path"];

/// Where the vectors of a table are.
enum Vectors {
    /// One list column.
    List(usize),
    /// Several numeric columns, one value each.
    Columns(Vec<usize>),
}

/// The columns a table is read with, chosen from its schema.
struct Layout {
    vectors: Vectors,
    label: Option<usize>,
    text: Option<usize>,
    image: Option<usize>,
    /// The column naming each row (`LoadOptions::id_column`).
    id: Option<usize>,
}

pub fn load_table(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    // The Parquet and Arrow readers panic on some damaged files (an offset past the end of a
    // buffer, a dictionary page missing) instead of returning an error: such a panic is this
    // file's error. Nothing outlives the read, so no state is left half-changed.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_table(path, opts))).unwrap_or_else(|panic| {
        let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
        let what = what.unwrap_or_default().replace(['\n', '\r'], " ");
        Err(PretextError::bad_file(path, format!("damaged file, the reader gave up ({what})")))
    })
}

fn read_table(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    let bad = |reason: String| PretextError::bad_file(path, reason);
    let (reader, total_rows) = open_batches(path)?;
    let schema = reader.schema();
    let layout = choose_columns(&schema, opts).map_err(bad)?;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut dim = match &layout.vectors {
        Vectors::List(_) => None,
        Vectors::Columns(cols) => Some(cols.len()),
    };
    let mut sink = RowSink::new(total_rows, opts);
    let (mut chunk, mut raw_labels, mut texts, mut images, mut ids) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rows = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| bad(format!("cannot read the rows after row {rows} ({e})")))?;
        chunk.clear();
        match &layout.vectors {
            Vectors::List(col) => append_vectors(batch.column(*col).as_ref(), rows, &mut dim, &mut chunk)
                .map_err(|e| bad(format!("column '{}' {e}", names[*col])))?,
            Vectors::Columns(cols) => append_columns(&batch, cols, &names, rows, &mut chunk).map_err(bad)?,
        }
        let d = dim.unwrap_or(0);
        if let Some(i) = chunk.iter().position(|v| !v.is_finite()) {
            let (row, j) = (rows + i / d, i % d);
            let column = match &layout.vectors {
                Vectors::List(col) => format!("column '{}', value {j}", names[*col]),
                Vectors::Columns(cols) => format!("column '{}'", names[cols[j]]),
            };
            return Err(bad(format!("row {row}, {column}: NaN or infinite value")));
        }
        sink.push(rows, &chunk, d);
        if let Some(col) = layout.label {
            for (i, label) in column_strings(&batch, col, &names).map_err(bad)?.into_iter().enumerate() {
                raw_labels.push(label.ok_or_else(|| bad(format!("row {}: no label (null) in column '{}'", rows + i, names[col])))?);
            }
        }
        if let Some(col) = layout.text {
            texts.extend(column_strings(&batch, col, &names).map_err(bad)?.into_iter().map(Option::unwrap_or_default));
        }
        if let Some(col) = layout.id {
            for (i, id) in column_strings(&batch, col, &names).map_err(bad)?.into_iter().enumerate() {
                ids.push(id.ok_or_else(|| bad(format!("row {}: no id (null) in column '{}'", rows + i, names[col])))?);
            }
        }
        if let Some(col) = layout.image {
            let dir = path.parent().unwrap_or(Path::new("."));
            images.extend(column_strings(&batch, col, &names).map_err(bad)?.into_iter().map(|p| p.map(|p| dir.join(p))));
        }
        rows += batch.num_rows();
        if let (Some(progress), Some(total)) = (&opts.progress, total_rows) {
            progress(rows as f32 / total.max(1) as f32);
        }
    }
    let dim = dim.unwrap_or(0);
    if rows < 2 || dim == 0 {
        return Err(bad(format!("{rows} row(s) of {dim} value(s); at least 2 rows of 1 value are needed")));
    }
    if total_rows.is_some_and(|n| n != rows) {
        return Err(bad(format!("the file says it holds {} rows but has {rows}", total_rows.unwrap_or_default())));
    }
    let (labels, class_names) = match layout.label {
        Some(_) => {
            let (labels, names) = encode_labels(&raw_labels);
            (Some(labels), names)
        }
        None => (None, Vec::new()),
    };
    // Everything but the vectors, split as the vectors were.
    let meta = Split { labels, len: rows, texts, images, ids, rows: (0..rows).collect(), ..Split::default() };
    let (train_idx, test_idx) = split_pool(rows, opts.test_fraction, opts.seed);
    let (mut train, mut test) = (meta.select(&train_idx, 0), meta.select(&test_idx, 0));
    (train.x, test.x) = sink.finish(&train_idx, &test_idx, dim);
    let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "embeddings".into());
    let mut ds = Dataset::from_splits(name, path.display().to_string(), Modality::Embedding { dim }, class_names, train, test, opts.seed);
    let all_ids: Vec<&str> = ds.train.ids.iter().chain(&ds.test.ids).map(String::as_str).collect();
    if let Some(note) = crate::data::csv_table::repeated_ids(&all_ids) {
        ds.notes.push(note);
    }
    Ok(ds)
}

/// Where each row's vector goes as it is read: straight into its train or test split when
/// the file says how many rows it holds (Parquet), so the vectors are held once; else into
/// one pool, split at the end.
struct RowSink {
    /// Per row: whether the seeded split puts it in the test split.
    is_test: Option<Vec<bool>>,
    /// The train split's vectors (or the pool's, without `is_test`).
    train: Vec<f32>,
    test: Vec<f32>,
}

impl RowSink {
    fn new(total_rows: Option<usize>, opts: &LoadOptions) -> Self {
        let is_test = total_rows.map(|n| {
            let mut is_test = vec![false; n];
            for i in split_pool(n, opts.test_fraction, opts.seed).1 {
                is_test[i] = true;
            }
            is_test
        });
        RowSink { is_test, train: Vec::new(), test: Vec::new() }
    }

    /// Appends the vectors of rows `row0..` (`dim` values each).
    fn push(&mut self, row0: usize, chunk: &[f32], dim: usize) {
        let Some(is_test) = &self.is_test else {
            self.train.extend_from_slice(chunk);
            return;
        };
        if self.train.capacity() == 0 && self.test.capacity() == 0 {
            let n_test = is_test.iter().filter(|&&t| t).count();
            self.train.reserve_exact((is_test.len() - n_test) * dim);
            self.test.reserve_exact(n_test * dim);
        }
        for (i, v) in chunk.chunks(dim.max(1)).enumerate() {
            if is_test.get(row0 + i) == Some(&true) { &mut self.test } else { &mut self.train }.extend_from_slice(v);
        }
    }

    /// The train and test vectors of the split `(train_idx, test_idx)`.
    fn finish(self, train_idx: &[usize], test_idx: &[usize], dim: usize) -> (Vec<f32>, Vec<f32>) {
        if self.is_test.is_some() {
            return (self.train, self.test);
        }
        let pool = self.train;
        let gather = |idx: &[usize]| idx.iter().flat_map(|&r| &pool[r * dim..(r + 1) * dim]).copied().collect();
        (gather(train_idx), gather(test_idx))
    }
}

/// A reader of the file's record batches and, for Parquet, its row count (for progress).
fn open_batches(path: &Path) -> Result<(Box<dyn RecordBatchReader>, Option<usize>)> {
    let bad = |reason: String| PretextError::bad_file(path, reason);
    let file = std::fs::File::open(path).map_err(|e| PretextError::io(path, e))?;
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if matches!(ext.as_str(), "parquet" | "pq") {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(format!("not a readable Parquet file ({e})")))?;
        let rows = usize::try_from(builder.metadata().file_metadata().num_rows()).ok();
        let reader = builder.build().map_err(|e| bad(format!("cannot read the Parquet file ({e})")))?;
        return Ok((Box::new(reader), rows));
    }
    // Arrow IPC comes as a file (footer and all, what `.feather` v2 is) or as a stream.
    match arrow_ipc::reader::FileReader::try_new_buffered(file, None) {
        Ok(reader) => Ok((Box::new(reader), None)),
        Err(file_err) => {
            let file = std::fs::File::open(path).map_err(|e| PretextError::io(path, e))?;
            arrow_ipc::reader::StreamReader::try_new_buffered(file, None)
                .map(|reader| (Box::new(reader) as Box<dyn RecordBatchReader>, None))
                .map_err(|_| bad(format!("not a readable Arrow IPC file or stream ({file_err})")))
        }
    }
}

/// Picks the vector, label, text and image columns from the schema and the user's choices.
fn choose_columns(schema: &Schema, opts: &LoadOptions) -> Result<Layout, String> {
    let fields = schema.fields();
    let names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
    let listing = || names.join(", ");
    let named = |name: &str| names.iter().position(|n| n == name).ok_or_else(|| format!("no column named '{name}' (columns: {})", listing()));
    let find = |candidates: &[&str], fits: fn(&arrow_schema::DataType) -> bool| {
        (0..names.len()).find(|&i| candidates.contains(&names[i].to_ascii_lowercase().as_str()) && fits(fields[i].data_type()))
    };
    let label = match opts.label_column.as_deref() {
        Some(name) => Some(named(name)?),
        None => default_label_index(&names),
    };
    if let Some(col) = label {
        if !is_label(fields[col].data_type()) {
            return Err(format!("label column '{}' is {}; labels must be strings or integers", names[col], fields[col].data_type()));
        }
    }
    let text = match opts.text_column.as_deref() {
        Some(name) => Some(named(name)?),
        None => find(&TEXT_NAMES, is_string),
    };
    if let Some(col) = text {
        if !is_string(fields[col].data_type()) {
            return Err(format!("text column '{}' is {}, not strings", names[col], fields[col].data_type()));
        }
    }
    let image = find(&IMAGE_NAMES, is_string);
    let id = opts.id_column.as_deref().map(named).transpose()?;
    if let Some(col) = id {
        if !is_label(fields[col].data_type()) {
            return Err(format!("id column '{}' is {}; ids must be strings or integers", names[col], fields[col].data_type()));
        }
        if Some(col) == label {
            return Err(format!("column '{}' cannot be both the label and the id", names[col]));
        }
    }
    let lists: Vec<usize> = (0..names.len()).filter(|&i| is_list(fields[i].data_type())).collect();
    let vectors = match opts.vector_column.as_deref() {
        Some(name) => {
            let col = named(name)?;
            let t = fields[col].data_type();
            if Some(col) == id {
                return Err(format!("column '{name}' cannot be both the vectors and the id"));
            }
            if is_list(t) {
                Vectors::List(col)
            } else {
                return Err(format!("column '{name}' is {t}, not a list of numbers (one vector per row)"));
            }
        }
        None if lists.len() == 1 => Vectors::List(lists[0]),
        None if lists.len() > 1 => {
            let found: Vec<&str> = lists.iter().map(|&i| names[i].as_str()).collect();
            return Err(format!("several list columns ({}); name the one holding the vectors (--vector-column)", found.join(", ")));
        }
        None => {
            let cols: Vec<usize> = (0..names.len())
                .filter(|&i| Some(i) != label && Some(i) != id && is_numeric(fields[i].data_type()) && !ID_NAMES.contains(&names[i].to_ascii_lowercase().as_str()))
                .collect();
            if cols.is_empty() {
                return Err(format!("no vectors: expected a list column of numbers (e.g. 'embedding') or numeric columns (columns: {})", listing()));
            }
            Vectors::Columns(cols)
        }
    };
    Ok(Layout { vectors, label, text, image, id })
}

/// Appends one batch of rows read from several numeric columns, row-major.
fn append_columns(batch: &RecordBatch, cols: &[usize], names: &[&str], row0: usize, x: &mut Vec<f32>) -> Result<(), String> {
    let (n, d) = (batch.num_rows(), cols.len());
    let start = x.len();
    x.resize(start + n * d, 0.0);
    for (j, &col) in cols.iter().enumerate() {
        let a = batch.column(col);
        if let Some(i) = (0..n).find(|&i| a.is_null(i)) {
            return Err(format!("row {}, column '{}': empty (null) value", row0 + i, names[col]));
        }
        let values = numbers(a.as_ref()).ok_or_else(|| format!("column '{}' is {}, not numbers", names[col], a.data_type()))?;
        for (i, v) in values.into_iter().enumerate() {
            x[start + i * d + j] = v;
        }
    }
    Ok(())
}

fn column_strings(batch: &RecordBatch, col: usize, names: &[&str]) -> Result<Vec<Option<String>>, String> {
    let a = batch.column(col);
    strings(a.as_ref()).ok_or_else(|| format!("column '{}' is {}, not strings or integers", names[col], a.data_type()))
}

