//! Exact nearest neighbours by cosine similarity: a blocked matrix product (candle's CPU GEMM,
//! multithreaded) followed by a parallel top-k per query.

use candle_core::{Device, Tensor};
use rayon::prelude::*;

use crate::analysis::Matrix;
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    pub index: usize,
    /// Cosine similarity in [-1, 1].
    pub similarity: f32,
}

impl Neighbor {
    /// Cosine distance, 1 − similarity.
    pub fn distance(&self) -> f32 {
        1.0 - self.similarity
    }
}

/// Queries per block: bounds the similarity block to `BLOCK × bank` floats.
const BLOCK: usize = 1024;

/// The `k` most similar bank rows for every query row, most similar first. With `exclude`,
/// query `i` never returns bank row `exclude[i]` (itself, when queries come from the bank).
pub fn top_k_cosine(bank: &Matrix, queries: &Matrix, k: usize, exclude: Option<&[usize]>) -> Result<Vec<Vec<Neighbor>>> {
    let bank_n = bank.l2_normalized();
    let queries_n = queries.l2_normalized();
    let bank_t = Tensor::from_slice(&bank_n.data, (bank.rows, bank.cols), &Device::Cpu)?.t()?;
    let mut out = Vec::with_capacity(queries.rows);
    for start in (0..queries.rows).step_by(BLOCK) {
        let end = (start + BLOCK).min(queries.rows);
        let q = Tensor::from_slice(&queries_n.data[start * queries.cols..end * queries.cols], (end - start, queries.cols), &Device::Cpu)?;
        let sims: Vec<f32> = q.matmul(&bank_t)?.flatten_all()?.to_vec1()?;
        let block: Vec<Vec<Neighbor>> = sims
            .par_chunks(bank.rows.max(1))
            .enumerate()
            .map(|(i, row)| top_k_row(row, k, exclude.map(|e| e[start + i])))
            .collect();
        out.extend(block);
    }
    Ok(out)
}

fn top_k_row(sims: &[f32], k: usize, skip: Option<usize>) -> Vec<Neighbor> {
    let mut cand: Vec<Neighbor> = sims
        .iter()
        .enumerate()
        .filter(|(j, _)| Some(*j) != skip)
        .map(|(index, &similarity)| Neighbor { index, similarity })
        .collect();
    let k = k.min(cand.len());
    let by_sim = |a: &Neighbor, b: &Neighbor| b.similarity.total_cmp(&a.similarity).then(a.index.cmp(&b.index));
    if k < cand.len() && k > 0 {
        cand.select_nth_unstable_by(k - 1, by_sim);
    }
    // A fresh k-long vector: truncating `cand` would keep its capacity of one entry per bank
    // row, and the kNN evaluation of 10,000 test items against 60,000 train items then held
    // 9.6 GB (measured: `pretext eval` peaked at 10.3 GB resident, 4.0 GB after).
    let mut best = cand[..k].to_vec();
    best.sort_by(by_sim);
    best
}

/// Neighbours of one row of `x` among the other rows.
pub fn neighbors_of(x: &Matrix, item: usize, k: usize) -> Result<Vec<Neighbor>> {
    let q = x.select_rows(&[item]);
    Ok(top_k_cosine(x, &q, k, Some(&[item]))?.pop().unwrap_or_default())
}
