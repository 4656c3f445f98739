//! Format detection: one entry point that opens whatever the user points at.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::data::stream::StreamChoice;
use crate::data::{csv_table, idx, image_folder, npy, parquet_table, series, text, Dataset, ReadColumns};
use crate::error::{PretextError, Result};

/// How to read a dataset. Defaults fit the bundled sample.
#[derive(Clone)]
pub struct LoadOptions {
    /// CSV: the label column (else one called label/class/target, if any).
    pub label_column: Option<String>,
    /// CSV: the column holding texts; set, the CSV is a text dataset instead of a table.
    pub text_column: Option<String>,
    /// Parquet/Arrow tables: the list column holding the vectors (else the only list
    /// column, or the numeric columns when there is none).
    pub vector_column: Option<String>,
    /// CSV, Parquet and Arrow tables: a column that names each row (a key, a file name):
    /// not a feature; its value is carried beside each item's source as its `id`.
    pub id_column: Option<String>,
    /// Texts: bytes kept per item (longer ones are cut); default the longest text rounded
    /// up to 16, at most `text::DEFAULT_MAX_LEN`.
    pub text_max_len: Option<usize>,
    /// NPY: the labels file (else `<stem>_labels.npy` or `labels.npy` beside it).
    pub labels_path: Option<PathBuf>,
    /// Image folders: side of the square the images are resized to.
    pub image_size: usize,
    /// Every image dataset (IDX and other fixed-size images too) resized to this side at
    /// load, for encoders that take a given size; `None` keeps IDX images at their own.
    pub image_side: Option<usize>,
    /// Image folders: skip files that do not decode (counted in `Dataset::notes`) or fail.
    pub skip_unreadable: bool,
    /// CSV and 2-D NPY: each row is one time series (not a table row). `.ts`/`.tsv` files,
    /// archive folders and 3-D NPY arrays are series without it.
    pub series: bool,
    /// 2-D NPY: the rows are embeddings made elsewhere, kept as written (not standardised)
    /// and never trained on, as a Parquet table's are.
    pub embeddings: bool,
    /// Whether to read items from disk as they are used (NPY feature tables, uncompressed
    /// IDX images, image folders) instead of holding them in memory; by default, when they
    /// would take more than 1 GiB.
    pub stream: StreamChoice,
    /// Share of items held out as the test split when the format has no split of its own.
    pub test_fraction: f32,
    pub seed: u64,
    /// Called with the fraction done, for progress bars.
    pub progress: Option<Arc<dyn Fn(f32) + Send + Sync>>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            label_column: None,
            text_column: None,
            vector_column: None,
            id_column: None,
            text_max_len: None,
            labels_path: None,
            image_size: 32,
            image_side: None,
            skip_unreadable: true,
            series: false,
            embeddings: false,
            stream: StreamChoice::Auto,
            test_fraction: 0.2,
            seed: 0,
            progress: None,
        }
    }
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("label_column", &self.label_column)
            .field("text_column", &self.text_column)
            .field("vector_column", &self.vector_column)
            .field("id_column", &self.id_column)
            .field("text_max_len", &self.text_max_len)
            .field("image_size", &self.image_size)
            .field("image_side", &self.image_side)
            .field("skip_unreadable", &self.skip_unreadable)
            .field("series", &self.series)
            .field("embeddings", &self.embeddings)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

/// The Fashion-MNIST sample shipped with pretext (the 10k test set), found beside the
/// executable's source tree or in the working directory.
pub fn sample_data_dir() -> PathBuf {
    let rel = Path::new("sample_data").join("fashion-mnist");
    let candidates = [Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel), rel.clone()];
    candidates.iter().find(|p| p.is_dir()).cloned().unwrap_or(rel)
}

/// Where Debian's `dataset-fashion-mnist` package puts the full 70k set.
pub const SYSTEM_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// Opens a dataset from a folder (IDX set, UCR/UEA archive pair, image folder) or a file
/// (CSV, NPY, Parquet or Arrow IPC, `.ts`/`.tsv` series, one IDX images file), deciding the format from what is there.
pub fn load_dataset(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    let mut ds = load_any(path, opts)?;
    if let Some(side) = opts.image_side {
        ds = crate::data::resize::resize_images(ds, side)?;
    }
    if opts.id_column.is_some() && !ds.has_ids() {
        return Err(PretextError::bad_file(path, format!("an id column names the rows of CSV, Parquet and Arrow tables; this is {}", ds.modality.describe())));
    }
    if path.is_file() {
        ds.columns = ReadColumns {
            label_column: opts.label_column.clone(),
            text_column: opts.text_column.clone(),
            vector_column: opts.vector_column.clone(),
            id_column: opts.id_column.clone(),
        };
    }
    Ok(ds)
}

fn load_any(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    let progress = |f: f32| {
        if let Some(p) = &opts.progress {
            p(f)
        }
    };
    if !path.exists() {
        return Err(PretextError::bad_file(path, "no such file or folder"));
    }
    if path.is_dir() {
        if idx::is_idx_folder(path) {
            progress(0.0);
            let ds = idx::load_folder(path, opts.stream, opts.test_fraction, opts.seed)?;
            progress(1.0);
            return Ok(ds);
        }
        if let Some(file) = series::archive_file_in(path)? {
            return series::load_file(&file, opts);
        }
        if text::is_text_folder(path) {
            return text::load_folder(path, opts.text_max_len, opts.test_fraction, opts.seed);
        }
        return image_folder::load_folder(
            path,
            opts.image_side.unwrap_or(opts.image_size),
            opts.skip_unreadable,
            opts.stream,
            opts.test_fraction,
            opts.seed,
            &progress,
        );
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let ext = name.trim_end_matches(".gz").rsplit('.').next().unwrap_or("").to_string();
    match ext.as_str() {
        e if parquet_table::is_table_extension(e) => parquet_table::load_table(path, opts),
        "csv" if opts.text_column.is_some() => text::load_csv(
            path,
            opts.text_column.as_deref().unwrap_or_default(),
            opts.label_column.as_deref(),
            opts.text_max_len,
            opts.test_fraction,
            opts.seed,
        ),
        // A .tsv is texts when its lines are label<TAB>text, a UCR series set when numbers.
        "tsv" if text::is_text_tsv(path) => text::load_lines(path, opts.text_max_len, opts.test_fraction, opts.seed),
        "ts" | "tsv" => series::load_file(path, opts),
        "csv" | "npy" if opts.series => series::load_file(path, opts),
        "npy" if series::npy_is_3d(path) => series::load_file(path, opts),
        "csv" => csv_table::load_csv(path, opts.label_column.as_deref(), opts.id_column.as_deref(), opts.test_fraction, opts.seed),
        "npy" => npy::load_npy(path, opts.labels_path.as_deref(), opts.embeddings, opts.stream, opts.test_fraction, opts.seed),
        _ if text::is_text_file(path) => text::load_lines(path, opts.text_max_len, opts.test_fraction, opts.seed),
        _ if name.contains("idx3-ubyte") => {
            // A single IDX image file: load its folder so the label file comes along.
            let dir = path.parent().unwrap_or(Path::new("."));
            idx::load_folder(dir, opts.stream, opts.test_fraction, opts.seed)
        }
        _ if image_folder::is_image_file(path) => Err(PretextError::bad_file(
            path,
            "a single image is not a dataset; open the folder that holds the images",
        )),
        _ => Err(PretextError::bad_file(
            path,
            "unknown format (expected an IDX folder, an image or text folder, .csv, .npy, .parquet, .arrow/.feather, .ts, .tsv or .txt)",
        )),
    }
}
