//! Reference points for a learned embedding: kNN accuracy (same protocol) on raw features
//! and on their top principal components. For texts the "raw features" are TF-IDF bag of
//! words vectors (byte codes are not a meaningful vector), and PCA of those is LSA.

use serde::Serialize;

use crate::analysis::{knn, pca::PcaModel, Matrix};
use crate::data::Dataset;
use crate::error::{PretextError, Result};

#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    pub train_items: usize,
    pub test_items: usize,
    /// What the raw features are: "raw features", or "TF-IDF bag of words" for texts.
    pub raw_features: String,
    pub raw_dim: usize,
    pub raw_knn_accuracy: f32,
    /// 1-nearest-neighbour (cosine) on raw features: for z-normalised time series the UCR
    /// archive's 1-NN Euclidean baseline.
    pub raw_nn1_accuracy: f32,
    pub pca_dim: usize,
    pub pca_knn_accuracy: f32,
    pub pca_seconds: f32,
    /// The default encoder with its seeded random initial weights (no training); filled in
    /// by `ssl::untrained`, since this layer knows matrices, not models.
    pub untrained_dim: Option<usize>,
    pub untrained_knn_accuracy: Option<f32>,
}

/// The items of a split as matrix rows (read from disk for a streamed split).
pub fn split_matrix(split: &crate::data::Split, d: usize) -> Result<Matrix> {
    let mut data = vec![0.0; split.len * d];
    split.read_items(0, d, &mut data)?;
    Ok(Matrix::new(data, split.len, d))
}

/// The TF-IDF model of the train items among `indices` (global indices).
pub fn text_tfidf(ds: &Dataset, indices: &[usize]) -> crate::analysis::tfidf::Tfidf {
    let train: Vec<&str> = indices.iter().filter(|&&i| !ds.is_test(i)).map(|&i| ds.global_text(i).unwrap_or("")).collect();
    crate::analysis::tfidf::Tfidf::fit(&train, crate::analysis::tfidf::MAX_TERMS)
}

/// Items by global index as rows of their raw features (TF-IDF vectors for texts, fitted on
/// the train items among them): the space before any training.
pub fn raw_features(ds: &Dataset, indices: &[usize]) -> Matrix {
    if matches!(ds.modality, crate::data::Modality::Text { .. }) {
        let texts: Vec<&str> = indices.iter().map(|&i| ds.global_text(i).unwrap_or("")).collect();
        return text_tfidf(ds, indices).transform(&texts);
    }
    let d = ds.item_len();
    let mut data = Vec::with_capacity(indices.len() * d);
    for &i in indices {
        data.extend_from_slice(&ds.global_item(i));
    }
    Matrix::new(data, indices.len(), d)
}

/// Raw-feature and PCA-`pca_dim` (fitted on the train split only) kNN accuracy.
pub fn knn_baselines(ds: &Dataset, pca_dim: usize) -> Result<BaselineReport> {
    let (Some(train_labels), Some(test_labels)) = (&ds.train.labels, &ds.test.labels) else {
        return Err(PretextError::BadData(format!("'{}' has no labels, so there is no accuracy to measure", ds.name)));
    };
    let d = ds.item_len();
    let (raw_features, train, test) = match ds.modality {
        crate::data::Modality::Text { .. } => {
            let tfidf = crate::analysis::tfidf::Tfidf::fit(&ds.train.texts, crate::analysis::tfidf::MAX_TERMS);
            ("TF-IDF bag of words", tfidf.transform(&ds.train.texts), tfidf.transform(&ds.test.texts))
        }
        crate::data::Modality::Image { .. } | crate::data::Modality::Table { .. } | crate::data::Modality::Series { .. } | crate::data::Modality::Embedding { .. } => {
            ("raw features", split_matrix(&ds.train, d)?, split_matrix(&ds.test, d)?)
        }
    };
    let protocol = knn::KnnProtocol::default();
    let raw = knn::accuracy(&train, train_labels, &test, test_labels, protocol)?;
    let raw_nn1 = knn::accuracy(&train, train_labels, &test, test_labels, knn::KnnProtocol::NEAREST)?;
    let started = std::time::Instant::now();
    let pca = PcaModel::fit(&train, pca_dim)?;
    let (train_p, test_p) = (pca.transform(&train), pca.transform(&test));
    let pca_seconds = started.elapsed().as_secs_f32();
    let projected = knn::accuracy(&train_p, train_labels, &test_p, test_labels, protocol)?;
    Ok(BaselineReport {
        train_items: train.rows,
        test_items: test.rows,
        raw_features: raw_features.into(),
        raw_dim: train.cols,
        raw_knn_accuracy: raw,
        raw_nn1_accuracy: raw_nn1,
        pca_dim: pca.k,
        pca_knn_accuracy: projected,
        pca_seconds,
        untrained_dim: None,
        untrained_knn_accuracy: None,
    })
}
