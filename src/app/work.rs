//! The computations behind the background jobs, as plain functions of core types (no egui),
//! so they can be tested and reused off the UI thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::SeedableRng;

use crate::analysis::neighbors::{top_k_cosine, Neighbor};
use crate::analysis::pca::{PcaModel, PcaSolver};
use crate::analysis::{hdbscan, kmeans, metrics, tsne, umap, Matrix};
use crate::app::settings::Projection;
use crate::app::jobs::{ClusterResult, LoadedData};
use crate::analysis::align;
use crate::data::{load_dataset, Dataset, LoadOptions};
use crate::export::{write_csv_with_ids, write_npy_ints, write_npy_matrix, write_parquet, write_projector_tsv_with_ids, write_tag_npys, ExtraColumns, RowMeta};
use crate::ssl::trainer::map_subset;

/// Reads a dataset (data without a split of its own is split with `split_seed`) and lays
/// out a seeded map subset of its raw features.
#[allow(clippy::too_many_arguments)]
pub fn load(
    path: &Path,
    read: &crate::app::read_options::ReadOptions,
    split_seed: u64,
    map_items: usize,
    seed: u64,
    method: Projection,
    progress: Arc<dyn Fn(f32) + Send + Sync>,
) -> Result<LoadedData, String> {
    let opts = read.apply(LoadOptions { progress: Some(progress), seed: split_seed, ..LoadOptions::default() });
    let dataset = load_dataset(path, &opts).map_err(|e| e.to_string())?;
    if dataset.is_empty() {
        return Err(format!("{}: the dataset has no items", path.display()));
    }
    let dataset = Arc::new(dataset);
    // A streamed dataset is larger than memory is meant to hold: its map is a sample.
    let map_items = if dataset.is_streamed() { map_items.min(STREAMED_MAP_ITEMS) } else { map_items };
    let indices = map_subset(dataset.len(), map_items, seed);
    let raw = raw_features(&dataset, &indices);
    let layout = project_with(&raw, None, method)?;
    let baseline_knn = raw_baseline(&dataset, &indices, &raw);
    Ok(LoadedData { path: path.to_path_buf(), dataset, map_indices: Arc::new(indices), raw: Arc::new(raw), layout, baseline_knn })
}

/// Items on the map of a dataset streamed from disk at most: the map keeps their raw
/// features and every snapshot their embeddings in memory (50,000 × 784 floats: 157 MB).
pub const STREAMED_MAP_ITEMS: usize = 50_000;

/// kNN accuracy on raw features, with the live evaluation's protocol and rows (on 70k rows
/// of 784 pixels the full vote is ~1 TFLOP, minutes on a laptop).
fn raw_baseline(ds: &Dataset, indices: &[usize], raw: &Matrix) -> Option<f32> {
    crate::ssl::evaluate::evaluate_live(ds, indices, raw, 0).ok()?.knn_accuracy
}

/// The items themselves as rows (TF-IDF vectors for texts): the "embedding" the map shows
/// before any training.
pub fn raw_features(ds: &Dataset, indices: &[usize]) -> Matrix {
    crate::analysis::baseline::raw_features(ds, indices)
}

/// 2D PCA layout of `x`, aligned onto `reference` when given (same rows), else normalised.
pub fn project(x: &Matrix, reference: Option<&[[f32; 2]]>) -> Result<Vec<[f32; 2]>, String> {
    project_with(x, reference, Projection::Pca)
}

/// 2D layout of `x` by `method`, aligned onto `reference` when given (same rows).
pub fn project_with(x: &Matrix, reference: Option<&[[f32; 2]]>, method: Projection) -> Result<Vec<[f32; 2]>, String> {
    let as_points = |m: Matrix| layout_points(&m);
    let layout = if x.rows < 3 || x.cols < 2 {
        // Too small to project: spread the rows on a line so they can still be clicked.
        (0..x.rows).map(|i| [i as f32, x.row(i).first().copied().unwrap_or(0.0)]).collect()
    } else {
        match method {
            Projection::Pca => top2_pca(x).map_err(|e| format!("projection failed: {e}"))?,
            Projection::Umap => as_points(umap::umap(x, &umap::UmapParams::default(), |_, _| true).map_err(|e| format!("UMAP failed: {e}"))?),
            Projection::Tsne => as_points(tsne::tsne(x, &tsne::TsneParams::default(), |_, _| true).map_err(|e| format!("t-SNE failed: {e}"))?),
        }
    };
    check_finite(&layout)?;
    Ok(match reference {
        Some(r) if r.len() == layout.len() => align::align_to(r, &layout),
        _ => align::normalise(&layout),
    })
}

/// The rows of an `n × 2` layout matrix as points.
pub(crate) fn layout_points(m: &Matrix) -> Vec<[f32; 2]> {
    m.data.chunks_exact(2).map(|p| [p[0], p[1]]).collect()
}

/// A layout with a NaN or infinite coordinate is an error the user can act on.
pub(crate) fn check_finite(layout: &[[f32; 2]]) -> Result<(), String> {
    if layout.iter().any(|p| !p[0].is_finite() || !p[1].is_finite()) {
        return Err("the projection produced non-finite coordinates (is there a NaN in the data?)".into());
    }
    Ok(())
}

/// 2D layout of `x` (rows are the dataset items `items`) aligned onto the layout on screen
/// `(layout, its items)`: point for point when the items are the same, else through the
/// items both show (another run's map subset).
pub fn project_onto(x: &Matrix, items: &[usize], reference: Option<(&[[f32; 2]], &[usize])>, method: Projection) -> Result<Vec<[f32; 2]>, String> {
    match reference {
        Some((layout, shown)) if shown == items => project_with(x, Some(layout), method),
        Some((layout, shown)) => Ok(align::align_on_shared(layout, shown, &project_with(x, None, method)?, items)),
        None => project_with(x, None, method),
    }
}

/// Projection onto the top two principal components by the exact covariance route (one
/// GEMM for the d×d covariance, its top eigenpairs, one GEMM to project): bounded cost and
/// memory whatever the spectrum, unlike LOBPCG on the data itself.
fn top2_pca(x: &Matrix) -> crate::Result<Vec<[f32; 2]>> {
    Ok(layout_points(&PcaModel::fit_with(x, 2, PcaSolver::CovarianceEigh)?.transform(x)))
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
    Ok(ClusterResult { k, assignments, summaries, nmi, ari, noise: false })
}

/// HDBSCAN clusters; noise points form one extra cluster after the real ones, so the table,
/// colours and NMI/ARI treat "noise" like any other group.
pub fn cluster_hdbscan(x: &Matrix, labels: Option<&[u32]>, min_size: usize) -> Result<ClusterResult, String> {
    let params = hdbscan::HdbscanParams { min_cluster_size: min_size.max(2), min_samples: min_size.max(2).min(x.rows.max(1)) };
    let raw = hdbscan::hdbscan(x, &params).map_err(|e| e.to_string())?;
    let found = raw.iter().flatten().map(|&c| c as usize + 1).max().unwrap_or(0);
    let has_noise = raw.iter().any(|c| c.is_none());
    let assignments: Vec<usize> = raw.iter().map(|c| c.map_or(found, |c| c as usize)).collect();
    let k = found + usize::from(has_noise);
    let summaries = metrics::cluster_summaries(&assignments, labels, k);
    let as_usize = labels.map(|l| l.iter().map(|&v| v as usize).collect::<Vec<_>>());
    let nmi = as_usize.as_ref().map(|l| metrics::nmi(&assignments, l));
    let ari = as_usize.as_ref().map(|l| metrics::ari(&assignments, l));
    Ok(ClusterResult { k, assignments, summaries, nmi, ari, noise: has_noise })
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
    /// Each tag's name and, per exported row, whether the tag holds it.
    pub tags: Vec<(String, Vec<bool>)>,
    /// Each row's source (its file, line or row).
    pub sources: Vec<String>,
    /// Map coordinates and texts of the rows, for the Parquet file.
    pub extra: ExtraColumns,
}

/// The exported rows `rows` of the map; `layout` is the map's layout when it shows these
/// map rows (its x/y go into the Parquet file).
pub fn export_rows(ds: &Dataset, map_indices: &[usize], x: &Matrix, rows: &[usize], clusters: Option<&[usize]>, tags: &crate::app::tags::Tags, layout: Option<&[[f32; 2]]>) -> ExportRows {
    let indices: Vec<usize> = rows.iter().map(|&r| map_indices[r]).collect();
    let labels = ds.has_labels().then(|| indices.iter().map(|&i| ds.global_label(i).map_or("?".into(), |l| ds.class_name(l).to_string())).collect());
    let label_ids = indices.iter().map(|&i| ds.global_label(i).map_or(-1, |l| l as i64)).collect();
    let extra = ExtraColumns {
        rows: ds.has_table_rows().then(|| indices.iter().map(|&i| ds.global_row(i).unwrap_or_default()).collect()),
        xy: layout.filter(|l| l.len() == x.rows).map(|l| rows.iter().map(|&r| l[r]).collect()),
        texts: ds.global_text(0).is_some().then(|| indices.iter().map(|&i| ds.global_text(i).unwrap_or_default().to_string()).collect()),
        ids: ds.ids_of(&indices),
        ..ExtraColumns::default()
    };
    ExportRows {
        extra,
        embeddings: x.select_rows(rows),
        clusters: clusters.map(|c| rows.iter().map(|&r| c[r]).collect()),
        tags: tags.columns(&indices),
        sources: indices.iter().map(|&i| ds.item_source(i)).collect(),
        indices,
        labels,
        label_ids,
    }
}

/// Writes `embeddings.npy`, `indices.npy`, `labels.npy`, `embeddings.csv`,
/// `embeddings.parquet` and the projector pair under `dir`. Returns the list of files written, for the status line.
pub fn export_all(dir: &Path, rows: &ExportRows) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let e = |e: crate::PretextError| e.to_string();
    let meta = RowMeta { index: &rows.indices, label: rows.labels.clone(), cluster: rows.clusters.as_deref(), tags: &rows.tags, source: Some(&rows.sources) };
    let files = [dir.join("embeddings.npy"), dir.join("indices.npy"), dir.join("labels.npy"), dir.join("embeddings.csv"), dir.join("projector")];
    write_npy_matrix(&files[0], &rows.embeddings).map_err(e)?;
    write_npy_ints(&files[1], &rows.indices.iter().map(|&i| i as i64).collect::<Vec<_>>()).map_err(e)?;
    write_npy_ints(&files[2], &rows.label_ids).map_err(e)?;
    write_csv_with_ids(&files[3], &rows.embeddings, &meta, rows.extra.ids.as_deref()).map_err(e)?;
    write_projector_tsv_with_ids(&files[4], &rows.embeddings, &meta, rows.extra.ids.as_deref()).map_err(e)?;
    let mut files = files.to_vec();
    let parquet = dir.join("embeddings.parquet");
    write_parquet(&parquet, &rows.embeddings, &meta, &rows.extra).map_err(e)?;
    files.push(parquet);
    files.extend(write_tag_npys(dir, &rows.tags).map_err(e)?);
    Ok(files)
}

/// A few augmented views of one item (what the contrastive objective compares).
pub fn augmented_views(ds: &Dataset, item: usize, cfg: &crate::ssl::AugmentConfig, count: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    crate::data::augment::sample_views(&ds.global_item(item), &ds.modality, &ds.train, cfg, count, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_of_rotated_data_aligns_onto_the_previous_layout() {
        let d = 20;
        let x = Matrix::new(
            (0..200 * d).map(|i| ((i * 37 % 101) as f32).sin() * (1 + i % d) as f32 + ((i / d) as f32 * 0.3).cos() * 4.0 * ((i % d) % 2) as f32).collect(),
            200,
            d,
        );
        let first = project(&x, None).unwrap();
        // Same data with its columns reversed and one negated (an orthogonal map): the PCA
        // axes change, the map must not.
        let y = Matrix::new(
            (0..200).flat_map(|r| {
                let mut v = x.row(r).to_vec();
                v.reverse();
                v[0] = -v[0];
                v
            }).collect(),
            200,
            d,
        );
        let second = project(&y, Some(&first)).unwrap();
        let err = first.iter().zip(&second).map(|(a, b)| (a[0] - b[0]).abs() + (a[1] - b[1]).abs()).fold(0.0, f32::max);
        assert!(err < 1e-2, "aligned layout moved by {err}");
    }

    #[test]
    fn projection_recovers_the_two_widest_directions() {
        // Column 3 varies most, column 7 second; the rest is faint noise.
        let (n, d) = (120, 10);
        let mut data = vec![0f32; n * d];
        let mut plane = Vec::new();
        for r in 0..n {
            let (a, b) = ((r as f32 * 0.7).sin() * 5.0, (r as f32 * 1.3).cos() * 2.0);
            for j in 0..d {
                data[r * d + j] = 0.01 * ((r * 31 + j * 17) % 13) as f32;
            }
            data[r * d + 3] += a;
            data[r * d + 7] += b;
            plane.push([a, b]);
        }
        let layout = project(&Matrix::new(data, n, d), None).unwrap();
        let truth = align::normalise(&plane);
        let aligned = align::align_to(&truth, &layout);
        let err = truth.iter().zip(&aligned).map(|(a, b)| (a[0] - b[0]).abs() + (a[1] - b[1]).abs()).fold(0.0, f32::max);
        assert!(err < 0.05, "layout differs from the true plane by {err}");
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
