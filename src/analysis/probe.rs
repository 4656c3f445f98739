//! Linear probe: multinomial logistic regression on frozen embeddings, trained on a fraction
//! of the labels and scored on a held-out set (the standard SSL evaluation).
//!
//! Full-batch Adam on the convex softmax cross-entropy with a small L2 penalty, on
//! standardised features. Written by hand: linfa-logistic's multinomial fit goes through
//! argmin's L-BFGS on f64 ndarrays and is far slower at 60k × 784 than these GEMMs.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;

use super::Matrix;
use crate::linalg::{self, View};
use crate::error::{PretextError, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeParams {
    pub fractions: Vec<f64>,
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
}

impl Default for ProbeParams {
    fn default() -> Self {
        Self { fractions: vec![0.01, 0.1, 1.0], epochs: 300, learning_rate: 0.05, l2: 1e-4, seed: 0 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    pub fraction: f64,
    pub train_size: usize,
    pub test_accuracy: f64,
}

/// How many train labels a probe may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LabelBudget {
    /// This share of the train split, in (0, 1].
    Fraction(f64),
    /// This many items of each class (fewer when a class has fewer).
    PerClass(usize),
}

impl std::str::FromStr for LabelBudget {
    type Err = String;
    /// `1%`, `10%`, `100%`, `0.05`, or `N-per-class`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let t = s.trim();
        let bad = || format!("'{s}' is not a label budget (expected e.g. 1%, 10%, 100%, 0.05 or 5-per-class)");
        let budget = if let Some(n) = t.strip_suffix("-per-class") {
            LabelBudget::PerClass(n.trim().parse().map_err(|_| bad())?)
        } else if let Some(p) = t.strip_suffix('%') {
            LabelBudget::Fraction(p.trim().parse::<f64>().map_err(|_| bad())? / 100.0)
        } else {
            LabelBudget::Fraction(t.parse().map_err(|_| bad())?)
        };
        match budget {
            LabelBudget::Fraction(f) if !(f > 0.0 && f <= 1.0) => Err(format!("label share {s} is not in (0, 100 %]")),
            LabelBudget::PerClass(0) => Err("at least one label per class is needed".into()),
            b => Ok(b),
        }
    }
}

impl std::fmt::Display for LabelBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabelBudget::Fraction(x) => write!(f, "{}%", (x * 1e4).round() / 100.0),
            LabelBudget::PerClass(n) => write!(f, "{n}-per-class"),
        }
    }
}

/// A probe's test accuracy with its confusion matrix (rows: true class, columns: predicted).
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetResult {
    pub budget: LabelBudget,
    pub train_size: usize,
    pub test_accuracy: f64,
    pub confusion: Vec<Vec<usize>>,
}

/// Trains one probe per budget and reports accuracy and confusion on `test`. The items are
/// taken in one seeded shuffled order, so a smaller budget's items are among a larger one's.
pub fn probe_budgets(
    train: &Matrix,
    train_labels: &[u32],
    test: &Matrix,
    test_labels: &[u32],
    budgets: &[LabelBudget],
    params: &ProbeParams,
) -> Result<Vec<BudgetResult>> {
    check_shapes(train, train_labels, test, test_labels)?;
    let classes = train_labels.iter().chain(test_labels).max().map_or(0, |&m| m as usize + 1);
    let (train, test) = standardised(train, test);
    let mut order: Vec<usize> = (0..train.rows).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(params.seed));
    budgets
        .iter()
        .map(|&budget| {
            let subset: Vec<usize> = match budget {
                LabelBudget::Fraction(f) => {
                    let take = ((train.rows as f64 * f).round() as usize).clamp(1, train.rows);
                    order[..take].to_vec()
                }
                LabelBudget::PerClass(n) => {
                    let mut taken = vec![0usize; classes];
                    order.iter().copied().filter(|&i| {
                        let c = train_labels[i] as usize;
                        taken[c] += 1;
                        taken[c] <= n
                    }).collect()
                }
            };
            let y: Vec<u32> = subset.iter().map(|&i| train_labels[i]).collect();
            let w = fit_softmax(&train.select_rows(&subset), &y, classes, params);
            let predicted: Vec<u32> = (0..test.rows).into_par_iter().map(|i| predict(&w, test.row(i), classes)).collect();
            let mut confusion = vec![vec![0usize; classes]; classes];
            for (&p, &t) in predicted.iter().zip(test_labels) {
                confusion[t as usize][p as usize] += 1;
            }
            let correct = predicted.iter().zip(test_labels).filter(|(p, t)| p == t).count();
            Ok(BudgetResult { budget, train_size: subset.len(), test_accuracy: correct as f64 / test.rows as f64, confusion })
        })
        .collect()
}

fn check_shapes(train: &Matrix, train_labels: &[u32], test: &Matrix, test_labels: &[u32]) -> Result<()> {
    if train.rows != train_labels.len() || test.rows != test_labels.len() || train.cols != test.cols {
        return Err(PretextError::Analysis("linear probe: rows, labels and widths must match".into()));
    }
    if train.rows == 0 || test.rows == 0 {
        return Err(PretextError::Analysis("linear probe needs training and test rows".into()));
    }
    Ok(())
}

/// Both matrices standardised with the train matrix's column statistics.
fn standardised(train: &Matrix, test: &Matrix) -> (Matrix, Matrix) {
    let (mean, std) = column_stats(train);
    (standardise(train, &mean, &std), standardise(test, &mean, &std))
}

fn standardise(m: &Matrix, mean: &[f32], std: &[f32]) -> Matrix {
    let mut out = m.clone();
    out.data.chunks_mut(m.cols).for_each(|r| r.iter_mut().enumerate().for_each(|(j, v)| *v = (*v - mean[j]) / std[j]));
    out
}

/// A probe fitted once that gives class probabilities for any rows: the app fits it on the
/// items a user tagged and asks it about the rest (predicted class, confidence).
#[derive(Debug, Clone)]
pub struct SoftmaxProbe {
    mean: Vec<f32>,
    std: Vec<f32>,
    weights: Vec<f32>,
    classes: usize,
}

impl SoftmaxProbe {
    /// Fits on rows `x` with classes `y` (each below `classes`), standardised as the probe is.
    pub fn fit(x: &Matrix, y: &[u32], classes: usize, params: &ProbeParams) -> Result<Self> {
        if x.rows == 0 || x.rows != y.len() {
            return Err(PretextError::Analysis(format!("probe: {} rows but {} labels", x.rows, y.len())));
        }
        if let Some(bad) = y.iter().find(|&&c| c as usize >= classes) {
            return Err(PretextError::Analysis(format!("probe: class {bad} of {classes}")));
        }
        let (mean, std) = column_stats(x);
        let weights = fit_softmax(&standardise(x, &mean, &std), y, classes, params);
        Ok(Self { mean, std, weights, classes })
    }

    /// Class probabilities of each row of `x` (rows × classes).
    pub fn probabilities(&self, x: &Matrix) -> Result<Matrix> {
        if x.cols != self.mean.len() {
            return Err(PretextError::Analysis(format!("probe fitted on {} columns, asked about {}", self.mean.len(), x.cols)));
        }
        let xs = standardise(x, &self.mean, &self.std);
        let classes = self.classes;
        let mut out = vec![0f32; x.rows * classes];
        out.par_chunks_mut(classes).enumerate().for_each(|(i, z)| {
            logits(&self.weights, xs.row(i), classes, z);
            softmax_in_place(z);
        });
        Ok(Matrix::new(out, x.rows, classes))
    }
}

/// Trains one probe per fraction of `train` and reports accuracy on `test`.
pub fn linear_probe(
    train: &Matrix,
    train_labels: &[u32],
    test: &Matrix,
    test_labels: &[u32],
    params: &ProbeParams,
) -> Result<Vec<ProbeResult>> {
    if let Some(bad) = params.fractions.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
        return Err(PretextError::InvalidConfig(format!("probe fraction {bad} is not in (0, 1]")));
    }
    let budgets: Vec<LabelBudget> = params.fractions.iter().map(|&f| LabelBudget::Fraction(f)).collect();
    let results = probe_budgets(train, train_labels, test, test_labels, &budgets, params)?;
    Ok(results
        .into_iter()
        .zip(&params.fractions)
        .map(|(r, &fraction)| ProbeResult { fraction, train_size: r.train_size, test_accuracy: r.test_accuracy })
        .collect())
}

fn column_stats(m: &Matrix) -> (Vec<f32>, Vec<f32>) {
    let n = m.rows as f64;
    let mut sum = vec![0.0f64; m.cols];
    let mut sq = vec![0.0f64; m.cols];
    for r in m.data.chunks(m.cols) {
        for (j, &v) in r.iter().enumerate() {
            sum[j] += v as f64;
            sq[j] += (v as f64) * (v as f64);
        }
    }
    let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let std = sq.iter().zip(&sum).map(|(q, s)| ((q / n - (s / n).powi(2)).max(0.0).sqrt() as f32).max(1e-6)).collect();
    (mean, std)
}

/// Weights laid out as `classes × (cols + 1)`, the last column being the bias.
fn logits(w: &[f32], x: &[f32], classes: usize, out: &mut [f32]) {
    let stride = x.len() + 1;
    for c in 0..classes {
        let row = &w[c * stride..(c + 1) * stride];
        out[c] = super::distance::dot(&row[..x.len()], x) + row[x.len()];
    }
}

/// Logits to probabilities, shifted by the largest logit so `exp` cannot overflow.
fn softmax_in_place(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::MIN, f32::max);
    let total: f32 = z.iter_mut().map(|v| {
        *v = (*v - max).exp();
        *v
    }).sum();
    z.iter_mut().for_each(|v| *v /= total);
}

fn predict(w: &[f32], x: &[f32], classes: usize) -> u32 {
    let mut z = vec![0.0; classes];
    logits(w, x, classes, &mut z);
    z.iter().enumerate().fold((0, f32::MIN), |b, (c, &v)| if v > b.1 { (c, v) } else { b }).0 as u32
}

/// Full-batch Adam on the softmax cross-entropy. Each epoch is two GEMMs (logits = X·Wᵀ,
/// gradient = Eᵀ·X): on 60,000 × 512 embeddings this takes seconds where a row-by-row loop
/// took minutes.
fn fit_softmax(x: &Matrix, y: &[u32], classes: usize, p: &ProbeParams) -> Vec<f32> {
    let (n, d) = (x.rows, x.cols);
    let stride = d + 1;
    let len = classes * stride;
    let mut w = vec![0.0f32; len];
    let (mut m1, mut m2) = (vec![0.0f32; len], vec![0.0f32; len]);
    let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let mut weights = vec![0.0f32; classes * d];
    for t in 1..=p.epochs {
        for c in 0..classes {
            weights[c * d..(c + 1) * d].copy_from_slice(&w[c * stride..c * stride + d]);
        }
        // n × classes logits, turned in place into softmax − one-hot (the loss's gradient).
        let mut err = linalg::matmul(n, classes, d, View::rows(&x.data, d), View::cols(&weights, d));
        err.par_chunks_mut(classes).zip(y.par_iter()).for_each(|(z, &label)| {
            z.iter_mut().enumerate().for_each(|(c, v)| *v += w[c * stride + d]);
            softmax_in_place(z);
            z.iter_mut().enumerate().for_each(|(c, v)| *v -= f32::from(label as usize == c));
        });
        let grad_w = linalg::matmul(classes, d, n, View::cols(&err, classes), View::rows(&x.data, d));
        let mut grad_b = vec![0.0f32; classes];
        err.chunks(classes).for_each(|z| grad_b.iter_mut().zip(z).for_each(|(g, v)| *g += v));
        let scale = 1.0 / n as f32;
        let (c1, c2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
        for j in 0..len {
            let (c, col) = (j / stride, j % stride);
            let raw = if col < d { grad_w[c * d + col] } else { grad_b[c] };
            let g = raw * scale + p.l2 * w[j];
            m1[j] = b1 * m1[j] + (1.0 - b1) * g;
            m2[j] = b2 * m2[j] + (1.0 - b2) * g * g;
            w[j] -= p.learning_rate * (m1[j] / c1) / ((m2[j] / c2).sqrt() + eps);
        }
    }
    w
}
