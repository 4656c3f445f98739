//! How the dataset panel reads files whose format leaves a choice: which CSV or Parquet
//! column holds labels, ids, texts or vectors, and whether CSV/NPY rows are time series. The same
//! choices as the CLI's `--label-column`, `--id-column`, `--text-column`, `--vector-column` and `--series`.

use crate::data::stream::StreamChoice;
use crate::data::LoadOptions;
use crate::ssl::run::RunConfig;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// CSV: the label column; empty = one named label, class or target.
    pub label_column: String,
    /// CSV, Parquet, Arrow: the column naming each row (not a feature; shown and written as
    /// the item's id).
    pub id_column: String,
    /// CSV: the text column; set, the CSV is a text dataset.
    pub text_column: String,
    /// Parquet/Arrow: the list column holding the vectors; empty = the only list column.
    pub vector_column: String,
    /// CSV and 2-D NPY: each row is one time series.
    pub series: bool,
    /// 2-D NPY: the rows are embeddings made elsewhere, kept as written.
    pub embeddings: bool,
    /// NPY tables, uncompressed IDX images and image folders: read items from disk as they are used even
    /// when they would fit in memory (larger ones always are).
    pub stream: bool,
    /// Opening a saved run: the image size and text length its data was read with (not
    /// choices in the panel; used by the next load only).
    pub run_sizes: Option<(usize, Option<usize>)>,
}

impl ReadOptions {
    /// The choices a saved run's data was read with (`RunConfig::load_options`).
    pub fn of_run(config: &RunConfig) -> Self {
        let opts = config.load_options();
        Self {
            label_column: opts.label_column.unwrap_or_default(),
            id_column: opts.id_column.unwrap_or_default(),
            text_column: opts.text_column.unwrap_or_default(),
            vector_column: opts.vector_column.unwrap_or_default(),
            series: opts.series,
            embeddings: opts.embeddings,
            stream: false,
            run_sizes: Some((opts.image_size, opts.text_max_len)),
        }
    }

    /// Loader options with these choices (blank fields mean the loader's defaults).
    pub fn apply(&self, opts: LoadOptions) -> LoadOptions {
        let named = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let (image_size, text_max_len) = self.run_sizes.unwrap_or((opts.image_size, opts.text_max_len));
        LoadOptions {
            label_column: named(&self.label_column),
            id_column: named(&self.id_column),
            text_column: named(&self.text_column),
            vector_column: named(&self.vector_column),
            series: self.series,
            embeddings: self.embeddings,
            stream: if self.stream { StreamChoice::Always } else { StreamChoice::Auto },
            image_size,
            text_max_len,
            ..opts
        }
    }
}
