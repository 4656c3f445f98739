//! Principal component analysis through linfa-reduction (truncated SVD by LOBPCG), with an
//! exact fallback (eigen-decomposition of the covariance) for the inputs where LOBPCG breaks
//! down: rank-deficient data such as an untrained encoder's embeddings makes linfa-linalg
//! panic ("NaN values in array").

use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use linfa_reduction::Pca;

use crate::analysis::Matrix;
use crate::error::{PretextError, Result};

/// A fitted projection onto the top `k` principal components.
pub struct PcaModel {
    fitted: Fitted,
    pub k: usize,
}

enum Fitted {
    Linfa(Pca<f64>),
    /// Mean, components (k rows of d), explained variance ratios.
    Covariance { mean: Vec<f32>, components: Vec<f32>, ratios: Vec<f32> },
}

impl PcaModel {
    pub fn fit(x: &Matrix, k: usize) -> Result<Self> {
        if x.rows < 2 {
            return Err(PretextError::Analysis(format!("PCA needs at least 2 items, got {}", x.rows)));
        }
        let k = k.min(x.cols).min(x.rows - 1).max(1);
        let dataset = DatasetBase::from(x.to_ndarray());
        let linfa = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Pca::params(k).fit(&dataset)));
        let fitted = match linfa {
            Ok(Ok(model)) if model.explained_variance().iter().all(|v| v.is_finite()) => Fitted::Linfa(model),
            _ => covariance_pca(x, k)?,
        };
        Ok(Self { fitted, k })
    }

    pub fn transform(&self, x: &Matrix) -> Matrix {
        match &self.fitted {
            Fitted::Linfa(model) => {
                let records = x.to_ndarray();
                let projected: ndarray::Array2<f64> = model.predict(&records);
                let (rows, cols) = projected.dim();
                Matrix::new(projected.iter().map(|&v| v as f32).collect(), rows, cols)
            }
            Fitted::Covariance { mean, components, .. } => {
                let mut out = Vec::with_capacity(x.rows * self.k);
                for r in 0..x.rows {
                    let row = x.row(r);
                    for c in components.chunks(x.cols) {
                        out.push(row.iter().zip(mean).zip(c).map(|((v, m), w)| (v - m) * w).sum());
                    }
                }
                Matrix::new(out, x.rows, self.k)
            }
        }
    }

    pub fn explained_variance_ratio(&self) -> Vec<f32> {
        match &self.fitted {
            Fitted::Linfa(model) => model.explained_variance_ratio().iter().map(|&v| v as f32).collect(),
            Fitted::Covariance { ratios, .. } => ratios.clone(),
        }
    }
}

/// Exact PCA: the covariance by one GEMM (candle), then its full eigen-decomposition.
fn covariance_pca(x: &Matrix, k: usize) -> Result<Fitted> {
    use candle_core::{Device, Tensor};
    use linfa_linalg::eigh::Eigh;
    let (n, d) = (x.rows, x.cols);
    let mut mean = vec![0f32; d];
    for r in 0..n {
        mean.iter_mut().zip(x.row(r)).for_each(|(m, v)| *m += v / n as f32);
    }
    let centred: Vec<f32> = x.data.chunks(d).flat_map(|row| row.iter().zip(&mean).map(|(v, m)| v - m)).collect();
    let cov = (|| -> candle_core::Result<Vec<f32>> {
        let t = Tensor::from_vec(centred, (n, d), &Device::Cpu)?;
        t.t()?.matmul(&t)?.flatten_all()?.to_vec1()
    })()
    .map_err(|e| PretextError::Analysis(format!("PCA failed: {e}")))?;
    let cov = ndarray::Array2::from_shape_fn((d, d), |(a, b)| 0.5 * (cov[a * d + b] + cov[b * d + a]) as f64 / (n - 1) as f64);
    let (values, vectors) = cov.eigh().map_err(|e| PretextError::Analysis(format!("PCA failed: {e}")))?;
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum::<f64>().max(f64::MIN_POSITIVE);
    let mut components = Vec::with_capacity(k * d);
    let mut ratios = Vec::with_capacity(k);
    for &c in order.iter().take(k) {
        components.extend(vectors.column(c).iter().map(|&v| v as f32));
        ratios.push((values[c].max(0.0) / total) as f32);
    }
    Ok(Fitted::Covariance { mean, components, ratios })
}

/// Projects `x` onto its top `k` principal components.
pub fn project(x: &Matrix, k: usize) -> Result<Matrix> {
    Ok(PcaModel::fit(x, k)?.transform(x))
}
