//! Reference points for a learned embedding: kNN accuracy (same protocol) on raw features
//! and on their top principal components.

use serde::Serialize;

use crate::analysis::{knn, pca::PcaModel, Matrix};
use crate::data::Dataset;
use crate::error::{PretextError, Result};

#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    pub train_items: usize,
    pub test_items: usize,
    pub raw_dim: usize,
    pub raw_knn_accuracy: f32,
    /// 1-nearest-neighbour (cosine) on raw features: for z-normalised time series the UCR
    /// archive's 1-NN Euclidean baseline.
    pub raw_nn1_accuracy: f32,
    pub pca_dim: usize,
    pub pca_knn_accuracy: f32,
    pub pca_seconds: f32,
    /// The default encoder with its seeded random initial weights (no training).
    pub untrained_dim: usize,
    pub untrained_knn_accuracy: f32,
}

pub fn split_matrix(split: &crate::data::Split, d: usize) -> Matrix {
    Matrix::new(split.x.clone(), split.len, d)
}

/// Raw-feature, PCA-`pca_dim` (fitted on the train split only) and untrained-encoder kNN accuracy.
pub fn knn_baselines(ds: &Dataset, pca_dim: usize, ds_seed: u64) -> Result<BaselineReport> {
    let (Some(train_labels), Some(test_labels)) = (&ds.train.labels, &ds.test.labels) else {
        return Err(PretextError::BadData(format!("'{}' has no labels, so there is no accuracy to measure", ds.name)));
    };
    let d = ds.item_len();
    let train = split_matrix(&ds.train, d);
    let test = split_matrix(&ds.test, d);
    let protocol = knn::KnnProtocol::default();
    let raw = knn::accuracy(&train, train_labels, &test, test_labels, protocol)?;
    let raw_nn1 = knn::accuracy(&train, train_labels, &test, test_labels, knn::KnnProtocol::NEAREST)?;
    let started = std::time::Instant::now();
    let pca = PcaModel::fit(&train, pca_dim)?;
    let (train_p, test_p) = (pca.transform(&train), pca.transform(&test));
    let pca_seconds = started.elapsed().as_secs_f32();
    let projected = knn::accuracy(&train_p, train_labels, &test_p, test_labels, protocol)?;
    let cfg = crate::ssl::TrainConfig { seed: ds_seed, ..Default::default() };
    let (_weights, model) = crate::ssl::encoder::SslModel::build(&ds.modality, &cfg)?;
    let device = candle_core::Device::Cpu;
    let train_u = crate::ssl::evaluate::embed_items(&model, &ds.train.x, d, &device)?;
    let test_u = crate::ssl::evaluate::embed_items(&model, &ds.test.x, d, &device)?;
    let untrained = knn::accuracy(&train_u, train_labels, &test_u, test_labels, protocol)?;
    Ok(BaselineReport {
        train_items: train.rows,
        test_items: test.rows,
        raw_dim: d,
        raw_knn_accuracy: raw,
        raw_nn1_accuracy: raw_nn1,
        pca_dim: pca.k,
        pca_knn_accuracy: projected,
        pca_seconds,
        untrained_dim: model.embed_dim,
        untrained_knn_accuracy: untrained,
    })
}
