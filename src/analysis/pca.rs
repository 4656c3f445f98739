//! Principal component analysis with two solvers, chosen as scikit-learn (≥ 1.5) chooses
//! between its "covariance_eigh" and iterative solvers:
//! - linfa-reduction's `Pca` (truncated SVD by LOBPCG, f64) — the general path;
//! - for tall data (n ≥ 2·d, d ≤ 4096; e.g. 70k images × 784 pixels) the exact covariance
//!   route: the d×d covariance from f32 GEMMs over the blocks on and above its diagonal
//!   (`linalg::centred_gram`, AVX-512 kernels where present, over both cores, where
//!   linfa's LOBPCG makes many f64 passes over all n rows through matrixmultiply), then
//!   linfa-linalg's symmetric eigen-decomposition. It is also the fallback for inputs where
//!   LOBPCG breaks down: rank-deficient data such as an untrained encoder's embeddings makes
//!   linfa-linalg panic ("NaN values in array").
//!
//! Either way the fitted model is a mean and k component rows, and projecting is one GEMM.

use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_reduction::Pca;

use crate::analysis::Matrix;
use crate::linalg::{self, View};
use crate::error::{PretextError, Result};

/// How to fit; `Auto` follows scikit-learn's rule above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PcaSolver {
    #[default]
    Auto,
    /// linfa-reduction's LOBPCG truncated SVD (falls back to the covariance route if it fails).
    Lobpcg,
    /// Exact eigen-decomposition of the covariance matrix.
    CovarianceEigh,
}

/// A fitted projection onto the top `k` principal components.
pub struct PcaModel {
    mean: Vec<f32>,
    /// `k` rows of `d` values, unit length, strongest first.
    components: Vec<f32>,
    /// Variance along each component over the total variance (scikit-learn's definition).
    ratios: Vec<f32>,
    pub k: usize,
    /// The solver that produced the fit (`Auto` resolved).
    pub solver: PcaSolver,
}

impl PcaModel {
    pub fn fit(x: &Matrix, k: usize) -> Result<Self> {
        Self::fit_with(x, k, PcaSolver::Auto)
    }

    pub fn fit_with(x: &Matrix, k: usize, solver: PcaSolver) -> Result<Self> {
        if x.rows < 2 || x.cols == 0 {
            return Err(PretextError::Analysis(format!("PCA needs at least 2 items, got {}", x.rows)));
        }
        let k = k.min(x.cols).min(x.rows - 1).max(1);
        let solver = match solver {
            // scikit-learn stops at 1,000 columns; linfa's LOBPCG is far slower than the
            // covariance route beyond that too (70,000 × 1,152 CNN embeddings: over 10 min
            // against seconds), so the route holds up to 4,096 columns (a 64 MB Gram matrix).
            PcaSolver::Auto if x.cols <= 4096 && x.rows >= 2 * x.cols => PcaSolver::CovarianceEigh,
            PcaSolver::Auto => PcaSolver::Lobpcg,
            s => s,
        };
        let stats = ColumnStats::of(x);
        if solver == PcaSolver::Lobpcg {
            if let Some(model) = fit_lobpcg(x, k, &stats) {
                return Ok(model);
            }
        }
        covariance_eigh(x, k, &stats)
    }

    /// Rows of `x` in component coordinates: `(x − mean) · componentsᵀ`.
    pub fn transform(&self, x: &Matrix) -> Matrix {
        let d = self.mean.len();
        assert_eq!(x.cols, d, "PCA transform: the data has a different width than the fit");
        let mut out = linalg::matmul(x.rows, self.k, d, View::rows(&x.data, d), View::cols(&self.components, d));
        // Centre after projecting (mean·W once) instead of copying x centred.
        let shift = linalg::matmul(1, self.k, d, View::rows(&self.mean, d), View::cols(&self.components, d));
        for row in out.chunks_exact_mut(self.k) {
            row.iter_mut().zip(&shift).for_each(|(v, s)| *v -= s);
        }
        Matrix::new(out, x.rows, self.k)
    }

    pub fn explained_variance_ratio(&self) -> Vec<f32> {
        self.ratios.clone()
    }

    /// Component `i` as a unit vector in input space.
    pub fn component(&self, i: usize) -> &[f32] {
        let d = self.mean.len();
        &self.components[i * d..(i + 1) * d]
    }
}

/// Column means and the total variance (sum of column variances, divided by n − 1).
struct ColumnStats {
    mean: Vec<f32>,
    total_variance: f64,
}

impl ColumnStats {
    fn of(x: &Matrix) -> Self {
        let (mean, var) = x.column_moments();
        let n = x.rows as f64;
        Self { mean: mean.iter().map(|&m| m as f32).collect(), total_variance: var.iter().sum::<f64>() * n / (n - 1.0) }
    }

    fn ratio(&self, variance: f64) -> f32 {
        (variance.max(0.0) / self.total_variance.max(f64::MIN_POSITIVE)) as f32
    }
}

/// linfa-reduction's PCA; `None` when LOBPCG fails or panics on this input.
fn fit_lobpcg(x: &Matrix, k: usize, stats: &ColumnStats) -> Option<PcaModel> {
    let dataset = DatasetBase::from(x.to_ndarray());
    let fitted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Pca::params(k).fit(&dataset))).ok()?.ok()?;
    // linfa 0.8.1's `explained_variance` divides σ² by (k − 1) instead of (n − 1); use σ.
    let variances: Vec<f64> = fitted.singular_values().iter().map(|s| s * s / (x.rows - 1) as f64).collect();
    let components: Vec<f32> = fitted.components().iter().map(|&v| v as f32).collect();
    // LOBPCG can return fewer components than asked when k is close to the width (24 of 24
    // columns on 67 rows gave fewer): the exact route then answers instead.
    if !variances.iter().all(|v| v.is_finite()) || components.len() != k * x.cols {
        return None;
    }
    Some(PcaModel {
        mean: stats.mean.clone(),
        components,
        ratios: variances.iter().map(|&v| stats.ratio(v)).collect(),
        k,
        solver: PcaSolver::Lobpcg,
    })
}

/// Exact PCA: the covariance by blocked GEMMs, then its top-k eigenpairs.
fn covariance_eigh(x: &Matrix, k: usize, stats: &ColumnStats) -> Result<PcaModel> {
    let (n, d) = (x.rows, x.cols);
    let gram = linalg::centred_gram(&x.data, d, &stats.mean);
    let scale = 1.0 / (n - 1) as f64;
    let cov = ndarray::Array2::from_shape_fn((d, d), |(a, b)| gram[a * d + b] as f64 * scale);
    let (values, vectors) = top_eigenpairs(cov, k)?;
    let mut components = Vec::with_capacity(k * d);
    for column in vectors.columns() {
        // Sign convention: the largest-magnitude entry positive, so refits agree.
        let flip = column.iter().copied().fold(0f64, |m, v| if v.abs() > m.abs() { v } else { m }) < 0.0;
        components.extend(column.iter().map(|&v| if flip { -v as f32 } else { v as f32 }));
    }
    let ratios = values.iter().map(|&v| stats.ratio(v)).collect();
    Ok(PcaModel { mean: stats.mean.clone(), components, ratios, k, solver: PcaSolver::CovarianceEigh })
}

type Eigenpairs = (Vec<f64>, ndarray::Array2<f64>);

/// The `k` largest eigenvalues of a symmetric matrix (descending) and their eigenvectors as
/// columns. LOBPCG on the d×d covariance (linfa-linalg) needs only a few cheap d×d×k
/// products where the full decomposition costs O(d³) (1.2 s against ~0.1 s at d = 784); the
/// full decomposition stays as the fallback for small or degenerate problems where LOBPCG
/// fails to converge.
fn top_eigenpairs(cov: ndarray::Array2<f64>, k: usize) -> Result<Eigenpairs> {
    use linfa_linalg::eigh::Eigh;
    use linfa_linalg::lobpcg::{Order, TruncatedEig};
    use rand_xoshiro::rand_core::SeedableRng;
    let d = cov.nrows();
    if 5 * k < d {
        let truncated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            TruncatedEig::new_with_rng(cov.clone(), Order::Largest, rand_xoshiro::Xoshiro256Plus::seed_from_u64(42))
                .precision(1e-6)
                .maxiter(500)
                .decompose(k)
        }));
        if let Ok(Ok(found)) = truncated {
            if found.eigvals.iter().chain(found.eigvecs.iter()).all(|v| v.is_finite()) {
                let mut order: Vec<usize> = (0..found.eigvals.len()).collect();
                order.sort_by(|&a, &b| found.eigvals[b].total_cmp(&found.eigvals[a]));
                let values = order.iter().map(|&i| found.eigvals[i]).collect();
                return Ok((values, found.eigvecs.select(ndarray::Axis(1), &order)));
            }
        }
    }
    let (values, vectors) = cov.eigh().map_err(|e| PretextError::Analysis(format!("PCA failed: {e}")))?;
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order.truncate(k);
    Ok((order.iter().map(|&i| values[i]).collect(), vectors.select(ndarray::Axis(1), &order)))
}

/// Projects `x` onto its top `k` principal components.
pub fn project(x: &Matrix, k: usize) -> Result<Matrix> {
    Ok(PcaModel::fit(x, k)?.transform(x))
}
