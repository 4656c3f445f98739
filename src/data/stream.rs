//! Datasets read from disk as they are used: a split keeps only which rows of the file are
//! its items, and each item is read (positioned reads, no mapping) when a batch, a thumbnail
//! or an embedding pass asks for it. The process then holds a batch of items at a time, not
//! the file: a 1,000,000 × 784 float32 NPY is 3.1 GB on disk and is trained on within the
//! memory of the model. The operating system's page cache keeps what it can of the file,
//! outside the process, and gives it back under pressure.

use std::fmt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{PretextError, Result};

/// Datasets whose values would take more than this in memory are streamed unless told
/// otherwise (`LoadOptions::stream`).
pub const STREAM_ABOVE_BYTES: u64 = 1 << 30;

/// Rows of a feature sample kept in memory for the augmentations that draw from the whole
/// split's marginals (SCARF's feature corruption, the denoiser's swap noise): 4,096 rows
/// pin each column's marginal far better than a batch does, at 12.8 MB for 784 features.
pub const MARGINAL_ROWS: usize = 4096;

/// Whether to stream a dataset from disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
pub enum StreamChoice {
    /// Stream when the values would take more than 1 GiB in memory.
    #[default]
    Auto,
    /// Always read items from disk as they are used.
    Always,
    /// Always read the whole dataset into memory.
    Never,
}

impl StreamChoice {
    /// Whether a dataset of `bytes` of f32 values is streamed under this choice.
    pub fn streams(self, bytes: u64) -> bool {
        match self {
            StreamChoice::Auto => bytes > STREAM_ABOVE_BYTES,
            StreamChoice::Always => true,
            StreamChoice::Never => false,
        }
    }
}

/// A file of fixed-length rows of numbers, read one row at a time.
pub trait RowSource: Send + Sync + fmt::Debug {
    /// Rows in the file.
    fn rows(&self) -> usize;
    /// Values per row.
    fn row_len(&self) -> usize;
    /// Reads row `row` as f32 into `out` (`row_len` long).
    fn read_row(&self, row: usize, out: &mut [f32]) -> Result<()>;
    /// The file, for messages.
    fn path(&self) -> &Path;
}

/// How the stored numbers of a file become item values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Little-endian float32.
    F32,
    /// Little-endian float64.
    F64,
    /// Unsigned bytes scaled to [0, 1] (IDX images).
    PixelU8,
}

impl Encoding {
    fn width(self) -> usize {
        match self {
            Encoding::F32 => 4,
            Encoding::F64 => 8,
            Encoding::PixelU8 => 1,
        }
    }

    fn decode(self, bytes: &[u8], out: &mut [f32]) {
        match self {
            Encoding::F32 => {
                for (v, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
            Encoding::F64 => {
                for (v, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                    *v = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32;
                }
            }
            Encoding::PixelU8 => {
                for (v, &b) in out.iter_mut().zip(bytes) {
                    *v = b as f32 / 255.0;
                }
            }
        }
    }
}

/// Rows stored one after another from a byte offset (an NPY array in C order, an IDX body).
#[derive(Debug)]
pub struct FileRows {
    path: PathBuf,
    file: std::fs::File,
    data_start: u64,
    rows: usize,
    row_len: usize,
    encoding: Encoding,
}

impl FileRows {
    /// Opens `path` for reading `rows` rows of `row_len` values from `data_start`, checking
    /// that the file is long enough to hold them.
    pub fn open(path: &Path, data_start: u64, rows: usize, row_len: usize, encoding: Encoding) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| PretextError::io(path, e))?;
        let size = file.metadata().map_err(|e| PretextError::io(path, e))?.len();
        let need = (rows as u64)
            .checked_mul(row_len as u64)
            .and_then(|v| v.checked_mul(encoding.width() as u64))
            .and_then(|b| b.checked_add(data_start));
        if need.is_none_or(|n| n > size) {
            return Err(PretextError::bad_file(path, format!("{rows} rows of {row_len} values do not fit in its {size} bytes (cut short or damaged)")));
        }
        Ok(Self { path: path.to_path_buf(), file, data_start, rows, row_len, encoding })
    }
}

impl RowSource for FileRows {
    fn rows(&self) -> usize {
        self.rows
    }

    fn row_len(&self) -> usize {
        self.row_len
    }

    fn read_row(&self, row: usize, out: &mut [f32]) -> Result<()> {
        let width = self.encoding.width();
        let mut bytes = vec![0u8; self.row_len * width];
        let at = self.data_start + (row * self.row_len * width) as u64;
        self.file.read_exact_at(&mut bytes, at).map_err(|e| PretextError::io(&self.path, e))?;
        self.encoding.decode(&bytes, out);
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// The items of one split of a streamed dataset: rows of a source, optionally standardised
/// per column on the way out.
#[derive(Clone)]
pub struct StreamedRows {
    source: Arc<dyn RowSource>,
    /// The source row of each item of the split, in item order.
    rows: Arc<Vec<usize>>,
    /// Per-column (mean, std) subtracted and divided on reading (tables).
    scale: Option<Arc<Vec<(f32, f32)>>>,
    /// A seeded sample of items kept in memory, flat, for augmentations that draw from
    /// column marginals.
    marginal: Arc<Vec<f32>>,
    /// The first read that failed; later reads of the same split see it too, so training
    /// stops with the file's problem instead of learning from blanks.
    failure: Arc<Mutex<Option<String>>>,
}

impl fmt::Debug for StreamedRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamedRows").field("source", &self.source).field("items", &self.rows.len()).finish_non_exhaustive()
    }
}

impl StreamedRows {
    pub fn new(source: Arc<dyn RowSource>, rows: Vec<usize>) -> Self {
        Self {
            source,
            rows: Arc::new(rows),
            scale: None,
            marginal: Arc::new(Vec::new()),
            failure: Arc::new(Mutex::new(None)),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn source(&self) -> &Arc<dyn RowSource> {
        &self.source
    }

    /// The source row of item `i`.
    pub fn source_row(&self, i: usize) -> usize {
        self.rows[i]
    }

    /// Reads item `i` into `out`.
    pub fn read(&self, i: usize, out: &mut [f32]) -> Result<()> {
        self.source.read_row(self.rows[i], out)?;
        if let Some(scale) = &self.scale {
            for (v, &(m, s)) in out.iter_mut().zip(scale.iter()) {
                *v = (*v - m) / s;
            }
        }
        Ok(())
    }

    /// Reads item `i`; a failed read gives NaNs and is kept as this split's failure.
    pub fn read_or_fail(&self, i: usize) -> Vec<f32> {
        let mut out = vec![0.0; self.source.row_len()];
        if let Err(e) = self.read(i, &mut out) {
            out.fill(f32::NAN);
            if let Ok(mut failure) = self.failure.lock() {
                failure.get_or_insert(e.to_string());
            }
        }
        out
    }

    /// The first read of this split that failed, if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// The same source with other items (indices into this split), keeping its scale.
    pub fn select(&self, items: &[usize]) -> Self {
        Self {
            rows: Arc::new(items.iter().map(|&i| self.rows[i]).collect()),
            failure: Arc::new(Mutex::new(None)),
            ..self.clone()
        }
    }

    /// The same items read through another source of the same rows (images resampled as
    /// they are read); the in-memory marginal sample is dropped, its rows being the old size.
    pub fn with_source(&self, source: Arc<dyn RowSource>) -> Self {
        Self { source, marginal: Arc::new(Vec::new()), failure: Arc::new(Mutex::new(None)), ..self.clone() }
    }

    /// Standardises every read with these per-column statistics.
    pub fn with_scale(mut self, scale: Arc<Vec<(f32, f32)>>) -> Self {
        self.scale = Some(scale);
        self
    }

    /// Keeps a seeded sample of up to `MARGINAL_ROWS` items in memory for marginal draws.
    pub fn with_marginal_sample(mut self, seed: u64) -> Result<Self> {
        let d = self.source.row_len();
        let picks = crate::data::sample_items(self.len(), MARGINAL_ROWS, seed);
        let mut flat = vec![0.0; picks.len() * d];
        for (slot, &i) in flat.chunks_mut(d).zip(&picks) {
            self.read(i, slot)?;
        }
        self.marginal = Arc::new(flat);
        Ok(self)
    }

    /// The in-memory sample for marginal draws (flat rows) and its row count.
    pub fn marginal(&self) -> (&[f32], usize) {
        let d = self.source.row_len().max(1);
        (&self.marginal, self.marginal.len() / d)
    }

    /// Reads items `start..start + out.len() / row_len` into `out`, in order.
    pub fn read_range(&self, start: usize, out: &mut [f32]) -> Result<()> {
        let d = self.source.row_len().max(1);
        for (k, slot) in out.chunks_mut(d).enumerate() {
            self.read(start + k, slot)?;
        }
        Ok(())
    }
}

/// Per-column (mean, std) over the items of `train`, read in file order, and the first
/// non-finite value of `train` or `test` as (source row, column). Constant columns keep std 1.
pub fn column_stats(train: &StreamedRows, test: &StreamedRows) -> Result<(Vec<(f32, f32)>, Option<(usize, usize)>)> {
    let d = train.source.row_len();
    let mut sum = vec![0f64; d];
    let mut sq = vec![0f64; d];
    let mut row = vec![0f32; d];
    let mut non_finite = None;
    for (split, counts) in [(train, true), (test, false)] {
        for i in 0..split.len() {
            split.source.read_row(split.rows[i], &mut row)?;
            if non_finite.is_none() {
                if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                    non_finite = Some((split.rows[i], j));
                }
            }
            if counts {
                crate::data::csv_table::add_moments(&row, &mut sum, &mut sq);
            }
        }
    }
    Ok((crate::data::csv_table::mean_std(&sum, &sq, train.len()), non_finite))
}

/// A source whose rows are costly to make (decoded images) behind a bounded cache of the
/// most recently read ones: the map's thumbnails and hovers, and items drawn again soon, are
/// not decoded twice, and memory stays within `budget_bytes` however large the folder is.
#[derive(Debug)]
pub struct CachedRows<S: RowSource> {
    inner: S,
    capacity: usize,
    cache: Mutex<RowCache>,
}

#[derive(Debug, Default)]
struct RowCache {
    rows: std::collections::HashMap<usize, Arc<Vec<f32>>>,
    /// Insertion order; the oldest is evicted first.
    order: std::collections::VecDeque<usize>,
}

impl<S: RowSource> CachedRows<S> {
    pub fn new(inner: S, budget_bytes: usize) -> Self {
        let row_bytes = (inner.row_len() * 4).max(1);
        Self { capacity: (budget_bytes / row_bytes).max(1), inner, cache: Mutex::new(RowCache::default()) }
    }

    /// Rows held at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn cached(&self, row: usize) -> Option<Arc<Vec<f32>>> {
        self.cache.lock().ok()?.rows.get(&row).cloned()
    }

    fn keep(&self, row: usize, values: Arc<Vec<f32>>) {
        let Ok(mut cache) = self.cache.lock() else { return };
        if cache.rows.insert(row, values).is_none() {
            cache.order.push_back(row);
        }
        while cache.order.len() > self.capacity {
            if let Some(old) = cache.order.pop_front() {
                cache.rows.remove(&old);
            }
        }
    }
}

impl<S: RowSource> RowSource for CachedRows<S> {
    fn rows(&self) -> usize {
        self.inner.rows()
    }

    fn row_len(&self) -> usize {
        self.inner.row_len()
    }

    fn read_row(&self, row: usize, out: &mut [f32]) -> Result<()> {
        if let Some(values) = self.cached(row) {
            out.copy_from_slice(&values);
            return Ok(());
        }
        self.inner.read_row(row, out)?;
        self.keep(row, Arc::new(out.to_vec()));
        Ok(())
    }

    fn path(&self) -> &Path {
        self.inner.path()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Row r is r repeated; counts the reads that reach it.
    #[derive(Debug, Default)]
    struct Counting {
        reads: AtomicUsize,
    }

    impl RowSource for Counting {
        fn rows(&self) -> usize {
            100
        }
        fn row_len(&self) -> usize {
            4
        }
        fn read_row(&self, row: usize, out: &mut [f32]) -> Result<()> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            out.fill(row as f32);
            Ok(())
        }
        fn path(&self) -> &Path {
            Path::new("counting")
        }
    }

    #[test]
    fn the_cache_serves_recent_rows_and_stays_within_its_budget() {
        // 16 bytes a row, 48 bytes of budget: three rows.
        let cached = CachedRows::new(Counting::default(), 48);
        assert_eq!(cached.capacity(), 3);
        let mut out = [0.0; 4];
        for row in [5, 6, 5, 7, 5] {
            cached.read_row(row, &mut out).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(out, [row as f32; 4]);
        }
        assert_eq!(cached.inner.reads.load(Ordering::Relaxed), 3, "5 was read from the file once");
        cached.read_row(8, &mut out).unwrap_or_else(|e| panic!("{e}"));
        let held = cached.cache.lock().map(|c| c.rows.len()).unwrap_or(0);
        assert_eq!(held, 3, "the oldest row made room");
        cached.read_row(5, &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cached.inner.reads.load(Ordering::Relaxed), 5, "5 was the oldest and was evicted");
    }
}
