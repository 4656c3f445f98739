//! The only state saved between launches. `#[serde(default)]` everywhere so settings written
//! by an older version still load (missing fields take their defaults).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::app::scores::ScoreKind;
use crate::ssl::TrainConfig;

/// What the map's point colours show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColorBy {
    Label,
    Cluster,
    /// Whether the point's kNN vote among the other map points matches its label.
    KnnCorrect,
    Split,
    /// A data-quality score of the scores panel, low to high.
    Score(ScoreKind),
    /// The first tag holding the item (untagged items grey).
    Tag,
    /// The tag the probe trained on the tags predicts.
    Predicted,
    /// How sure that probe is (probability of its prediction).
    Confidence,
    /// How much each item's embedding neighbours changed between two timeline snapshots.
    Change,
}

impl ColorBy {
    pub const ALL: [ColorBy; 12] = [
        ColorBy::Label,
        ColorBy::Cluster,
        ColorBy::KnnCorrect,
        ColorBy::Split,
        ColorBy::Score(ScoreKind::Uniqueness),
        ColorBy::Score(ScoreKind::LabelError),
        ColorBy::Score(ScoreKind::Representativeness),
        ColorBy::Score(ScoreKind::MapDisagreement),
        ColorBy::Tag,
        ColorBy::Predicted,
        ColorBy::Confidence,
        ColorBy::Change,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ColorBy::Label => "Label",
            ColorBy::Cluster => "Cluster",
            ColorBy::KnnCorrect => "kNN correct",
            ColorBy::Split => "Train/test",
            ColorBy::Score(kind) => kind.label(),
            ColorBy::Tag => "Tag",
            ColorBy::Predicted => "Predicted tag",
            ColorBy::Confidence => "Probe confidence",
            ColorBy::Change => "Neighbourhood change",
        }
    }
}

/// How the map turns embeddings into 2D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Projection {
    Pca,
    Umap,
    Tsne,
}

impl Projection {
    pub const ALL: [Projection; 3] = [Projection::Pca, Projection::Umap, Projection::Tsne];

    pub fn label(self) -> &'static str {
        match self {
            Projection::Pca => "PCA",
            Projection::Umap => "UMAP",
            Projection::Tsne => "t-SNE",
        }
    }
}

/// Which clustering the Clusters panel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClusterMethod {
    Kmeans,
    Hdbscan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeftTab {
    Dataset,
    Training,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RightTab {
    Neighbours,
    Clusters,
    Selection,
    Export,
    Scores,
    Tags,
    Probe,
    Changes,
}

/// What a drag on the map does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapTool {
    Pan,
    Box,
    Lasso,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub train: TrainConfig,
    /// Most recent first.
    pub recent: Vec<PathBuf>,
    pub color_by: ColorBy,
    pub tool: MapTool,
    pub point_size: f32,
    pub animate: bool,
    pub neighbours_k: usize,
    pub kmeans_k: usize,
    pub projection: Projection,
    pub cluster_method: ClusterMethod,
    pub hdbscan_min_size: usize,
    pub left_tab: LeftTab,
    pub right_tab: RightTab,
    pub export_dir: String,
    pub run_dir: String,
    /// Each cluster's majority label drawn at its centre on the map.
    pub cluster_labels: bool,
    /// Density contours drawn over the map.
    pub density_contours: bool,
    /// Every item of a dataset on the map (else a seeded sample of `train.map_items`).
    pub map_whole_dataset: bool,
}

/// Training defaults for the window: snapshots often enough that the map visibly moves within
/// seconds of pressing Train (the CLI keeps the core's sparser default).
pub fn gui_train_defaults() -> TrainConfig {
    TrainConfig { eval_every: 10, live_map: Some(Default::default()), batch_size: 128, map_items: 5_000, epochs: 10.0, ..TrainConfig::default() }
}

impl Settings {
    /// Items the map of a newly opened dataset holds (`usize::MAX`: all of them).
    pub fn map_items(&self) -> usize {
        if self.map_whole_dataset {
            usize::MAX
        } else {
            self.train.map_items.max(2)
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            train: gui_train_defaults(),
            recent: Vec::new(),
            color_by: ColorBy::Label,
            tool: MapTool::Pan,
            point_size: 3.0,
            animate: true,
            neighbours_k: 12,
            kmeans_k: 10,
            projection: Projection::Pca,
            cluster_method: ClusterMethod::Kmeans,
            hdbscan_min_size: 15,
            left_tab: LeftTab::Training,
            right_tab: RightTab::Neighbours,
            export_dir: "pretext-export".into(),
            run_dir: "pretext-run".into(),
            cluster_labels: false,
            density_contours: false,
            map_whole_dataset: true,
        }
    }
}

impl Settings {
    pub const MAX_RECENT: usize = 8;

    pub fn remember(&mut self, path: PathBuf) {
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path);
        self.recent.truncate(Self::MAX_RECENT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_settings_with_missing_fields_still_load() {
        let s: Settings = serde_json::from_str(r#"{"point_size": 5.0, "train": {"batch_size": 64}}"#).unwrap();
        assert_eq!(s.point_size, 5.0);
        assert_eq!(s.train.batch_size, 64);
        assert_eq!(s.kmeans_k, Settings::default().kmeans_k);
    }

    #[test]
    fn recent_list_moves_reopened_path_to_front_without_duplicates() {
        let mut s = Settings::default();
        s.remember("a".into());
        s.remember("b".into());
        s.remember("a".into());
        assert_eq!(s.recent, vec![PathBuf::from("a"), PathBuf::from("b")]);
    }
}
