//! The embeddings a read-only command works on: a saved run's encoder over its dataset, or,
//! with `--data` alone, a table of embeddings made elsewhere, taken as it is.

use std::path::Path;

use crate::analysis::Matrix;
use crate::cli::TableArgs;
use crate::data::{Dataset, LoadOptions, Modality};
use crate::ssl::run;

pub struct Embedded {
    /// The dataset; for a table its vectors have moved into `train` and `test` (its splits
    /// keep their labels, texts and lengths), so the matrix is held once.
    pub ds: Dataset,
    /// Embeddings of the train and the test split, in dataset order.
    pub train: Matrix,
    pub test: Matrix,
    /// The run's seed (0 for a table), for k-means and label samples.
    pub seed: u64,
    /// The run's training step (0 for a table).
    pub step: usize,
}

impl Embedded {
    /// The dataset and every item's embedding, train items then test items (the dataset's
    /// global order).
    pub fn into_all(self) -> (Dataset, Matrix) {
        let mut all = self.train;
        // Exactly what is needed: a large buffer then grows in place rather than by a copy.
        all.data.reserve_exact(self.test.data.len());
        all.data.extend_from_slice(&self.test.data);
        all.rows += self.test.rows;
        (self.ds, all)
    }
}

/// `run` given: its dataset (at `data.data` if given, else where the run says) embedded by
/// its encoder. Else `data` must be a table of embeddings (Parquet, Arrow, ...).
pub fn embedded(run_dir: Option<&Path>, data: &TableArgs) -> anyhow::Result<Embedded> {
    if let Some(dir) = run_dir {
        let saved = run::load(dir)?;
        let ds = super::inspect::run_dataset(&saved.config, data.data.clone())?;
        let (saved, train, test) = run::embed_splits(dir, &ds, data.device.device)?;
        return Ok(Embedded { ds, train, test, seed: saved.config.train.seed, step: saved.config.step });
    }
    let Some(path) = &data.data else { anyhow::bail!("name a run (--run DIR) or a table of embeddings (--data FILE)") };
    let opts = LoadOptions {
        label_column: data.label_column.clone(),
        vector_column: data.vector_column.clone(),
        text_column: data.text_column.clone(),
        id_column: data.id_column.clone(),
        // With no model, an .npy's rows can only be the embeddings themselves.
        embeddings: true,
        ..LoadOptions::default()
    };
    let mut ds = super::load_with_spinner(path, &opts)?;
    let Modality::Embedding { dim } = ds.modality else {
        anyhow::bail!(
            "{}: without --run, --data must be a table of embeddings (.parquet, .arrow/.feather); this is {} (train it and pass --run DIR)",
            ds.source,
            ds.modality.describe()
        );
    };
    let train = Matrix::new(std::mem::take(&mut ds.train.x), ds.train.len, dim);
    let test = Matrix::new(std::mem::take(&mut ds.test.x), ds.test.len, dim);
    Ok(Embedded { ds, train, test, seed: 0, step: 0 })
}
