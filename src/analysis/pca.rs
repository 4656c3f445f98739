//! Principal component analysis through linfa-reduction (truncated SVD by LOBPCG).

use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use linfa_reduction::Pca;

use crate::analysis::Matrix;
use crate::error::{PretextError, Result};

/// A fitted projection onto the top `k` principal components.
pub struct PcaModel {
    model: Pca<f64>,
    pub k: usize,
}

impl PcaModel {
    pub fn fit(x: &Matrix, k: usize) -> Result<Self> {
        if x.rows < 2 {
            return Err(PretextError::Analysis(format!("PCA needs at least 2 items, got {}", x.rows)));
        }
        let k = k.min(x.cols).min(x.rows - 1).max(1);
        let dataset = DatasetBase::from(x.to_ndarray());
        let model = Pca::params(k)
            .fit(&dataset)
            .map_err(|e| PretextError::Analysis(format!("PCA failed: {e}")))?;
        Ok(Self { model, k })
    }

    pub fn transform(&self, x: &Matrix) -> Matrix {
        let records = x.to_ndarray();
        let projected: ndarray::Array2<f64> = self.model.predict(&records);
        let (rows, cols) = projected.dim();
        Matrix::new(projected.iter().map(|&v| v as f32).collect(), rows, cols)
    }

    pub fn explained_variance_ratio(&self) -> Vec<f32> {
        self.model.explained_variance_ratio().iter().map(|&v| v as f32).collect()
    }
}

/// Projects `x` onto its top `k` principal components.
pub fn project(x: &Matrix, k: usize) -> Result<Matrix> {
    Ok(PcaModel::fit(x, k)?.transform(x))
}
