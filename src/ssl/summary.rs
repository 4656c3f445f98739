//! One run as a row of a comparison: its settings, how long it trained, and its full-dataset
//! metrics. `pretext compare` and the app's runs table print the same columns from this.

use std::path::PathBuf;

use serde::Serialize;

use crate::ssl::config::{ObjectiveKind, TrainConfig};
use crate::ssl::run::{EvaluationSource, RunConfig, RunEvaluation, SavedRun};

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub name: String,
    pub path: PathBuf,
    pub dataset: String,
    /// The objective as config.json names it (`simclr`, `mae`, ...).
    pub objective: String,
    pub batch: usize,
    pub learning_rate: f64,
    pub width: usize,
    /// Budget of the last training phase: epochs (0 with a time budget alone) and minutes.
    pub epochs: f32,
    pub minutes: Option<f32>,
    pub seed: u64,
    pub steps: usize,
    /// Wall-clock minutes spent training; None for runs saved before it was recorded.
    pub train_minutes: Option<f64>,
    pub knn_accuracy: Option<f64>,
    pub probe_1pct: Option<f64>,
    pub probe_100pct: Option<f64>,
    pub kmeans_nmi: Option<f64>,
    pub kmeans_ari: Option<f64>,
    pub effective_rank: Option<f64>,
    /// Where the metrics came from; None when the run has not been measured.
    pub evaluation: Option<EvaluationSource>,
}

/// Column titles, in the order of [`RunSummary::cells`].
pub const COLUMNS: [&str; 15] = [
    "run", "objective", "batch", "lr", "width", "budget", "seed", "steps", "train min", "kNN", "probe 1%", "probe 100%", "NMI", "ARI",
    "eff. rank",
];

/// Placeholder for a value a run does not have.
pub const MISSING: &str = "–";

impl RunSummary {
    pub fn new(saved: &SavedRun, evaluation: Option<(&RunEvaluation, EvaluationSource)>) -> Self {
        Self::from_config(saved.name(), saved.dir.clone(), &saved.config, evaluation)
    }

    pub fn from_config(name: String, path: PathBuf, config: &RunConfig, evaluation: Option<(&RunEvaluation, EvaluationSource)>) -> Self {
        let mut row = Self::live(&name, &config.train, &config.dataset.name, config.step);
        row.path = path;
        row.train_minutes = config.train_seconds.map(|s| s / 60.0);
        if let Some((e, source)) = evaluation {
            row.knn_accuracy = e.knn_accuracy.map(f64::from);
            row.probe_1pct = e.probe_1pct;
            row.probe_100pct = e.probe_100pct;
            row.kmeans_nmi = e.kmeans_nmi;
            row.kmeans_ari = e.kmeans_ari;
            row.effective_rank = Some(e.effective_rank as f64);
            row.evaluation = Some(source);
        }
        row
    }

    /// A model's settings and step alone (a model being trained, not saved or measured).
    pub fn live(name: &str, train: &TrainConfig, dataset: &str, steps: usize) -> Self {
        Self {
            name: name.to_string(),
            path: PathBuf::new(),
            dataset: dataset.to_string(),
            objective: objective_name(train.objective),
            batch: train.batch_size,
            learning_rate: train.learning_rate,
            width: train.width,
            epochs: train.epochs,
            minutes: train.minutes,
            seed: train.seed,
            steps,
            train_minutes: None,
            knn_accuracy: None,
            probe_1pct: None,
            probe_100pct: None,
            kmeans_nmi: None,
            kmeans_ari: None,
            effective_rank: None,
            evaluation: None,
        }
    }

    /// "5 ep", "10 min" or "5 ep / 10 min": the budget the run was given.
    pub fn budget(&self) -> String {
        match (self.epochs > 0.0, self.minutes) {
            (true, Some(m)) => format!("{} ep / {} min", trim(self.epochs), trim(m)),
            (false, Some(m)) => format!("{} min", trim(m)),
            _ => format!("{} ep", trim(self.epochs)),
        }
    }

    /// The row as text, one cell per entry of [`COLUMNS`]; missing values are [`MISSING`].
    pub fn cells(&self) -> Vec<String> {
        let acc = |v: Option<f64>| v.map_or(MISSING.to_string(), |v| format!("{v:.4}"));
        vec![
            self.name.clone(),
            self.objective.clone(),
            self.batch.to_string(),
            format!("{:.0e}", self.learning_rate),
            self.width.to_string(),
            self.budget(),
            self.seed.to_string(),
            self.steps.to_string(),
            self.train_minutes.map_or(MISSING.to_string(), |m| if m < 10.0 { format!("{m:.2}") } else { format!("{m:.1}") }),
            acc(self.knn_accuracy),
            acc(self.probe_1pct),
            acc(self.probe_100pct),
            acc(self.kmeans_nmi),
            acc(self.kmeans_ari),
            self.effective_rank.map_or(MISSING.to_string(), |r| format!("{r:.1}")),
        ]
    }
}

/// The objective's name as serialised in config.json, whatever objectives exist.
fn objective_name(objective: ObjectiveKind) -> String {
    match serde_json::to_value(objective) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{objective:?}").to_lowercase(),
    }
}

fn trim(v: f32) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Rows padded into aligned columns (first column left-aligned, the rest right-aligned).
pub fn text_table(rows: &[RunSummary]) -> String {
    let cells: Vec<Vec<String>> = rows.iter().map(RunSummary::cells).collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|c| cells.iter().map(|r| r[c].chars().count()).chain([COLUMNS[c].chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |row: Vec<&str>| {
        row.iter()
            .enumerate()
            .map(|(c, v)| if c == 0 { format!("{v:<w$}", w = widths[c]) } else { format!("{v:>w$}", w = widths[c]) })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(COLUMNS.to_vec());
    for r in &cells {
        out.push('\n');
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_and_missing_values_read_well() {
        let mut r = RunSummary::live("a", &TrainConfig::default(), "d", 100);
        r.knn_accuracy = Some(0.88541);
        assert_eq!(r.budget(), "5 ep");
        r.epochs = 0.0;
        r.minutes = Some(10.0);
        assert_eq!(r.budget(), "10 min");
        let cells = r.cells();
        assert_eq!(cells.len(), COLUMNS.len());
        assert_eq!(cells[3], "2e-3");
        assert_eq!(cells[8], MISSING);
        assert_eq!(cells[9], "0.8854");
        let table = text_table(&[r]);
        assert_eq!(table.lines().count(), 2);
        assert!(table.lines().next().unwrap().starts_with("run"));
    }
}
