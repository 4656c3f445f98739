//! The data side of `pretext bench analysis`: Fashion-MNIST in, exact neighbours for the
//! recall figures, and the `.npy` files `bench/peers.py` reads.

use std::path::Path;

use crate::analysis::index::{IndexParams, Metric, NeighborIndex};
use crate::analysis::Matrix;
use crate::data::idx::read_idx;
use crate::error::{PretextError, Result};

/// Fashion-MNIST train then test images as `[0, 1]` floats; returns the matrix and the
/// number of training rows (the rest are the index queries).
pub(super) fn load_fashion(dir: &Path, limit: Option<usize>) -> Result<(Matrix, usize)> {
    let train = read_idx(&dir.join("train-images-idx3-ubyte.gz"))?;
    let test = read_idx(&dir.join("t10k-images-idx3-ubyte.gz"))?;
    let width: usize = train.dims.iter().skip(1).product();
    if width == 0 || test.dims.iter().skip(1).product::<usize>() != width {
        return Err(PretextError::BadData("Fashion-MNIST train and test images differ in size".into()));
    }
    let (n_train, n_test) = (train.data.len() / width, test.data.len() / width);
    let (n_train, n_test) = match limit {
        Some(l) => {
            let tr = (l * 6 / 7).min(n_train);
            (tr, l.saturating_sub(tr).min(n_test))
        }
        None => (n_train, n_test),
    };
    let data: Vec<f32> = train.data[..n_train * width]
        .iter()
        .chain(&test.data[..n_test * width])
        .map(|&v| v as f32 / 255.0)
        .collect();
    Ok((Matrix::new(data, n_train + n_test, width), n_train))
}

pub(super) fn exact_ground_truth(train: &Matrix, queries: &Matrix, count: usize, k: usize) -> Result<Vec<Vec<usize>>> {
    let exact = NeighborIndex::build(train, Metric::Euclidean, IndexParams { exact_threshold: usize::MAX, ..IndexParams::default() })?;
    let q = queries.select_rows(&(0..count).collect::<Vec<_>>());
    Ok(exact.search_batch(&q, k).into_iter().map(|r| r.into_iter().map(|p| p.0).collect()).collect())
}

pub fn recall_at(found: &[Vec<(usize, f32)>], truth: &[Vec<usize>]) -> f64 {
    let total: usize = truth.iter().map(Vec::len).sum();
    let hit: usize = found.iter().zip(truth).map(|(f, t)| f.iter().filter(|p| t.contains(&p.0)).count()).sum();
    if total == 0 { 0.0 } else { hit as f64 / total as f64 }
}

pub(super) fn write_npy(path: &Path, m: &Matrix) -> Result<()> {
    write_raw_npy(path, "<f4", m.rows, m.cols, &m.data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>())
}

pub(super) fn write_npy_u32(path: &Path, v: &[u32], rows: usize, cols: usize) -> Result<()> {
    write_raw_npy(path, "<u4", rows, cols, &v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>())
}

/// NPY format 1.0: magic, header dict padded so the data starts on a 64-byte boundary.
fn write_raw_npy(path: &Path, descr: &str, rows: usize, cols: usize, bytes: &[u8]) -> Result<()> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + bytes.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(bytes);
    std::fs::write(path, out).map_err(|e| PretextError::io(path, e))
}
