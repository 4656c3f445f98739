//! Weighted k-nearest-neighbour classification, the evaluation protocol of DINO (Caron et al.
//! 2021, following Wu et al. 2018): cosine similarity, k = 20, votes weighted by
//! exp(similarity / T) with T = 0.07.

use crate::analysis::neighbors::top_k_cosine;
use crate::analysis::Matrix;
use crate::error::{PretextError, Result};

#[derive(Debug, Clone, Copy)]
pub struct KnnProtocol {
    pub k: usize,
    pub temperature: f32,
}

impl Default for KnnProtocol {
    fn default() -> Self {
        Self { k: 20, temperature: 0.07 }
    }
}

impl KnnProtocol {
    /// Plain 1-nearest-neighbour (cosine). On z-normalised series cosine similarity ranks as
    /// Euclidean distance does, so on raw series this is the UCR archive's 1-NN ED baseline.
    pub const NEAREST: KnnProtocol = KnnProtocol { k: 1, temperature: 1.0 };
}

/// Predicted class of each test row from its neighbours among the train rows.
pub fn predict(train: &Matrix, train_labels: &[u32], test: &Matrix, protocol: KnnProtocol) -> Result<Vec<u32>> {
    if train.rows != train_labels.len() || train.rows == 0 {
        return Err(PretextError::Analysis(format!(
            "kNN needs one label per train item ({} items, {} labels)",
            train.rows,
            train_labels.len()
        )));
    }
    let classes = train_labels.iter().copied().max().unwrap_or(0) as usize + 1;
    let neighbours = top_k_cosine(train, test, protocol.k, None)?;
    Ok(neighbours
        .iter()
        .map(|nn| {
            let mut votes = vec![0f64; classes];
            for n in nn {
                votes[train_labels[n.index] as usize] += ((n.similarity / protocol.temperature) as f64).exp();
            }
            votes.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(c, _)| c as u32)
        })
        .collect())
}

/// Share of test rows whose predicted class is their label.
pub fn accuracy(train: &Matrix, train_labels: &[u32], test: &Matrix, test_labels: &[u32], protocol: KnnProtocol) -> Result<f32> {
    let predicted = predict(train, train_labels, test, protocol)?;
    Ok(correct_share(&predicted, test_labels))
}

pub fn correct_share(predicted: &[u32], truth: &[u32]) -> f32 {
    let hits = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    hits as f32 / truth.len().max(1) as f32
}
