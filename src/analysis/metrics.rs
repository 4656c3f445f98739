//! Clustering agreement (NMI, ARI, purity) and embedding-collapse signals.

use std::collections::HashMap;

use linfa_linalg::eigh::EigValsh;

use crate::analysis::Matrix;

/// Contingency table between two labelings, with row and column sums.
struct Contingency {
    table: HashMap<(usize, usize), f64>,
    a_sums: HashMap<usize, f64>,
    b_sums: HashMap<usize, f64>,
    n: f64,
}

fn contingency(a: &[usize], b: &[usize]) -> Contingency {
    let mut c = Contingency { table: HashMap::new(), a_sums: HashMap::new(), b_sums: HashMap::new(), n: a.len() as f64 };
    for (&x, &y) in a.iter().zip(b) {
        *c.table.entry((x, y)).or_default() += 1.0;
        *c.a_sums.entry(x).or_default() += 1.0;
        *c.b_sums.entry(y).or_default() += 1.0;
    }
    c
}

fn entropy(sums: &HashMap<usize, f64>, n: f64) -> f64 {
    sums.values().filter(|&&v| v > 0.0).map(|&v| -(v / n) * (v / n).ln()).sum()
}

/// Normalised mutual information with the arithmetic-mean normaliser (scikit-learn's default).
pub fn nmi(a: &[usize], b: &[usize]) -> f64 {
    let c = contingency(a, b);
    let (ha, hb) = (entropy(&c.a_sums, c.n), entropy(&c.b_sums, c.n));
    if ha == 0.0 && hb == 0.0 {
        return 1.0; // two single-cluster labelings agree perfectly
    }
    let mi: f64 = c
        .table
        .iter()
        .map(|(&(x, y), &nxy)| (nxy / c.n) * ((nxy * c.n) / (c.a_sums[&x] * c.b_sums[&y])).ln())
        .sum();
    (mi / ((ha + hb) / 2.0)).clamp(0.0, 1.0)
}

fn comb2(v: f64) -> f64 {
    v * (v - 1.0) / 2.0
}

/// Adjusted Rand index (Hubert & Arabie 1985).
pub fn ari(a: &[usize], b: &[usize]) -> f64 {
    let c = contingency(a, b);
    let index: f64 = c.table.values().map(|&v| comb2(v)).sum();
    let sa: f64 = c.a_sums.values().map(|&v| comb2(v)).sum();
    let sb: f64 = c.b_sums.values().map(|&v| comb2(v)).sum();
    let expected = sa * sb / comb2(c.n);
    let max = (sa + sb) / 2.0;
    if (max - expected).abs() < f64::EPSILON {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// One cluster against the labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSummary {
    pub cluster: usize,
    pub size: usize,
    /// Most common label in the cluster (None without labels or for an empty cluster).
    pub majority: Option<u32>,
    /// Share of the cluster carrying the majority label.
    pub purity: f32,
}

pub fn cluster_summaries(assignments: &[usize], labels: Option<&[u32]>, k: usize) -> Vec<ClusterSummary> {
    (0..k)
        .map(|cluster| {
            let members: Vec<usize> = (0..assignments.len()).filter(|&i| assignments[i] == cluster).collect();
            let (majority, purity) = match labels {
                Some(labels) if !members.is_empty() => {
                    let mut counts: HashMap<u32, usize> = HashMap::new();
                    for &i in &members {
                        *counts.entry(labels[i]).or_default() += 1;
                    }
                    let (label, count) =
                        counts.into_iter().max_by_key(|&(l, c)| (c, std::cmp::Reverse(l))).unwrap_or((0, 0));
                    (Some(label), count as f32 / members.len() as f32)
                }
                _ => (None, 0.0),
            };
            ClusterSummary { cluster, size: members.len(), majority, purity }
        })
        .collect()
}

/// Overall purity: share of items whose label is their cluster's majority label.
pub fn purity(assignments: &[usize], labels: &[u32], k: usize) -> f32 {
    let summaries = cluster_summaries(assignments, Some(labels), k);
    let hits: f32 = summaries.iter().map(|s| s.purity * s.size as f32).sum();
    hits / assignments.len().max(1) as f32
}

/// Mean over dimensions of the per-dimension standard deviation of the L2-normalised rows.
/// A collapsed embedding (every item mapped to one point) gives 0; spread-out unit vectors
/// give about 1/sqrt(d) (Jing et al. 2022; VICReg's variance term watches the same thing).
pub fn mean_dimension_std(x: &Matrix) -> f32 {
    let z = x.l2_normalized();
    let n = z.rows.max(1) as f64;
    let mut stds = 0.0;
    for j in 0..z.cols {
        let mean = (0..z.rows).map(|i| z.data[i * z.cols + j] as f64).sum::<f64>() / n;
        let var = (0..z.rows).map(|i| (z.data[i * z.cols + j] as f64 - mean).powi(2)).sum::<f64>() / n;
        stds += var.sqrt();
    }
    (stds / z.cols.max(1) as f64) as f32
}

/// Effective rank (Roy & Vetterli 2007; RankMe, Garrido et al. 2023): exp of the entropy of
/// the normalised singular values. The singular values come from the eigenvalues of the
/// smaller Gram matrix (XᵀX or XXᵀ), formed with candle's GEMM; the caller bounds the cost by
/// passing a subsample.
pub fn effective_rank(x: &Matrix) -> f32 {
    use candle_core::{Device, Tensor};
    let gram = (|| -> candle_core::Result<Vec<f32>> {
        let t = Tensor::from_slice(&x.data, (x.rows, x.cols), &Device::Cpu)?;
        let g = if x.cols <= x.rows { t.t()?.matmul(&t)? } else { t.matmul(&t.t()?)? };
        g.flatten_all()?.to_vec1()
    })();
    let Ok(gram) = gram else { return 0.0 };
    let side = x.cols.min(x.rows);
    let gram = ndarray::Array2::from_shape_fn((side, side), |(a, b)| 0.5 * (gram[a * side + b] + gram[b * side + a]) as f64);
    let Ok(eig) = gram.eigvalsh() else { return 0.0 };
    let sigma: Vec<f64> = eig.iter().map(|&v| v.max(0.0).sqrt()).collect();
    let total: f64 = sigma.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let h: f64 = sigma.iter().map(|&s| s / total).filter(|&p| p > 0.0).map(|p| -p * p.ln()).sum();
    h.exp() as f32
}
