//! t-SNE input affinities from a kNN graph (van der Maaten 2014, §4.1): per point a Gaussian
//! whose bandwidth is found by binary search to match the perplexity, on the `3·perplexity`
//! nearest neighbours only, then symmetrised `P = (P_{j|i} + P_{i|j}) / 2n`.

use rayon::prelude::*;

/// Sparse symmetric P in compressed rows.
#[derive(Debug, Clone, Default)]
pub struct SparseP {
    pub row_start: Vec<usize>,
    pub col: Vec<u32>,
    pub val: Vec<f32>,
}

impl SparseP {
    pub fn rows(&self) -> usize {
        self.row_start.len().saturating_sub(1)
    }
}

/// `knn[i]` holds `(j, euclidean distance)` with `j != i`.
pub fn perplexity_affinities(knn: &[Vec<(usize, f32)>], perplexity: f64) -> SparseP {
    let n = knn.len();
    let conditional: Vec<Vec<f64>> = knn.par_iter().map(|list| conditional_row(list, perplexity)).collect();
    let mut entries: Vec<(u64, f64)> = Vec::with_capacity(2 * knn.iter().map(Vec::len).sum::<usize>());
    for (i, (list, probs)) in knn.iter().zip(&conditional).enumerate() {
        for (&(j, _), &p) in list.iter().zip(probs) {
            entries.push((((i as u64) << 32) | j as u64, p));
            entries.push((((j as u64) << 32) | i as u64, p));
        }
    }
    entries.par_sort_unstable_by_key(|e| e.0);
    let mut out = SparseP { row_start: vec![0; n + 1], ..Default::default() };
    let norm = 1.0 / (2.0 * n as f64);
    let mut k = 0;
    while k < entries.len() {
        let key = entries[k].0;
        let mut sum = 0.0;
        while k < entries.len() && entries[k].0 == key {
            sum += entries[k].1;
            k += 1;
        }
        out.col.push(key as u32);
        out.val.push((sum * norm) as f32);
        out.row_start[(key >> 32) as usize + 1] += 1;
    }
    for i in 0..n {
        out.row_start[i + 1] += out.row_start[i];
    }
    out
}

/// `P_{j|i}` over one neighbour list: `exp(−β d²)` normalised, β bisected until the entropy
/// equals `ln(perplexity)`.
pub fn conditional_row(list: &[(usize, f32)], perplexity: f64) -> Vec<f64> {
    if list.is_empty() {
        return Vec::new();
    }
    let d2: Vec<f64> = list.iter().map(|p| (p.1 as f64).powi(2)).collect();
    let d_min = d2.iter().cloned().fold(f64::INFINITY, f64::min);
    let target = perplexity.max(1.0).ln();
    let (mut lo, mut hi, mut beta) = (0.0f64, f64::INFINITY, 1.0f64);
    let mut p = vec![0.0; d2.len()];
    for _ in 0..100 {
        // Shifting by the smallest distance keeps exp() from underflowing for every j.
        let mut sum = 0.0;
        for (pj, &d) in p.iter_mut().zip(&d2) {
            *pj = (-(d - d_min) * beta).exp();
            sum += *pj;
        }
        let mean_d: f64 = p.iter().zip(&d2).map(|(pj, d)| pj * (d - d_min)).sum::<f64>() / sum;
        let entropy = sum.ln() + beta * mean_d;
        if (entropy - target).abs() < 1e-5 {
            break;
        }
        if entropy > target {
            lo = beta;
            beta = if hi.is_infinite() { beta * 2.0 } else { (lo + hi) / 2.0 };
        } else {
            hi = beta;
            beta = (lo + hi) / 2.0;
        }
    }
    let sum: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= sum);
    p
}
