//! Items added to a run's map after training, without retraining: another file or folder of
//! the same kind, embedded with the run's encoder and placed into the run's 2D map
//! (`analysis::place`). Both sit beside the run's own files:
//!
//! ```text
//! layout.json            how the map of the run's items was laid out (method, seed)
//! layout.npy             that map: one position per row of embeddings.npy (float32, rows × 2)
//! layout_projection.npy  PCA maps: the projection that made it ((dim + 1) × 2: weights, offset)
//! added/items.json       the added items: their split name, where they were read from,
//!                        their sources and labels
//! added/embeddings.npy   their embeddings (float32, rows × dim)
//! added/positions.npy    their map positions, in layout.npy's frame (float32, rows × 2)
//! ```
//! The map is saved the first time items are added, so later additions land in the same map;
//! each addition places every added item again, so all of them share the latest settings.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analysis::place::{self, LinearMap, PlaceMethod};
use crate::analysis::Matrix;
use crate::data::Dataset;
use crate::error::{PretextError, Result};
use crate::export::{read_npy_matrix, write_npy_matrix};
use crate::ssl::device::DeviceChoice;
use crate::ssl::run::{self, SavedRun};
use crate::ssl::TrainConfig;

pub const LAYOUT_INFO: &str = "layout.json";
pub const LAYOUT: &str = "layout.npy";
pub const LAYOUT_PROJECTION: &str = "layout_projection.npy";
pub const ADDED_DIR: &str = "added";
const ITEMS: &str = "items.json";
const EMBEDDINGS: &str = "embeddings.npy";
const POSITIONS: &str = "positions.npy";
/// The split name added items are shown under, beside train and test.
pub const ADDED_SPLIT: &str = "added";
/// Old neighbours (in embedding space) a placed point's nearest old point on the map is
/// looked for among, for the placement report.
pub const REPORT_NEIGHBOURS: usize = 15;

/// A run's saved map: one position per map item (the rows of the run's embeddings.npy).
#[derive(Debug, Clone, PartialEq)]
pub struct MapLayout {
    pub method: PlaceMethod,
    pub seed: u64,
    pub points: Vec<[f32; 2]>,
    /// For PCA maps, the projection that made them (new points are projected with it).
    pub projection: Option<LinearMap>,
}

#[derive(Serialize, Deserialize)]
struct LayoutInfo {
    method: PlaceMethod,
    seed: u64,
    items: usize,
}

/// Items added to a run's map.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedItems {
    /// The split they are shown as ([`ADDED_SPLIT`]).
    pub split: String,
    /// The file or folder each item was read from (datasets added one after another differ).
    pub data: Vec<String>,
    /// Each item's source in its dataset (`cat/0042.jpg`, `row:12`, `line:7`).
    pub sources: Vec<String>,
    /// Each item's class name, when its dataset has labels (empty string for an item without).
    pub labels: Option<Vec<String>>,
    pub embeddings: Matrix,
    /// Map positions, in the frame of the run's [`MapLayout`].
    pub positions: Vec<[f32; 2]>,
}

impl AddedItems {
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

#[derive(Serialize, Deserialize)]
struct ItemsFile {
    split: String,
    data: Vec<String>,
    sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    labels: Option<Vec<String>>,
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| PretextError::bad_file(path, e.to_string()))?;
    std::fs::write(path, text).map_err(|e| PretextError::io(path, e))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| PretextError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| PretextError::bad_file(path, format!("not a valid pretext file ({e})")))
}

fn points_matrix(points: &[[f32; 2]]) -> Matrix {
    Matrix::new(points.iter().flatten().copied().collect(), points.len(), 2)
}

fn matrix_points(m: &Matrix, path: &Path) -> Result<Vec<[f32; 2]>> {
    if m.cols != 2 {
        return Err(PretextError::bad_file(path, format!("map positions are rows × 2, this is {}×{}", m.rows, m.cols)));
    }
    Ok(m.data.chunks_exact(2).map(|p| [p[0], p[1]]).collect())
}

pub fn save_layout(dir: &Path, layout: &MapLayout) -> Result<()> {
    write_npy_matrix(&dir.join(LAYOUT), &points_matrix(&layout.points))?;
    let projection = dir.join(LAYOUT_PROJECTION);
    match &layout.projection {
        Some(p) => write_npy_matrix(&projection, &p.to_matrix())?,
        None if projection.is_file() => std::fs::remove_file(&projection).map_err(|e| PretextError::io(&projection, e))?,
        None => {}
    }
    write_json(&dir.join(LAYOUT_INFO), &LayoutInfo { method: layout.method, seed: layout.seed, items: layout.points.len() })
}

/// The run's saved map, if it has one.
pub fn load_layout(dir: &Path) -> Result<Option<MapLayout>> {
    let info_path = dir.join(LAYOUT_INFO);
    if !info_path.is_file() {
        return Ok(None);
    }
    let info: LayoutInfo = read_json(&info_path)?;
    let path = dir.join(LAYOUT);
    let points = matrix_points(&read_npy_matrix(&path)?, &path)?;
    if points.len() != info.items {
        return Err(PretextError::bad_file(&path, format!("{} positions where {} says {}", points.len(), LAYOUT_INFO, info.items)));
    }
    let projection_path = dir.join(LAYOUT_PROJECTION);
    let projection = match info.method {
        PlaceMethod::Pca if projection_path.is_file() => Some(LinearMap::from_matrix(&read_npy_matrix(&projection_path)?)?),
        PlaceMethod::Pca | PlaceMethod::Umap | PlaceMethod::Tsne => None,
    };
    Ok(Some(MapLayout { method: info.method, seed: info.seed, points, projection }))
}

pub fn save_added(dir: &Path, added: &AddedItems) -> Result<()> {
    let sub = dir.join(ADDED_DIR);
    std::fs::create_dir_all(&sub).map_err(|e| PretextError::io(&sub, e))?;
    write_npy_matrix(&sub.join(EMBEDDINGS), &added.embeddings)?;
    write_npy_matrix(&sub.join(POSITIONS), &points_matrix(&added.positions))?;
    let items = ItemsFile { split: added.split.clone(), data: added.data.clone(), sources: added.sources.clone(), labels: added.labels.clone() };
    write_json(&sub.join(ITEMS), &items)
}

/// The items added to the run's map, if any.
pub fn load_added(dir: &Path) -> Result<Option<AddedItems>> {
    let sub = dir.join(ADDED_DIR);
    if !sub.join(ITEMS).is_file() {
        return Ok(None);
    }
    let items: ItemsFile = read_json(&sub.join(ITEMS))?;
    let embeddings = read_npy_matrix(&sub.join(EMBEDDINGS))?;
    let positions = matrix_points(&read_npy_matrix(&sub.join(POSITIONS))?, &sub.join(POSITIONS))?;
    let n = items.sources.len();
    let lengths = [items.data.len(), embeddings.rows, positions.len(), items.labels.as_ref().map_or(n, Vec::len)];
    if lengths.iter().any(|&l| l != n) {
        return Err(PretextError::bad_file(&sub, format!("{n} sources but {} data paths, {} embeddings, {} positions", lengths[0], lengths[1], lengths[2])));
    }
    Ok(Some(AddedItems { split: items.split, data: items.data, sources: items.sources, labels: items.labels, embeddings, positions }))
}

/// Every item of `ds` (train items, then test items) embedded with the run's encoder.
/// `ds` must be data of the run's kind, read with the run's settings
/// (`RunConfig::load_options`).
pub fn embed_other(saved: &SavedRun, ds: &Dataset, device: DeviceChoice) -> Result<Matrix> {
    let modality = &saved.config.dataset.modality;
    if &ds.modality != modality {
        return Err(PretextError::BadData(format!(
            "this run's encoder takes {}; {} holds {}",
            modality.describe(),
            ds.source,
            ds.modality.describe()
        )));
    }
    if let crate::data::Modality::Embedding { .. } = ds.modality {
        return Err(PretextError::BadData(crate::data::NOT_TRAINABLE.into()));
    }
    let cfg = TrainConfig { device, ..saved.config.train.clone() };
    let (varmap, model) = crate::ssl::encoder::SslModel::build(&ds.modality, &cfg)?;
    run::load_weights(&varmap, &saved.dir)?;
    let d = ds.item_len();
    let mut all = crate::ssl::evaluate::embed_split(&model, &ds.train, d)?;
    let test = crate::ssl::evaluate::embed_split(&model, &ds.test, d)?;
    all.data.extend_from_slice(&test.data);
    all.rows += test.rows;
    Ok(all)
}

/// What [`add_to_map`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct AddReport {
    /// The run folder written.
    pub dir: PathBuf,
    pub method: PlaceMethod,
    /// Items added now, and added items in the run in all.
    pub added: usize,
    pub total: usize,
    /// Whether the map was laid out now (else a saved one was used).
    pub laid_out: bool,
    /// Share of added items whose nearest old item on the map is among their nearest old
    /// items in embedding space.
    pub neighbour_agreement: f32,
}

/// Embeds every item of `new` with the run at `run_dir`, places it into the run's map (laid
/// out by `method` and saved first when the run has no map by that method yet) and writes it
/// as added items: into the run itself, or into a copy of the run at `out` (a new folder).
pub fn add_to_map(run_dir: &Path, out: Option<&Path>, new: &Dataset, data_path: &str, method: PlaceMethod, device: DeviceChoice) -> Result<AddReport> {
    let dir = match out {
        Some(out) if out != run_dir => {
            copy_run(run_dir, out)?;
            out.to_path_buf()
        }
        _ => run_dir.to_path_buf(),
    };
    let saved = run::load(&dir)?;
    let seed = saved.config.train.seed;
    let (layout, laid_out) = match load_layout(&dir)? {
        Some(l) if l.method == method && l.points.len() == saved.embeddings.rows => (l, false),
        _ => {
            let (points, projection) = place::lay_out(&saved.embeddings, method, seed)?;
            let layout = MapLayout { method, seed, points, projection };
            save_layout(&dir, &layout)?;
            (layout, true)
        }
    };
    let fresh = embed_other(&saved, new, device)?;
    let sources: Vec<String> = (0..new.len()).map(|i| new.item_source(i)).collect();
    let labels: Option<Vec<String>> = new.has_labels().then(|| (0..new.len()).map(|i| new.global_label(i).map_or(String::new(), |l| new.class_name(l).to_string())).collect());
    let mut all = match load_added(&dir)? {
        Some(previous) => previous,
        None => AddedItems { split: ADDED_SPLIT.into(), data: Vec::new(), sources: Vec::new(), labels: None, embeddings: Matrix::new(Vec::new(), 0, fresh.cols), positions: Vec::new() },
    };
    if all.embeddings.cols != fresh.cols && !all.is_empty() {
        return Err(PretextError::bad_file(dir.join(ADDED_DIR), "the items added before have embeddings of another width; remove the folder"));
    }
    let before = all.len();
    all.labels = match (all.labels.take(), labels) {
        (None, None) => None,
        (old, new_labels) => {
            let mut l = old.unwrap_or_else(|| vec![String::new(); before]);
            l.extend(new_labels.unwrap_or_else(|| vec![String::new(); fresh.rows]));
            Some(l)
        }
    };
    all.data.extend(std::iter::repeat_n(data_path.to_string(), fresh.rows));
    all.sources.extend(sources);
    all.embeddings = Matrix::new([std::mem::take(&mut all.embeddings.data), fresh.data].concat(), before + fresh.rows, fresh.cols);
    all.positions = match &layout.projection {
        Some(projection) => projection.apply(&all.embeddings)?,
        None => place::place_new_points(&saved.embeddings, &layout.points, &all.embeddings, method, seed)?,
    };
    save_added(&dir, &all)?;
    let neighbour_agreement = neighbour_agreement(&saved.embeddings, &layout.points, &all.embeddings, &all.positions, REPORT_NEIGHBOURS)?;
    Ok(AddReport { dir, method, added: fresh.rows, total: all.len(), laid_out, neighbour_agreement })
}

/// Share of placed points whose nearest old point on the map is among their `k` nearest
/// old points in embedding space: 1 when every new point lands beside items like it.
pub fn neighbour_agreement(old: &Matrix, layout: &[[f32; 2]], new: &Matrix, positions: &[[f32; 2]], k: usize) -> Result<f32> {
    use crate::analysis::index::{IndexParams, Metric, NeighborIndex};
    if new.rows == 0 {
        return Ok(1.0);
    }
    let near = NeighborIndex::build(old, Metric::Euclidean, IndexParams::default())?.search_batch(new, k);
    let hits = positions
        .iter()
        .zip(&near)
        .filter(|(p, nn)| {
            let nearest_on_map = layout
                .iter()
                .enumerate()
                .map(|(j, q)| (j, (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)))
                .fold((0, f32::INFINITY), |b, c| if c.1 < b.1 { c } else { b })
                .0;
            nn.iter().any(|&(j, _)| j == nearest_on_map)
        })
        .count();
    Ok(hits as f32 / new.rows as f32)
}

/// Copies a run folder's files (and its added items) into a new folder `out`.
fn copy_run(from: &Path, out: &Path) -> Result<()> {
    if out.exists() && std::fs::read_dir(out).map_err(|e| PretextError::io(out, e))?.next().is_some() {
        return Err(PretextError::bad_file(out, "exists already and is not empty; name a new folder (or leave out --out to add to the run itself)"));
    }
    run::load_config(from)?;
    let inside = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a.starts_with(&b));
    if out.parent().is_some_and(|parent| inside(parent, from)) {
        return Err(PretextError::bad_file(out, "is inside the run folder; name a folder outside it"));
    }
    copy_dir(from, out)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| PretextError::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| PretextError::io(from, e))? {
        let entry = entry.map_err(|e| PretextError::io(from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| PretextError::io(&src, e))?;
        if kind.is_dir() {
            copy_dir(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(|e| PretextError::io(&src, e))?;
        }
    }
    Ok(())
}
