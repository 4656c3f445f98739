//! The computations behind the background jobs, as plain functions of core types (no egui),
//! so they can be tested and reused off the UI thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::SeedableRng;

use crate::analysis::neighbors::{top_k_cosine, Neighbor};
use crate::analysis::{kmeans, metrics, pca, Matrix};
use crate::app::jobs::{ClusterResult, LoadedData};
use crate::app::map::align;
use crate::data::{load_dataset, Dataset, LoadOptions};
use crate::export::{write_csv, write_npy_ints, write_npy_matrix, write_projector_tsv, RowMeta};
use crate::ssl::trainer::map_subset;

/// PCA is fitted on at most this many rows, then applied to all of them in chunks: the map
/// needs the main axes, not their last decimal, and linfa copies its input to f64.
const PCA_FIT_ROWS: usize = 4_000;
const PCA_CHUNK: usize = 8_192;

pub fn load(path: &Path, map_items: usize, seed: u64, progress: Arc<dyn Fn(f32) + Send + Sync>) -> Result<LoadedData, String> {
    let opts = LoadOptions { progress: Some(progress), ..LoadOptions::default() };
    let dataset = load_dataset(path, &opts).map_err(|e| e.to_string())?;
    if dataset.is_empty() {
        return Err(format!("{}: the dataset has no items", path.display()));
    }
    let dataset = Arc::new(dataset);
    let indices = map_subset(dataset.len(), map_items, seed);
    let raw = raw_features(&dataset, &indices);
    let layout = project(&raw, None)?;
    let baseline_knn = crate::ssl::evaluate::evaluate(&dataset, &indices, &raw, 0).ok().and_then(|r| r.knn_accuracy);
    Ok(LoadedData { path: path.to_path_buf(), dataset, map_indices: Arc::new(indices), raw: Arc::new(raw), layout, baseline_knn })
}

/// The items themselves as rows: the "embedding" the map shows before any training.
pub fn raw_features(ds: &Dataset, indices: &[usize]) -> Matrix {
    let d = ds.item_len();
    let mut data = Vec::with_capacity(indices.len() * d);
    for &i in indices {
        data.extend_from_slice(ds.global_item(i));
    }
    Matrix::new(data, indices.len(), d)
}

/// 2D PCA layout of `x`, aligned onto `reference` when given (same rows), else normalised.
pub fn project(x: &Matrix, reference: Option<&[[f32; 2]]>) -> Result<Vec<[f32; 2]>, String> {
    let layout = if x.rows < 3 || x.cols < 2 {
        // Too small for PCA: spread the rows on a line so they can still be clicked.
        (0..x.rows).map(|i| [i as f32, x.row(i).first().copied().unwrap_or(0.0)]).collect()
    } else {
        let stride = x.rows.div_ceil(PCA_FIT_ROWS);
        let fit_rows: Vec<usize> = (0..x.rows).step_by(stride).collect();
        let model = pca::PcaModel::fit(&x.select_rows(&fit_rows), 2).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(x.rows);
        for start in (0..x.rows).step_by(PCA_CHUNK) {
            let rows: Vec<usize> = (start..(start + PCA_CHUNK).min(x.rows)).collect();
            let p = model.transform(&x.select_rows(&rows));
            out.extend((0..p.rows).map(|i| [p.row(i)[0], p.row(i).get(1).copied().unwrap_or(0.0)]));
        }
        out
    };
    if layout.iter().any(|p| !p[0].is_finite() || !p[1].is_finite()) {
        return Err("the projection produced non-finite coordinates".into());
    }
    Ok(match reference {
        Some(r) if r.len() == layout.len() => align::align_to(r, &layout),
        _ => align::normalise(&layout),
    })
}

/// Labels of the map rows (None for the whole map if the dataset has none).
pub fn map_labels(ds: &Dataset, indices: &[usize]) -> Option<Vec<u32>> {
    indices.iter().map(|&i| ds.global_label(i)).collect()
}

pub fn cluster(x: &Matrix, labels: Option<&[u32]>, k: usize, seed: u64) -> Result<ClusterResult, String> {
    let assignments = kmeans::fit(x, k, seed).map_err(|e| e.to_string())?;
    let summaries = metrics::cluster_summaries(&assignments, labels, k);
    let as_usize = labels.map(|l| l.iter().map(|&v| v as usize).collect::<Vec<_>>());
    let nmi = as_usize.as_ref().map(|l| metrics::nmi(&assignments, l));
    let ari = as_usize.as_ref().map(|l| metrics::ari(&assignments, l));
    Ok(ClusterResult { k, assignments, summaries, nmi, ari })
}

/// Bank size above which the kNN-correctness colouring votes among a sample of the map.
const KNN_BANK: usize = 12_000;

/// For each map row: does a weighted 20-NN vote among the other map rows give its label?
/// Same protocol as the live evaluation (DINO's weighted kNN).
pub fn knn_correct(x: &Matrix, labels: &[u32], seed: u64) -> Result<Vec<Option<bool>>, String> {
    let protocol = crate::analysis::knn::KnnProtocol::default();
    let bank_rows = map_subset(x.rows, KNN_BANK, seed);
    let bank = x.select_rows(&bank_rows);
    let neighbours = top_k_cosine(&bank, x, protocol.k + 1, None).map_err(|e| e.to_string())?;
    let classes = labels.iter().copied().max().unwrap_or(0) as usize + 1;
    Ok(neighbours
        .iter()
        .enumerate()
        .map(|(row, nn)| {
            let mut votes = vec![0f64; classes];
            for n in nn.iter().filter(|n| bank_rows[n.index] != row).take(protocol.k) {
                votes[labels[bank_rows[n.index]] as usize] += ((n.similarity / protocol.temperature) as f64).exp();
            }
            let predicted = votes.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(c, _)| c as u32);
            predicted.map(|p| p == labels[row])
        })
        .collect())
}

/// The `k` map rows nearest to `query` (a single row), cosine in embedding space.
pub fn nearest(x: &Matrix, query: &Matrix, k: usize) -> Result<Vec<Neighbor>, String> {
    Ok(top_k_cosine(x, query, k, None).map_err(|e| e.to_string())?.pop().unwrap_or_default())
}

/// What an export writes, for a set of map rows.
pub struct ExportRows {
    pub embeddings: Matrix,
    pub indices: Vec<usize>,
    pub labels: Option<Vec<String>>,
    pub label_ids: Vec<i64>,
    pub clusters: Option<Vec<usize>>,
}

pub fn export_rows(ds: &Dataset, map_indices: &[usize], x: &Matrix, rows: &[usize], clusters: Option<&[usize]>) -> ExportRows {
    let indices: Vec<usize> = rows.iter().map(|&r| map_indices[r]).collect();
    let labels = ds.has_labels().then(|| indices.iter().map(|&i| ds.global_label(i).map_or("?".into(), |l| ds.class_name(l).to_string())).collect());
    let label_ids = indices.iter().map(|&i| ds.global_label(i).map_or(-1, |l| l as i64)).collect();
    ExportRows {
        embeddings: x.select_rows(rows),
        indices,
        labels,
        label_ids,
        clusters: clusters.map(|c| rows.iter().map(|&r| c[r]).collect()),
    }
}

/// Writes `embeddings.npy`, `indices.npy`, `labels.npy`, `embeddings.csv` and the projector
/// pair under `dir`. Returns the list of files written, for the status line.
pub fn export_all(dir: &Path, rows: &ExportRows) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let e = |e: crate::PretextError| e.to_string();
    let meta = RowMeta { index: &rows.indices, label: rows.labels.clone(), cluster: rows.clusters.as_deref() };
    let files = [dir.join("embeddings.npy"), dir.join("indices.npy"), dir.join("labels.npy"), dir.join("embeddings.csv"), dir.join("projector")];
    write_npy_matrix(&files[0], &rows.embeddings).map_err(e)?;
    write_npy_ints(&files[1], &rows.indices.iter().map(|&i| i as i64).collect::<Vec<_>>()).map_err(e)?;
    write_npy_ints(&files[2], &rows.label_ids).map_err(e)?;
    write_csv(&files[3], &rows.embeddings, &meta).map_err(e)?;
    write_projector_tsv(&files[4], &rows.embeddings, &meta).map_err(e)?;
    Ok(files.to_vec())
}

/// A few augmented views of one item (what the contrastive objective compares).
pub fn augmented_views(ds: &Dataset, item: usize, cfg: &crate::ssl::AugmentConfig, count: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    crate::data::augment::sample_views(ds.global_item(item), &ds.modality, &ds.train, cfg, count, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_of_rotated_data_aligns_onto_the_previous_layout() {
        let x = Matrix::new((0..300).map(|i| ((i * 37 % 101) as f32).sin() * (1 + i % 3) as f32).collect(), 100, 3);
        let first = project(&x, None).unwrap();
        // Same data with its columns permuted and one negated: the PCA axes change, the map must not.
        let y = Matrix::new((0..100).flat_map(|r| [-x.row(r)[2], x.row(r)[0], x.row(r)[1]]).collect(), 100, 3);
        let second = project(&y, Some(&first)).unwrap();
        let err = first.iter().zip(&second).map(|(a, b)| (a[0] - b[0]).abs() + (a[1] - b[1]).abs()).fold(0.0, f32::max);
        assert!(err < 1e-2, "aligned layout moved by {err}");
    }

    #[test]
    fn knn_correctness_follows_separated_classes() {
        // Two tight groups in different directions; each point's neighbours share its label.
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for i in 0..60 {
            let c = (i % 2) as u32;
            let jitter = (i as f32 * 0.1).sin() * 0.01;
            data.extend(if c == 0 { [1.0, jitter] } else { [jitter, 1.0] });
            labels.push(c);
        }
        let x = Matrix::new(data, 60, 2);
        let correct = knn_correct(&x, &labels, 0).unwrap();
        assert!(correct.iter().all(|c| *c == Some(true)));
        // Swap one label: that point is now voted wrong.
        labels[0] = 1;
        assert_eq!(knn_correct(&x, &labels, 0).unwrap()[0], Some(false));
    }
}
