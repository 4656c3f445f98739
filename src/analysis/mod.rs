//! Analysis of embeddings: projection to 2D, clustering, neighbour search and quality metrics.
//! Everything here works on plain row-major `f32` matrices ([`Matrix`]) so that the trainer,
//! the CLI and the GUI can share results without copying between array types.

pub mod baseline;
pub mod kmeans;
pub mod knn;
pub mod metrics;
pub mod neighbors;
pub mod pca;
pub mod tfidf;
pub mod affinity; pub mod align; pub mod coreset; pub mod distance; pub mod fastmath; pub mod fuzzy; pub mod grid2d; pub mod hdbscan; pub mod hnsw; pub mod index; pub mod init;
pub mod density; pub mod place; pub mod place_scale; pub mod probe; pub mod quality; pub mod reproject; pub mod scores; pub mod spectral; pub mod tsne; pub mod tsne_bh; pub mod tsne_fft; pub mod umap;

use std::sync::Arc;

/// A dense row-major matrix of `rows × cols` f32 values (embeddings, features, 2D layouts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matrix {
    pub data: Vec<f32>,
    pub rows: usize,
    pub cols: usize,
}

impl Matrix {
    pub fn new(data: Vec<f32>, rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix buffer does not match its shape");
        Self { data, rows, cols }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn select_rows(&self, indices: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Matrix::new(data, indices.len(), self.cols)
    }

    /// Rows scaled to unit length (zero rows stay zero), for cosine similarity as a dot product.
    pub fn l2_normalized(&self) -> Matrix {
        let mut out = self.clone();
        for row in out.data.chunks_mut(self.cols.max(1)) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                row.iter_mut().for_each(|v| *v /= norm);
            }
        }
        out
    }

    pub fn to_ndarray(&self) -> ndarray::Array2<f64> {
        ndarray::Array2::from_shape_fn((self.rows, self.cols), |(i, j)| self.data[i * self.cols + j] as f64)
    }

    /// Per-column mean and population variance, accumulated in f64.
    pub fn column_moments(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.rows.max(1) as f64;
        let mut sum = vec![0f64; self.cols];
        let mut sq = vec![0f64; self.cols];
        for row in self.data.chunks_exact(self.cols.max(1)) {
            for ((s, q), &v) in sum.iter_mut().zip(sq.iter_mut()).zip(row) {
                *s += v as f64;
                *q += v as f64 * v as f64;
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let var = sq.iter().zip(&mean).map(|(q, m)| (q / n - m * m).max(0.0)).collect();
        (mean, var)
    }

    pub fn shared(self) -> Arc<Matrix> {
        Arc::new(self)
    }
}
