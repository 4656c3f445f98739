//! A run folder from an encoder's weights without training: a published checkpoint (or the
//! untrained encoder) explored on the user's data. Both front ends use it (`pretext embed`,
//! "Embed only" in the window); the folder opens like any trained run.

use std::path::Path;

use crate::data::Dataset;
use crate::error::Result;
use crate::ssl::checkpoint::LoadReport;
use crate::ssl::encoder::SslModel;
use crate::ssl::run::{RunEvaluation, RunProgress};
use crate::ssl::TrainConfig;

/// Every item's embedding, in dataset order, beside the run's files.
pub const ALL_EMBEDDINGS: &str = "embeddings.parquet";

pub struct Embedded {
    /// What loading `cfg.init` did (`None`: seeded random weights).
    pub loaded: Option<LoadReport>,
    pub evaluation: RunEvaluation,
}

/// Builds the encoder of `cfg`, starts it from `cfg.init` when set, embeds every item and
/// writes a run folder at step 0 to `out` (config, weights, the map sample's embeddings,
/// `embeddings.parquet` with every item and its source, and the evaluation).
pub fn embed_to_run(ds: &Dataset, cfg: &TrainConfig, out: &Path) -> Result<Embedded> {
    cfg.check()?;
    let (varmap, model) = SslModel::build(&ds.modality, cfg)?;
    let loaded = cfg.init.as_deref().map(|init| crate::ssl::checkpoint::load_encoder(&varmap, init)).transpose()?;
    let d = ds.item_len();
    let train = crate::ssl::evaluate::embed_split(&model, &ds.train, d)?;
    let test = crate::ssl::evaluate::embed_split(&model, &ds.test, d)?;
    let mut all = train.clone();
    all.data.extend_from_slice(&test.data);
    all.rows += test.rows;

    let indices = crate::ssl::trainer::map_subset(ds.len(), cfg.map_items, cfg.seed);
    let progress = RunProgress { train_seconds: Some(0.0), ..RunProgress::default() };
    crate::ssl::run::save(out, ds, cfg, &progress, &varmap, &indices, &all.select_rows(&indices))?;
    let index: Vec<usize> = (0..ds.len()).collect();
    let labels = ds.has_labels().then(|| index.iter().map(|&i| ds.global_label(i).map_or(String::new(), |l| ds.class_name(l).to_string())).collect());
    let sources: Vec<String> = index.iter().map(|&i| ds.item_source(i)).collect();
    let meta = crate::export::RowMeta { index: &index, label: labels, cluster: None, tags: &[], source: Some(&sources) };
    let extra = crate::export::ExtraColumns { ids: ds.ids_of(&index), ..Default::default() };
    crate::export::write_parquet(&out.join(ALL_EMBEDDINGS), &all, &meta, &extra)?;

    let evaluation = match crate::ssl::run::evaluation_is_sampled(ds) {
        true => crate::ssl::run::evaluate_run(out, ds, cfg.device)?,
        false => crate::ssl::run::evaluate_embeddings(ds, &train, &test, cfg.seed, 0)?,
    };
    crate::ssl::run::save_evaluation(out, &evaluation)?;
    Ok(Embedded { loaded, evaluation })
}
