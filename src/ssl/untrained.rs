//! The untrained encoder as a reference point: the default model for the data with its
//! seeded random initial weights, measured with the same kNN protocol as a trained one.

use crate::analysis::knn;
use crate::data::Dataset;
use crate::error::{PretextError, Result};
use crate::ssl::encoder::SslModel;
use crate::ssl::evaluate::embed_split;
use crate::ssl::TrainConfig;

/// (embedding size, kNN accuracy of the test split against the train split).
pub fn knn_accuracy(ds: &Dataset, seed: u64) -> Result<(usize, f32)> {
    let (Some(train_labels), Some(test_labels)) = (&ds.train.labels, &ds.test.labels) else {
        return Err(PretextError::BadData(format!("'{}' has no labels, so there is no accuracy to measure", ds.name)));
    };
    let cfg = TrainConfig { seed, ..TrainConfig::for_modality(&ds.modality) };
    let (_weights, model) = SslModel::build(&ds.modality, &cfg)?;
    let d = ds.item_len();
    let train = embed_split(&model, &ds.train, d)?;
    let test = embed_split(&model, &ds.test, d)?;
    let accuracy = knn::accuracy(&train, train_labels, &test, test_labels, knn::KnnProtocol::default())?;
    Ok((model.embed_dim, accuracy))
}
