//! Linear probes in the app, on the frozen embedding the map shows: one trained on a budget
//! of the dataset's labels (test accuracy and confusion matrix, the protocol of
//! `pretext probe`), or one trained on the user's tags (each tag a class) that predicts the
//! untagged items and lists those it is least sure of, to tag next (uncertainty sampling).

use std::sync::Arc;

use crate::analysis::probe::{probe_budgets, LabelBudget, ProbeParams, SoftmaxProbe};
use crate::analysis::Matrix;
use crate::app::jobs::{JobKind, JobResult};
use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::Space;
use crate::app::settings::RightTab;
use crate::app::tags::Tags;
use crate::app::PretextApp;
use crate::data::Dataset;

/// The label budgets the panel offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetChoice {
    OnePercent,
    TenPercent,
    All,
    PerClass,
}

impl BudgetChoice {
    pub const ALL: [BudgetChoice; 4] = [BudgetChoice::OnePercent, BudgetChoice::TenPercent, BudgetChoice::All, BudgetChoice::PerClass];

    pub fn label(self) -> &'static str {
        match self {
            BudgetChoice::OnePercent => "1%",
            BudgetChoice::TenPercent => "10%",
            BudgetChoice::All => "100%",
            BudgetChoice::PerClass => "N per class",
        }
    }

    pub fn budget(self, per_class: usize) -> LabelBudget {
        match self {
            BudgetChoice::OnePercent => LabelBudget::Fraction(0.01),
            BudgetChoice::TenPercent => LabelBudget::Fraction(0.1),
            BudgetChoice::All => LabelBudget::Fraction(1.0),
            BudgetChoice::PerClass => LabelBudget::PerClass(per_class.max(1)),
        }
    }
}

/// A probe trained on the dataset's labels, scored on the map's test-split items.
pub struct LabelProbe {
    pub budget: LabelBudget,
    pub train_size: usize,
    pub test_size: usize,
    pub accuracy: f64,
    /// Rows: true class, columns: predicted class.
    pub confusion: Vec<Vec<usize>>,
}

/// A probe trained on the tags, with its answer for every map row.
pub struct TagProbe {
    pub tag_names: Vec<String>,
    pub train_size: usize,
    /// Predicted tag (index into `tag_names`) of each map row.
    pub predicted: Vec<u32>,
    /// Probability of the predicted tag, per map row.
    pub confidence: Vec<f32>,
    /// Untagged map rows, least confident first.
    pub uncertain: Vec<usize>,
    /// When every tag is named after a class: the share of untagged items whose predicted
    /// tag is their dataset label.
    pub label_agreement: Option<f64>,
}

impl TagProbe {
    /// Share of untagged rows predicted as their label, when each tag names a class.
    fn agreement(&self, labels: &[u32], class_names: &[String]) -> Option<f64> {
        let class_of_tag: Vec<u32> = self.tag_names.iter().map(|t| class_names.iter().position(|c| c == t).map(|c| c as u32)).collect::<Option<_>>()?;
        if self.uncertain.is_empty() || labels.len() != self.predicted.len() {
            return None;
        }
        let agree = self.uncertain.iter().filter(|&&r| class_of_tag[self.predicted[r] as usize] == labels[r]).count();
        Some(agree as f64 / self.uncertain.len() as f64)
    }
}

pub enum ProbeOutcome {
    Labels(LabelProbe),
    Tags(TagProbe),
}

pub struct ProbeState {
    pub choice: BudgetChoice,
    pub per_class: usize,
    pub labels: Option<(u64, LabelProbe)>,
    pub tags: Option<(u64, TagProbe)>,
    /// The probe last asked for, fitted again when the embedding changed while it ran.
    pub last_request: Option<ProbeCommand>,
}

impl Default for ProbeState {
    fn default() -> Self {
        Self { choice: BudgetChoice::TenPercent, per_class: 5, labels: None, tags: None, last_request: None }
    }
}

impl ProbeState {
    pub fn clear(&mut self) {
        self.labels = None;
        self.tags = None;
        self.last_request = None;
    }

    /// The tag probe's predictions when they cover `n` map rows.
    pub fn tag_predictions(&self, n: usize) -> Option<&TagProbe> {
        self.tags.as_ref().map(|(_, p)| p).filter(|p| p.predicted.len() == n)
    }
}

/// Probe on a budget of the train-split labels of the map rows, tested on their test split.
pub fn fit_on_labels(ds: &Dataset, items: &[usize], x: &Matrix, budget: LabelBudget, seed: u64) -> Result<LabelProbe, String> {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (row, &item) in items.iter().enumerate() {
        if let Some(label) = ds.global_label(item) {
            if ds.is_test(item) { &mut test } else { &mut train }.push((row, label));
        }
    }
    if train.is_empty() || test.is_empty() {
        return Err("the probe needs labelled map items in both the train and the test split".into());
    }
    let rows = |v: &[(usize, u32)]| v.iter().map(|p| p.0).collect::<Vec<_>>();
    let labels = |v: &[(usize, u32)]| v.iter().map(|p| p.1).collect::<Vec<_>>();
    let params = ProbeParams { seed, ..ProbeParams::default() };
    let result = probe_budgets(&x.select_rows(&rows(&train)), &labels(&train), &x.select_rows(&rows(&test)), &labels(&test), &[budget], &params)
        .map_err(|e| e.to_string())?
        .pop()
        .ok_or("the probe gave no result")?;
    Ok(LabelProbe { budget, train_size: result.train_size, test_size: test.len(), accuracy: result.test_accuracy, confusion: result.confusion })
}

/// Probe with each tag a class, trained on the map rows exactly one tag holds; predicts
/// every row.
pub fn fit_on_tags(tags: &Tags, items: &[usize], x: &Matrix, seed: u64) -> Result<TagProbe, String> {
    if tags.list.len() < 2 {
        return Err("the probe needs at least two tags (each tag is a class)".into());
    }
    let mut train = Vec::new();
    let mut tagged = vec![false; items.len()];
    for (row, item) in items.iter().enumerate() {
        let holding: Vec<usize> = (0..tags.list.len()).filter(|&t| tags.list[t].items.contains(item)).collect();
        tagged[row] = !holding.is_empty();
        if let [only] = holding[..] {
            train.push((row, only as u32));
        }
    }
    let classes_seen = train.iter().map(|p| p.1).collect::<std::collections::BTreeSet<_>>().len();
    if classes_seen < 2 {
        return Err("the probe needs map items in at least two tags".into());
    }
    let rows: Vec<usize> = train.iter().map(|p| p.0).collect();
    let y: Vec<u32> = train.iter().map(|p| p.1).collect();
    let params = ProbeParams { seed, ..ProbeParams::default() };
    let probe = SoftmaxProbe::fit(&x.select_rows(&rows), &y, tags.list.len(), &params).map_err(|e| e.to_string())?;
    let p = probe.probabilities(x).map_err(|e| e.to_string())?;
    let (mut predicted, mut confidence) = (Vec::with_capacity(x.rows), Vec::with_capacity(x.rows));
    for r in 0..p.rows {
        let (c, v) = p.row(r).iter().enumerate().fold((0, f32::MIN), |b, (c, &v)| if v > b.1 { (c, v) } else { b });
        predicted.push(c as u32);
        confidence.push(v);
    }
    let mut uncertain: Vec<usize> = (0..x.rows).filter(|&r| !tagged[r]).collect();
    uncertain.sort_by(|&a, &b| confidence[a].total_cmp(&confidence[b]).then(a.cmp(&b)));
    Ok(TagProbe { tag_names: tags.list.iter().map(|t| t.name.clone()).collect(), train_size: rows.len(), predicted, confidence, uncertain, label_agreement: None })
}

/// What the panel asks for.
#[derive(Debug, Clone, Copy)]
pub enum ProbeCommand {
    OnLabels(LabelBudget),
    OnTags,
}

impl Room for ProbeState {
    fn on_dataset_loaded(&mut self, _path: &std::path::Path, _rows: usize) {
        self.clear();
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {
        self.clear();
    }
    /// A probe of an older embedding stays on show, marked with its generation.
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    fn on_run_opened(&mut self, _run: &OpenedRun<'_>, _fx: &mut Effects) {}
    fn on_run_saved(&mut self, _dir: &std::path::Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {}
}

impl PretextApp {
    pub(crate) fn run_probe(&mut self, cmd: ProbeCommand) {
        let (Some(space), Some(data)) = (self.space.clone(), self.data.as_ref()) else { return };
        let (ds, items, seed) = (data.dataset.clone(), data.map_indices.clone(), self.settings.train.seed);
        let generation = space.generation;
        let matrix: Arc<Matrix> = space.matrix;
        self.probe.last_request = Some(cmd);
        self.settings.right_tab = RightTab::Probe;
        match cmd {
            ProbeCommand::OnLabels(budget) => self.jobs.spawn(JobKind::Probe, move || {
                JobResult::Probed(generation, fit_on_labels(&ds, &items, &matrix, budget, seed).map(|p| Box::new(ProbeOutcome::Labels(p))))
            }),
            ProbeCommand::OnTags => {
                let tags = self.tags.clone();
                let labels = data.labels.clone();
                self.jobs.spawn(JobKind::Probe, move || {
                    let fitted = fit_on_tags(&tags, &items, &matrix, seed).map(|mut p| {
                        p.label_agreement = labels.and_then(|l| p.agreement(&l, &ds.class_names));
                        Box::new(ProbeOutcome::Tags(p))
                    });
                    JobResult::Probed(generation, fitted)
                });
            }
        }
    }

    pub(crate) fn on_probed(&mut self, generation: u64, result: Result<Box<ProbeOutcome>, String>) {
        match result {
            Ok(outcome) => match *outcome {
                ProbeOutcome::Labels(p) => self.probe.labels = Some((generation, p)),
                ProbeOutcome::Tags(p) => {
                    self.probe.tags = Some((generation, p));
                    self.map.style_version += 1;
                }
            },
            Err(e) => self.error(format!("probe failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_on_two_tags_predicts_the_untagged_points_of_two_blobs() {
        // Two blobs along the first axis; tag three points of each, the rest untagged.
        let n = 40;
        let x = Matrix::new((0..n).flat_map(|i| [if i < n / 2 { -3.0 } else { 3.0 } + (i as f32 * 0.37).sin() * 0.5, (i as f32 * 1.7).cos()]).collect(), n, 2);
        let items: Vec<usize> = (100..100 + n).collect();
        let mut tags = Tags::default();
        tags.add("left", [100, 101, 102]).unwrap();
        tags.add("right", [137, 138, 139]).unwrap();
        let p = fit_on_tags(&tags, &items, &x, 0).unwrap();
        assert_eq!(p.train_size, 6);
        for r in 0..n {
            assert_eq!(p.predicted[r], u32::from(r >= n / 2), "row {r}");
        }
        assert_eq!(p.uncertain.len(), n - 6);
        assert!(p.uncertain.windows(2).all(|w| p.confidence[w[0]] <= p.confidence[w[1]]));
        assert!(!p.uncertain.contains(&0) && !p.uncertain.contains(&39), "tagged rows are not listed");
        let labels: Vec<u32> = (0..n).map(|r| u32::from(r >= n / 2)).collect();
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(p.agreement(&labels, &names(&["left", "right"])), Some(1.0));
        assert_eq!(p.agreement(&labels, &names(&["right", "left"])), Some(0.0), "tags named after the other class");
        assert_eq!(p.agreement(&labels, &names(&["up", "down"])), None, "tags not named after classes");
        tags.list.pop();
        assert!(fit_on_tags(&tags, &items, &x, 0).is_err(), "one tag is not a classifier");
    }
}
