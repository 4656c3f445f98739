//! Which items the exported program trains on, measures and maps, as positions in the
//! source's own order (an IDX folder's train file then its t10k file, a folder's sorted
//! images, a table's rows), so the program's items are pretext's items exactly.

use crate::data::{sample_items, split_pool, Modality};
use crate::ssl::run::{RunConfig, SAMPLED_EVAL_ABOVE, SAMPLED_EVAL_TEST, SAMPLED_EVAL_TRAIN};

/// The share of items a dataset without a split of its own keeps for testing (the loaders'
/// default, which every front end uses).
const TEST_FRACTION: f32 = 0.2;

pub struct ItemLists {
    /// Source position of each of pretext's train items, in pretext's order.
    pub train: Vec<usize>,
    pub test: Vec<usize>,
    /// Rows of the train and test splits pretext's evaluation measures (all of them, or
    /// the seeded sample of a very large or streamed dataset).
    pub eval_train: Vec<usize>,
    pub eval_test: Vec<usize>,
}

/// The splits of the run's dataset: its own (train items first in the source) or the seeded
/// 80/20 split pretext made of one pool.
pub fn item_lists(config: &RunConfig) -> Result<ItemLists, String> {
    let info = &config.dataset;
    let n = info.train_items + info.test_items;
    let (train, test) = match info.split_seed {
        Some(seed) => split_pool(n, TEST_FRACTION, seed),
        None => ((0..info.train_items).collect(), (info.train_items..n).collect()),
    };
    if train.len() != info.train_items || test.len() != info.test_items {
        return Err(format!(
            "the run's split ({} train, {} test items) is not the one pretext makes of {n} items",
            info.train_items, info.test_items
        ));
    }
    let sampled = n > SAMPLED_EVAL_ABOVE || would_stream(&info.modality, n);
    let (eval_train, eval_test) = if sampled {
        (sample_items(info.train_items, SAMPLED_EVAL_TRAIN, 1), sample_items(info.test_items, SAMPLED_EVAL_TEST, 2))
    } else {
        ((0..info.train_items).collect(), (0..info.test_items).collect())
    };
    Ok(ItemLists { train, test, eval_train, eval_test })
}

/// Whether pretext streams a dataset of this size from disk by default (and so measures a
/// sample of it): more than a GiB of f32 items.
fn would_stream(modality: &Modality, n: usize) -> bool {
    (n as u64) * (modality.item_len() as u64) * 4 > crate::data::stream::STREAM_ABOVE_BYTES
}
