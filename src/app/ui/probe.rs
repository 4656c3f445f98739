//! Probe panel: a linear probe on the frozen embedding, fitted on a budget of the dataset's
//! labels (test accuracy, confusion matrix) or on the tags (predictions on the map and the
//! items it is least sure of, to tag next).

use crate::app::jobs::JobKind;
use crate::app::probe::{BudgetChoice, LabelProbe, ProbeCommand};
use crate::app::settings::ColorBy;
use crate::app::state::Command;
use crate::app::ui::widgets::{clip, row_gallery};
use crate::app::PretextApp;

/// Least-confident items listed.
const UNCERTAIN_SHOWN: usize = 24;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    let Some(space) = &app.space else {
        ui.label("Open a dataset first.");
        return;
    };
    let generation = space.generation;
    ui.label(egui::RichText::new(format!("Linear probes on the frozen {} of the map items.", space.describe())).small().weak());
    let running = app.jobs.is_running(JobKind::Probe);
    ui.strong("On the dataset's labels");
    ui.horizontal_wrapped(|ui| {
        for c in BudgetChoice::ALL {
            ui.selectable_value(&mut app.probe.choice, c, c.label());
        }
        if app.probe.choice == BudgetChoice::PerClass {
            ui.add(egui::DragValue::new(&mut app.probe.per_class).range(1..=1000).suffix(" per class"));
        }
    });
    let has_labels = app.data.as_ref().is_some_and(|d| d.dataset.has_labels());
    ui.horizontal(|ui| {
        let fit = egui::Button::new("Fit probe on labels");
        let hover = "Softmax regression on the train-split map items (this share of their labels), scored on the test-split map items";
        if ui.add_enabled(has_labels && !running, fit).on_hover_text(hover).clicked() {
            let budget = app.probe.choice.budget(app.probe.per_class);
            app.command(Command::Probe(ProbeCommand::OnLabels(budget)));
        }
        if running {
            ui.spinner();
        }
    });
    if let Some((g, p)) = &app.probe.labels {
        stale_note(ui, *g != generation);
        let names = app.data.as_ref().map(|d| d.dataset.class_names.clone()).unwrap_or_default();
        label_result(ui, p, &names);
    }
    ui.separator();
    tag_probe(app, ui, generation, running);
}

fn stale_note(ui: &mut egui::Ui, stale: bool) {
    if stale {
        ui.colored_label(ui.visuals().warn_fg_color, "Fitted on an earlier map; fit again to update.");
    }
}

fn label_result(ui: &mut egui::Ui, p: &LabelProbe, names: &[String]) {
    ui.label(format!("Test accuracy {:.3}", p.accuracy));
    ui.label(egui::RichText::new(format!("{} train labels ({}), {} test items", p.train_size, p.budget, p.test_size)).small());
    ui.label(egui::RichText::new("Confusion matrix (rows: true class, columns: predicted)").small().weak());
    let name = |c: usize| clip(names.get(c).map_or("?", String::as_str), 6);
    egui::Grid::new("confusion").spacing([2.0, 2.0]).show(ui, |ui| {
        ui.label("");
        for c in 0..p.confusion.len() {
            ui.label(egui::RichText::new(name(c)).small());
        }
        ui.end_row();
        for (t, row) in p.confusion.iter().enumerate() {
            ui.label(egui::RichText::new(name(t)).small());
            let total = row.iter().sum::<usize>().max(1) as f32;
            for (c, &count) in row.iter().enumerate() {
                let share = count as f32 / total;
                let base = if c == t { egui::Color32::from_rgb(60, 170, 90) } else { egui::Color32::from_rgb(220, 60, 50) };
                let fill = base.gamma_multiply(share.sqrt() * 0.9);
                egui::Frame::new().fill(fill).inner_margin(2.0).show(ui, |ui| {
                    ui.set_min_width(28.0);
                    ui.label(egui::RichText::new(count.to_string()).small());
                });
            }
            ui.end_row();
        }
    });
}

fn tag_probe(app: &mut PretextApp, ui: &mut egui::Ui, generation: u64, running: bool) {
    ui.strong("On your tags");
    ui.label(egui::RichText::new("Each tag is a class: the probe learns from the tagged items and predicts the rest.").small());
    ui.horizontal(|ui| {
        let enough = app.tags.list.len() >= 2;
        let fit = ui.add_enabled(enough && !running, egui::Button::new("Fit probe on tags"));
        if !enough {
            fit.on_hover_text("Make at least two tags first (Tags tab)");
        } else if fit.clicked() {
            app.command(Command::Probe(ProbeCommand::OnTags));
        }
    });
    let Some((g, p)) = &app.probe.tags else { return };
    stale_note(ui, *g != generation);
    ui.label(format!("Trained on {} tagged items; {} untagged items predicted.", p.train_size, p.uncertain.len()));
    if let Some(a) = p.label_agreement {
        ui.label(format!("Agrees with the dataset labels on {:.1}% of the untagged items", a * 100.0))
            .on_hover_text("Every tag is named after a class, so the predictions can be checked against the labels");
    }
    let shown: Vec<(usize, String)> = p
        .uncertain
        .iter()
        .take(UNCERTAIN_SHOWN)
        .map(|&r| (r, format!("{} p={:.2}", clip(&p.tag_names[p.predicted[r] as usize], 10), p.confidence[r])))
        .collect();
    ui.horizontal(|ui| {
        if ui.button("Colour by prediction").clicked() {
            app.command(Command::ColorBy(ColorBy::Predicted));
        }
        if ui.button("Colour by confidence").clicked() {
            app.command(Command::ColorBy(ColorBy::Confidence));
        }
        if ui.button("Select least sure").on_hover_text("Select the listed items on the map, to tag them").clicked() {
            app.command(Command::Select(shown.iter().map(|s| s.0).collect()));
        }
    });
    ui.strong("Least sure: tag these next");
    if let Some(row) = row_gallery(ui, app, &shown, 48.0) {
        app.command(Command::ShowNeighboursOf(row));
    }
}
