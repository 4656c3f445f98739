//! Live evaluation: embed the map subset, then kNN accuracy and collapse signals.

use candle_core::Tensor;

use crate::analysis::{knn, metrics, Matrix};
use crate::data::{Dataset, Split};
use crate::error::Result;
use crate::ssl::encoder::SslModel;

const EMBED_CHUNK: usize = 512;

/// Backbone embeddings (eval mode) of flat items, `item_len` floats each.
pub fn embed_items(model: &SslModel, items: &[f32], item_len: usize) -> Result<Matrix> {
    let n = items.len() / item_len.max(1);
    embed_chunked(model, n, item_len, |start, out| {
        out.copy_from_slice(&items[start * item_len..start * item_len + out.len()]);
        Ok(())
    })
}

/// Backbone embeddings of every item of a split, read a chunk at a time (a streamed split
/// is never held whole).
pub fn embed_split(model: &SslModel, split: &Split, item_len: usize) -> Result<Matrix> {
    embed_chunked(model, split.len, item_len, |start, out| split.read_items(start, item_len, out))
}

/// Embeddings of dataset items by global index.
pub fn embed_dataset(model: &SslModel, ds: &Dataset, indices: &[usize]) -> Result<Matrix> {
    let d = ds.item_len();
    let emb = embed_chunked(model, indices.len(), d, |start, out| {
        for (slot, &i) in out.chunks_mut(d).zip(&indices[start..]) {
            slot.copy_from_slice(&ds.global_item(i));
        }
        Ok(())
    })?;
    check_reads(ds)?;
    Ok(emb)
}

/// Embeds `n` items, `EMBED_CHUNK` at a time, on the model's device; `fill(start, out)`
/// writes items `start..start + out.len() / item_len` into `out`.
fn embed_chunked(
    model: &SslModel,
    n: usize,
    item_len: usize,
    mut fill: impl FnMut(usize, &mut [f32]) -> Result<()>,
) -> Result<Matrix> {
    let mut data = Vec::with_capacity(n * model.embed_dim);
    let mut chunk = Vec::new();
    for start in (0..n).step_by(EMBED_CHUNK) {
        let rows = EMBED_CHUNK.min(n - start);
        chunk.resize(rows * item_len, 0.0);
        fill(start, &mut chunk)?;
        let x = Tensor::from_slice(&chunk, (rows, item_len), model.device())?;
        data.extend(model.embed(&x, false)?.flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(Matrix::new(data, n, model.embed_dim))
}

/// A failed read from disk gives NaNs in place of the item: whatever was made from a
/// dataset since is not kept, and this says why.
pub fn check_reads(ds: &Dataset) -> Result<()> {
    match ds.read_failure() {
        Some(why) => Err(crate::error::PretextError::BadData(why)),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EvalRecord {
    pub step: usize,
    pub knn_accuracy: Option<f32>,
    pub embedding_std: f32,
    pub effective_rank: f32,
}

/// Rows used for the effective rank: enough to see collapse, few enough to stay cheap.
const RANK_ROWS: usize = 1024;

/// Map rows the live kNN accuracy votes among at most. Its brute-force vote costs
/// test × train × dim: on all 70,000 Fashion-MNIST items at 1,152 dimensions that is ~0.7
/// TFLOP per snapshot, minutes of a low-priority thread; 10,000 rows pin the accuracy to
/// about ±1 % and cost a fiftieth of it.
pub const LIVE_EVAL_ROWS: usize = 10_000;

/// The map rows the live evaluation (and its raw-feature baseline) uses: all of them up to
/// `LIVE_EVAL_ROWS`, else the same seeded sample at every snapshot, so the curve compares
/// like with like.
pub fn live_eval_rows(map_rows: usize) -> Vec<usize> {
    crate::ssl::trainer::map_subset(map_rows, LIVE_EVAL_ROWS, 0)
}

/// `evaluate` on the live-evaluation rows of the map (`indices` are the map's items and
/// `emb` their embeddings).
pub fn evaluate_live(ds: &Dataset, indices: &[usize], emb: &Matrix, step: usize) -> Result<EvalRecord> {
    if indices.len() <= LIVE_EVAL_ROWS {
        return evaluate(ds, indices, emb, step);
    }
    let rows = live_eval_rows(indices.len());
    let items: Vec<usize> = rows.iter().map(|&r| indices[r]).collect();
    evaluate(ds, &items, &emb.select_rows(&rows), step)
}

/// kNN accuracy of the subset's test items against its train items, and collapse signals.
pub fn evaluate(ds: &Dataset, indices: &[usize], emb: &Matrix, step: usize) -> Result<EvalRecord> {
    let (train_rows, test_rows): (Vec<usize>, Vec<usize>) = (0..indices.len()).partition(|&r| !ds.is_test(indices[r]));
    let knn_accuracy = if ds.has_labels() && !train_rows.is_empty() && !test_rows.is_empty() {
        let labels = |rows: &[usize]| -> Vec<u32> { rows.iter().filter_map(|&r| ds.global_label(indices[r])).collect() };
        Some(knn::accuracy(
            &emb.select_rows(&train_rows),
            &labels(&train_rows),
            &emb.select_rows(&test_rows),
            &labels(&test_rows),
            knn::KnnProtocol::default(),
        )?)
    } else {
        None
    };
    let stride = (emb.rows / RANK_ROWS).max(1);
    let sample: Vec<usize> = (0..emb.rows).step_by(stride).take(RANK_ROWS).collect();
    let sub = emb.select_rows(&sample).l2_normalized();
    Ok(EvalRecord {
        step,
        knn_accuracy,
        embedding_std: metrics::mean_dimension_std(emb),
        effective_rank: metrics::effective_rank(&sub),
    })
}
