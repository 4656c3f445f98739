//! Datasets: what an item is (image, table row, time series or text), the loaders for each
//! file format, augmentations, and synthetic sets for tests.

pub mod augment;
pub mod augment_colour;
pub mod augment_text;
pub mod augment_config;
pub mod augment_series;
pub mod arrow_columns;
pub mod csv_table;
pub mod idx;
pub mod image_folder;
pub mod load;
pub mod npy;
pub mod parquet_table;
pub mod resize;
pub mod series;
pub mod stream;
pub mod synthetic;
pub mod text;

pub use augment_config::AugmentConfig;
pub use load::{load_dataset, LoadOptions};

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Why a table of precomputed embeddings is not trained on (one line, for CLI and window).
pub const NOT_TRAINABLE: &str =
    "these are embeddings made by another model: pretext explores them as they are (map, clusters, neighbours, scores, probe, export) but does not train on them";

/// What one item of a dataset is. The encoder and the augmentations follow from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Modality {
    /// Pixels in [0, 1], stored channel-major (C, H, W) per item.
    Image { channels: usize, height: usize, width: usize },
    /// Standardised numeric features, one per named column.
    Table { columns: Vec<String> },
    /// Time series of `channels` variables over `length` steps, stored channel-major (C, T)
    /// per item; each channel of each series z-normalised at load.
    Series { channels: usize, length: usize },
    /// Texts as `max_len` byte codes each (`text::encode`: byte + 1, 0 pads the tail); the
    /// strings themselves are kept in `Split::texts` for display.
    Text { max_len: usize },
    /// Vectors made by a model elsewhere (a Parquet/Arrow table's list column, say), kept
    /// exactly as written: they are explored as they are, never trained on.
    Embedding { dim: usize },
}

impl Modality {
    /// Number of f32 values one item occupies.
    pub fn item_len(&self) -> usize {
        match self {
            Modality::Image { channels, height, width } => channels * height * width,
            Modality::Table { columns } => columns.len(),
            Modality::Series { channels, length } => channels * length,
            Modality::Text { max_len } => *max_len,
            Modality::Embedding { dim } => *dim,
        }
    }

    pub fn is_image(&self) -> bool {
        matches!(self, Modality::Image { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Modality::Image { channels, height, width } => {
                let kind = if *channels == 1 { "grayscale" } else { "RGB" };
                format!("images, {kind} {width}×{height}")
            }
            Modality::Table { columns } => format!("table, {} numeric columns", columns.len()),
            Modality::Series { channels: 1, length } => format!("time series, univariate, length {length}"),
            Modality::Series { channels, length } => format!("time series, {channels} channels, length {length}"),
            Modality::Text { max_len } => format!("texts, up to {max_len} bytes"),
            Modality::Embedding { dim } => format!("embeddings, {dim} dimensions"),
        }
    }
}

/// One split (train or test): items stored row-major as one flat buffer.
#[derive(Debug, Clone, Default)]
pub struct Split {
    pub x: Vec<f32>,
    pub labels: Option<Vec<u32>>,
    pub len: usize,
    /// Text datasets: the original string of each item (empty for other modalities).
    pub texts: Vec<String>,
    /// The image file of each item, when a table of embeddings names one (empty otherwise;
    /// `None` for an item whose path is blank).
    pub images: Vec<Option<std::path::PathBuf>>,
    /// The row of the source table each item is (0-based), for tables of embeddings whose
    /// rows the train/test split reorders (empty otherwise).
    pub rows: Vec<usize>,
    /// Where each item came from, in words a user can find it by: its file relative to the
    /// dataset root (image and text folders), `line:N` of a text file (1-based, as editors
    /// count), `row:N` of a table (0-based, header excluded). Empty where the loader keeps
    /// none; `Dataset::item_source` then falls back to `rows` or the item's index.
    pub sources: Vec<String>,
    /// The value of each item's id column, for tables read with one (`LoadOptions::id_column`);
    /// empty otherwise.
    pub ids: Vec<String>,
    /// Set when the items are read from disk as they are used; `x` is then empty.
    pub stream: Option<stream::StreamedRows>,
}

impl Split {
    pub fn new(x: Vec<f32>, labels: Option<Vec<u32>>, item_len: usize) -> Self {
        let len = if item_len == 0 { 0 } else { x.len() / item_len };
        Self { x, labels, len, ..Self::default() }
    }

    /// A split whose items are read from disk as they are used.
    pub fn streamed(rows: stream::StreamedRows, labels: Option<Vec<u32>>) -> Self {
        Self { len: rows.len(), labels, stream: Some(rows), ..Self::default() }
    }

    pub fn is_streamed(&self) -> bool {
        self.stream.is_some()
    }

    /// Item `i`: borrowed from memory, or read from disk for a streamed split (a failed read
    /// gives NaNs and is kept as `read_failure`).
    pub fn item(&self, i: usize, item_len: usize) -> Cow<'_, [f32]> {
        match &self.stream {
            Some(stream) => Cow::Owned(stream.read_or_fail(i)),
            None => Cow::Borrowed(&self.x[i * item_len..(i + 1) * item_len]),
        }
    }

    /// Items `start..start + out.len() / item_len`, copied into `out` in order.
    pub fn read_items(&self, start: usize, item_len: usize, out: &mut [f32]) -> crate::error::Result<()> {
        match &self.stream {
            Some(stream) => stream.read_range(start, out),
            None => {
                out.copy_from_slice(&self.x[start * item_len..start * item_len + out.len()]);
                Ok(())
            }
        }
    }

    /// Rows the augmentations draw column marginals from (flat) and their count: the whole
    /// split in memory, or a seeded sample of a streamed one.
    pub fn marginal_pool(&self) -> (&[f32], usize) {
        match &self.stream {
            Some(stream) => stream.marginal(),
            None => (&self.x, self.len),
        }
    }

    /// The first failed read of a streamed split, as a sentence.
    pub fn read_failure(&self) -> Option<String> {
        self.stream.as_ref().and_then(|s| s.failure())
    }

    /// A new split holding the given items, in that order.
    pub fn select(&self, indices: &[usize], item_len: usize) -> Split {
        let pick = |v: &[String]| if v.is_empty() { Vec::new() } else { indices.iter().map(|&i| v[i].clone()).collect() };
        let rows = if self.rows.is_empty() { Vec::new() } else { indices.iter().map(|&i| self.rows[i]).collect() };
        if let Some(stream) = &self.stream {
            // Where the items came from goes with them, streamed or held.
            let labels = self.labels.as_ref().map(|l| indices.iter().map(|&i| l[i]).collect());
            return Split { rows, sources: pick(&self.sources), ids: pick(&self.ids), ..Split::streamed(stream.select(indices), labels) };
        }
        let mut x = Vec::with_capacity(indices.len() * item_len);
        for &i in indices {
            x.extend_from_slice(&self.item(i, item_len));
        }
        let labels = self.labels.as_ref().map(|l| indices.iter().map(|&i| l[i]).collect());
        let texts = if self.texts.is_empty() { Vec::new() } else { indices.iter().map(|&i| self.texts[i].clone()).collect() };
        let images = if self.images.is_empty() { Vec::new() } else { indices.iter().map(|&i| self.images[i].clone()).collect() };
        Split { x, labels, len: indices.len(), texts, images, rows, sources: pick(&self.sources), ids: pick(&self.ids), stream: None }
    }
}

/// Up to `k` of `n` items, a seeded random choice, in increasing order (all of them when
/// `k >= n`).
pub fn sample_items(n: usize, k: usize, seed: u64) -> Vec<usize> {
    use rand::SeedableRng;
    let mut picks = if k >= n { (0..n).collect() } else { rand::seq::index::sample(&mut rand::rngs::StdRng::seed_from_u64(seed), n, k).into_vec() };
    picks.sort_unstable();
    picks
}

/// The seeded train/test split of a pool of `n` items: (train indices, test indices), each
/// in increasing order; `test_fraction` of the items (at least one of two or more) are test.
pub fn split_pool(n: usize, test_fraction: f32, seed: u64) -> (Vec<usize>, Vec<usize>) {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let n_test = if n < 2 { 0 } else { ((n as f32 * test_fraction).round() as usize).clamp(1, n - 1) };
    let (test_idx, train_idx) = order.split_at(n_test);
    let (mut train_idx, mut test_idx) = (train_idx.to_vec(), test_idx.to_vec());
    train_idx.sort_unstable();
    test_idx.sort_unstable();
    (train_idx, test_idx)
}

/// A loaded dataset: train and test splits of one modality, with optional labels.
/// Labels are only ever used to evaluate and colour, never to train the encoder.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub source: String,
    pub modality: Modality,
    pub class_names: Vec<String>,
    pub train: Split,
    pub test: Split,
    /// Things the user should know about the load (e.g. files skipped as unreadable).
    pub notes: Vec<String>,
    /// Seed of the train/test split for data that came as one pool; None when the data
    /// carries its own split. A run's item indices only name the same items under it.
    pub split_seed: Option<u64>,
    /// The columns a CSV was read with, so a saved run reopens its data the same way.
    pub columns: ReadColumns,
}

/// Columns named when a CSV was read (none for other formats or defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadColumns {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
}

impl Dataset {
    pub fn item_len(&self) -> usize {
        self.modality.item_len()
    }

    /// The item a user names: its index (`934`), its source as `item_source` writes it
    /// (`cat/0042.jpg`, `row:123`, `line:7`, `series:4`; `\` between folders is read as
    /// `/`), or `id:VALUE`, the value of its id column (the first item with it, when several
    /// share it).
    pub fn find_item(&self, name: &str) -> Option<usize> {
        if let Some(id) = name.trim().strip_prefix("id:") {
            return (0..self.len()).find(|&i| self.item_id(i) == Some(id));
        }
        let name = name.trim().replace('\\', "/");
        let name = name.strip_prefix("./").unwrap_or(&name);
        if let Ok(i) = name.parse::<usize>() {
            return (i < self.len()).then_some(i);
        }
        (0..self.len()).find(|&i| self.item_source(i) == name)
    }

    /// The value of item `i`'s id column, for tables read with one.
    pub fn item_id(&self, i: usize) -> Option<&str> {
        let (split, j) = if i < self.train.len { (&self.train, i) } else { (&self.test, i - self.train.len) };
        split.ids.get(j).map(String::as_str)
    }

    /// Whether the items carry ids (a table read with an id column).
    pub fn has_ids(&self) -> bool {
        self.len() > 0 && self.item_id(0).is_some()
    }

    /// The ids of the given items, when the dataset has them (for an `id` column).
    pub fn ids_of(&self, items: &[usize]) -> Option<Vec<String>> {
        self.has_ids().then(|| items.iter().map(|&i| self.item_id(i).unwrap_or_default().to_string()).collect())
    }

    /// Item `i` as a person finds it: its source, and its id when the data has an id column
    /// (`row:12 · id:A-0042`), for tooltips and lists.
    pub fn item_name(&self, i: usize) -> String {
        match self.item_id(i) {
            Some(id) => format!("{} · id:{id}", self.item_source(i)),
            None => self.item_source(i),
        }
    }

    /// Where item `i` (train items first, then test items) came from: its file, line or row
    /// (`Split::sources`), else `row:N` of the table it was read from, else `item:i`.
    pub fn item_source(&self, i: usize) -> String {
        let (split, j) = if i < self.train.len { (&self.train, i) } else { (&self.test, i - self.train.len) };
        if let Some(s) = split.sources.get(j) {
            return s.clone();
        }
        match split.rows.get(j) {
            Some(r) => format!("row:{r}"),
            None => format!("item:{i}"),
        }
    }

    pub fn has_labels(&self) -> bool {
        self.train.labels.is_some() && self.test.labels.is_some()
    }

    pub fn len(&self) -> usize {
        self.train.len + self.test.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item counts per class over both splits (empty without labels).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for split in [&self.train, &self.test] {
            if let Some(labels) = &split.labels {
                for &l in labels {
                    if let Some(c) = counts.get_mut(l as usize) {
                        *c += 1;
                    }
                }
            }
        }
        counts
    }

    pub fn class_name(&self, label: u32) -> &str {
        self.class_names.get(label as usize).map(String::as_str).unwrap_or("?")
    }

    /// Splits one pool of items into train and test with a seeded shuffle, for formats that
    /// do not carry a split of their own.
    pub fn from_pool(
        name: String,
        source: String,
        modality: Modality,
        class_names: Vec<String>,
        pool: Split,
        test_fraction: f32,
        seed: u64,
    ) -> Dataset {
        let item_len = modality.item_len();
        let (train_idx, test_idx) = split_pool(pool.len, test_fraction, seed);
        let (train, test) = (pool.select(&train_idx, item_len), pool.select(&test_idx, item_len));
        Dataset::from_splits(name, source, modality, class_names, train, test, seed)
    }

    /// A dataset of splits made by `split_pool(.., seed)`.
    pub fn from_splits(name: String, source: String, modality: Modality, class_names: Vec<String>, train: Split, test: Split, seed: u64) -> Dataset {
        Dataset {
            name,
            source,
            train,
            test,
            modality,
            class_names,
            notes: Vec::new(),
            split_seed: Some(seed),
            columns: Default::default(),
        }
    }

    /// The same dataset (name, source, kind, classes, notes, how it was read) with other
    /// splits; cloning the dataset instead would copy its items.
    pub fn with_splits(&self, train: Split, test: Split) -> Dataset {
        Dataset {
            name: self.name.clone(),
            source: self.source.clone(),
            modality: self.modality.clone(),
            class_names: self.class_names.clone(),
            train,
            test,
            notes: self.notes.clone(),
            split_seed: self.split_seed,
            columns: self.columns.clone(),
        }
    }

    /// Item `i` of train followed by test (the global index the map and runs use).
    pub fn global_item(&self, i: usize) -> Cow<'_, [f32]> {
        let d = self.item_len();
        if i < self.train.len {
            self.train.item(i, d)
        } else {
            self.test.item(i - self.train.len, d)
        }
    }

    pub fn global_label(&self, i: usize) -> Option<u32> {
        if i < self.train.len {
            self.train.labels.as_ref().map(|l| l[i])
        } else {
            self.test.labels.as_ref().map(|l| l[i - self.train.len])
        }
    }

    /// The original text of item `i` (train then test), for text datasets.
    pub fn global_text(&self, i: usize) -> Option<&str> {
        let (split, j) = if i < self.train.len { (&self.train, i) } else { (&self.test, i - self.train.len) };
        split.texts.get(j).map(String::as_str)
    }

    /// The image file of item `i` (train then test), for embeddings read with image paths.
    pub fn global_image(&self, i: usize) -> Option<&std::path::Path> {
        let (split, j) = if i < self.train.len { (&self.train, i) } else { (&self.test, i - self.train.len) };
        split.images.get(j)?.as_deref()
    }

    /// The source table's row of item `i`, for tables of embeddings.
    pub fn global_row(&self, i: usize) -> Option<usize> {
        let (split, j) = if i < self.train.len { (&self.train, i) } else { (&self.test, i - self.train.len) };
        split.rows.get(j).copied()
    }

    /// Whether the items are rows of a table of embeddings made elsewhere, whose row numbers
    /// exports carry as a `row` column (other tables name their rows in `source`).
    pub fn has_table_rows(&self) -> bool {
        matches!(self.modality, Modality::Embedding { .. }) && self.global_row(0).is_some()
    }

    /// The dataset item that is row `row` of the source table, for tables of embeddings.
    pub fn item_of_row(&self, row: usize) -> Option<usize> {
        let train = self.train.rows.iter().position(|&r| r == row);
        train.or_else(|| self.test.rows.iter().position(|&r| r == row).map(|j| self.train.len + j))
    }

    /// Whether the items are read from disk as they are used.
    pub fn is_streamed(&self) -> bool {
        self.train.is_streamed() || self.test.is_streamed()
    }

    /// The first failed read from disk of a streamed dataset.
    pub fn read_failure(&self) -> Option<String> {
        self.train.read_failure().or_else(|| self.test.read_failure())
    }

    pub fn is_test(&self, i: usize) -> bool {
        i >= self.train.len
    }
}
