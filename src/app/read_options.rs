//! How the dataset panel reads files whose format leaves a choice: which CSV column holds
//! labels or texts, and whether CSV/NPY rows are time series. The same choices as the
//! CLI's `--label-column`, `--text-column` and `--series`.

use crate::data::{LoadOptions, Modality, ReadColumns};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// CSV: the label column; empty = one named label, class or target.
    pub label_column: String,
    /// CSV: the text column; set, the CSV is a text dataset.
    pub text_column: String,
    /// CSV and 2-D NPY: each row is one time series.
    pub series: bool,
}

impl ReadOptions {
    /// The choices a saved run's data was read with.
    pub fn of_run(columns: &ReadColumns, modality: &Modality) -> Self {
        Self {
            label_column: columns.label_column.clone().unwrap_or_default(),
            text_column: columns.text_column.clone().unwrap_or_default(),
            series: matches!(modality, Modality::Series { .. }),
        }
    }

    /// Loader options with these choices (blank fields mean the loader's defaults).
    pub fn apply(&self, opts: LoadOptions) -> LoadOptions {
        let named = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        LoadOptions { label_column: named(&self.label_column), text_column: named(&self.text_column), series: self.series, ..opts }
    }
}
