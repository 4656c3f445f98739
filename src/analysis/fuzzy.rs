//! UMAP's fuzzy simplicial set (McInnes, Healy & Melville 2018, §3): per-point smooth kNN
//! distances, exponential membership strengths, and the fuzzy union `a + b − ab` that
//! symmetrises the directed kNN graph. Also the fit of the output curve's `a`, `b` to
//! `min_dist`/`spread`.

use rayon::prelude::*;

/// A symmetric weighted graph as an edge list sorted by head, then tail.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub n: usize,
    pub head: Vec<u32>,
    pub tail: Vec<u32>,
    pub weight: Vec<f32>,
}

/// Membership strengths of each point's kNN list (self excluded), `n_neighbors` counting
/// the point itself as umap-learn does: `Σ_j exp(−(d_j − ρ)/σ) = log2(n_neighbors)`.
pub fn fuzzy_simplicial_set(knn: &[Vec<(usize, f32)>], n_neighbors: usize) -> Graph {
    let n = knn.len();
    let mean_all = mean_distance(knn);
    let directed: Vec<Vec<(u32, u32, f32)>> = knn
        .par_iter()
        .enumerate()
        .map(|(i, list)| {
            list.iter()
                .zip(memberships(list, n_neighbors, mean_all))
                .filter(|&(&(j, _), _)| j != i)
                .map(|(&(j, _), w)| (i as u32, j as u32, w))
                .collect()
        })
        .collect();
    // Every directed edge both ways, then merge pairs: one entry is w, two are a + b − ab.
    let mut both: Vec<(u64, f32)> = directed
        .iter()
        .flatten()
        .flat_map(|&(i, j, w)| [(((i as u64) << 32) | j as u64, w), (((j as u64) << 32) | i as u64, w)])
        .collect();
    both.par_sort_unstable_by_key(|e| e.0);
    let mut g = Graph { n, ..Default::default() };
    let mut k = 0;
    while k < both.len() {
        let (key, a) = both[k];
        let (w, step) = if k + 1 < both.len() && both[k + 1].0 == key {
            let b = both[k + 1].1;
            (a + b - a * b, 2)
        } else {
            (a, 1)
        };
        if w > 0.0 {
            g.head.push((key >> 32) as u32);
            g.tail.push(key as u32);
            g.weight.push(w);
        }
        k += step;
    }
    g
}

/// The mean distance over every kNN list (σ's floor for points whose neighbours all
/// coincide with them).
pub fn mean_distance(knn: &[Vec<(usize, f32)>]) -> f64 {
    let (s, c) = knn.iter().flatten().fold((0.0f64, 0usize), |(s, c), p| (s + p.1 as f64, c + 1));
    if c > 0 { s / c as f64 } else { 0.0 }
}

/// Membership strength of each entry of one point's neighbour list (nearest first):
/// `exp(−(d − ρ)/σ)`, with ρ the distance to the nearest neighbour not coinciding with it and
/// σ found so the strengths sum to `log2(n_neighbors)`.
pub fn memberships(list: &[(usize, f32)], n_neighbors: usize, mean_all: f64) -> Vec<f32> {
    let target = (n_neighbors.max(2) as f64).log2();
    let rho = list.iter().map(|p| p.1 as f64).find(|&d| d > 0.0).unwrap_or(0.0);
    let sigma = smooth_sigma(list, rho, target, mean_all);
    list.iter()
        .map(|&(_, d)| {
            let excess = d as f64 - rho;
            (if excess <= 0.0 || sigma == 0.0 { 1.0 } else { (-excess / sigma).exp() }) as f32
        })
        .collect()
}

/// Binary search for σ, with umap-learn's floor of 1e-3 × mean distance.
fn smooth_sigma(list: &[(usize, f32)], rho: f64, target: f64, mean_all: f64) -> f64 {
    let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
    for _ in 0..64 {
        let psum: f64 = list
            .iter()
            .map(|p| {
                let d = p.1 as f64 - rho;
                if d > 0.0 { (-d / mid).exp() } else { 1.0 }
            })
            .sum();
        if (psum - target).abs() < 1e-5 {
            break;
        }
        if psum > target {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = if hi.is_infinite() { mid * 2.0 } else { (lo + hi) / 2.0 };
        }
    }
    let mean_here = if list.is_empty() { 0.0 } else { list.iter().map(|p| p.1 as f64).sum::<f64>() / list.len() as f64 };
    let floor = 1e-3 * if rho > 0.0 { mean_here } else { mean_all };
    mid.max(floor)
}

/// Least-squares fit of `1 / (1 + a x^(2b))` to the target curve (1 below `min_dist`,
/// `exp(−(x − min_dist)/spread)` above) on 300 points in `[0, 3·spread]`, by
/// Levenberg–Marquardt on the two parameters, as umap-learn's `find_ab_params`.
pub fn fit_ab(min_dist: f32, spread: f32) -> (f32, f32) {
    let (md, sp) = (min_dist as f64, spread as f64);
    let xs: Vec<f64> = (0..300).map(|i| 3.0 * sp * i as f64 / 299.0).collect();
    let ys: Vec<f64> = xs.iter().map(|&x| if x < md { 1.0 } else { (-(x - md) / sp).exp() }).collect();
    let loss = |a: f64, b: f64| -> f64 {
        xs.iter().zip(&ys).map(|(&x, &y)| (1.0 / (1.0 + a * x.powf(2.0 * b)) - y).powi(2)).sum()
    };
    let (mut a, mut b, mut lambda) = (1.0f64, 1.0f64, 1e-3f64);
    let mut current = loss(a, b);
    for _ in 0..500 {
        // Normal equations JᵀJ δ = −Jᵀr for the 2 parameters.
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in xs.iter().zip(&ys) {
            if x <= 0.0 {
                continue; // f = 1 there for every a, b: no gradient.
            }
            let p = x.powf(2.0 * b);
            let f = 1.0 / (1.0 + a * p);
            let da = -p * f * f;
            let db = -a * p * 2.0 * x.ln() * f * f;
            let r = f - y;
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let (m11, m22) = (jaa * (1.0 + lambda), jbb * (1.0 + lambda));
        let det = m11 * m22 - jab * jab;
        if det.abs() < 1e-300 {
            break;
        }
        let step_a = -(m22 * ga - jab * gb) / det;
        let step_b = -(m11 * gb - jab * ga) / det;
        let trial = loss(a + step_a, b + step_b);
        if trial < current && a + step_a > 0.0 && b + step_b > 0.0 {
            let done = (current - trial) < 1e-14;
            a += step_a;
            b += step_b;
            current = trial;
            lambda = (lambda / 3.0).max(1e-12);
            if done {
                break;
            }
        } else {
            lambda *= 4.0;
        }
    }
    (a as f32, b as f32)
}
