//! Neighbours panel: the focused item's nearest items in embedding space (not on the 2D map),
//! and query by file (an image, or one time series) or by typed text (texts).

use crate::app::jobs::JobKind;
use crate::app::jobs::DialogPurpose;
use crate::app::state::Command;
use crate::app::ui::widgets::{clip, feature_summary, item_button, item_text, label_text, labelled_text};
use crate::app::PretextApp;
use crate::app::ui::widgets::slider;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.add(slider(&mut app.settings.neighbours_k, 1..=48).text("Neighbours (k)"));
    if let Some(s) = &app.space {
        ui.label(egui::RichText::new(format!("Cosine similarity in the {}.", s.describe())).small().weak());
    }
    if is_text(app) {
        query_by_text(app, ui);
    } else {
        query_by_file(app, ui);
    }
    ui.separator();
    let Some(row) = app.neighbours.focus else {
        ui.label("Click a point on the map to see its nearest neighbours.");
        return;
    };
    let Some(item) = app.item_of_row(row) else { return };
    ui.horizontal(|ui| {
        if let Some(t) = app.data.as_ref().and_then(|d| app.thumbs.item(ui.ctx(), &d.dataset, item)) {
            ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(96.0, 96.0)));
        }
        ui.vertical(|ui| {
            ui.heading(format!("Selected #{item}"));
            ui.label(label_text(app, item));
            if let Some((c, _)) = &app.clusters.result {
                if let Some(k) = c.assignments.get(row) {
                    ui.label(format!("cluster {k}"));
                }
            }
            let features = feature_summary(app, item, 12);
            if item_text(app, item).is_some() {
                ui.label(features);
            } else if !features.is_empty() {
                ui.label(egui::RichText::new(features).monospace().small());
            }
            let generative = app.training.trainer.as_ref().is_some_and(|t| t.config().objective.is_generative());
            if generative {
                if ui.button("Show reconstructions").on_hover_text("This item damaged as the objective damages it, next to the model's reconstruction; refreshed with every snapshot").clicked() {
                    app.command(Command::ShowReconstructions(row));
                }
            } else if ui.button("Show augmented views").on_hover_text("What the view-based objectives compare for this item").clicked() {
                app.command(Command::ShowViews(row));
            }
        });
    });
    views(app, ui, row);
    crate::app::ui::reconstructions::show(app, ui, row);
    let neighbours = match &app.neighbours.list {
        Some((_, r, n)) if *r == row => n.clone(),
        _ => {
            ui.spinner();
            return;
        }
    };
    let k = app.settings.neighbours_k;
    if neighbours.len() < k.min(app.map.view.len().saturating_sub(1)) && !app.jobs.is_running(JobKind::Neighbours) {
        app.command(Command::Focus(Some(row)));
    }
    gallery(app, ui, &neighbours[..k.min(neighbours.len())], "nb");
}

fn is_text(app: &PretextApp) -> bool {
    app.data.as_ref().is_some_and(|d| matches!(d.dataset.modality, crate::data::Modality::Text { .. }))
}

fn gallery(app: &mut PretextApp, ui: &mut egui::Ui, neighbours: &[crate::analysis::neighbors::Neighbor], key: &str) {
    let focus_label = app.neighbours.focus.and_then(|r| app.item_of_row(r)).and_then(|i| app.data.as_ref()?.dataset.global_label(i));
    if is_text(app) {
        text_list(app, ui, neighbours, key, focus_label);
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for (rank, n) in neighbours.iter().enumerate() {
            let Some(item) = app.item_of_row(n.index) else { continue };
            // Each cell is allocated at its full size so the wrapping layout can move it to
            // the next row (a scope placed first and sized later would overflow the panel).
            let cell = egui::Layout::top_down(egui::Align::Center);
            ui.allocate_ui_with_layout(egui::vec2(76.0, 112.0), cell, |ui| {
                ui.set_width(76.0);
                let caption = format!("{}. #{item}", rank + 1);
                let source = app.data.as_ref().map(|d| d.dataset.item_name(item)).unwrap_or_default();
                if item_button(ui, app, item, &caption, 64.0).on_hover_text(format!("{caption} {source}: click to select")).clicked() {
                    app.command(Command::Focus(Some(n.index)));
                }
                let label = app.data.as_ref().and_then(|d| d.dataset.global_label(item));
                let same = label.is_some() && label == focus_label;
                let text = egui::RichText::new(label_text(app, item)).small();
                ui.label(if same || key != "nb" { text } else { text.color(ui.visuals().warn_fg_color) });
                ui.label(egui::RichText::new(format!("#{item} d={:.3}", n.distance())).small().weak());
            });
        }
    });
}

/// Texts are read, not glanced at: one line per neighbour (rank, label, distance, the text
/// clipped; hover for all of it).
fn text_list(app: &mut PretextApp, ui: &mut egui::Ui, neighbours: &[crate::analysis::neighbors::Neighbor], key: &str, focus_label: Option<u32>) {
    for (rank, n) in neighbours.iter().enumerate() {
        let Some(item) = app.item_of_row(n.index) else { continue };
        ui.horizontal(|ui| {
            let label = app.data.as_ref().and_then(|d| d.dataset.global_label(item));
            let same = label.is_some() && label == focus_label;
            let caption = format!("{}. #{item}", rank + 1);
            ui.label(egui::RichText::new(&caption).small());
            let text = egui::RichText::new(label_text(app, item)).small().strong();
            ui.label(if same || key != "nb" { text } else { text.color(ui.visuals().warn_fg_color) });
            ui.label(egui::RichText::new(format!("d={:.3}", n.distance())).small().weak());
            if let Some(d) = &app.data {
                ui.label(egui::RichText::new(d.dataset.item_name(item)).small().weak().monospace());
            }
        });
        if item_button(ui, app, item, "", 60.0).clicked() {
            app.command(Command::Focus(Some(n.index)));
        }
    }
}

fn views(app: &mut PretextApp, ui: &mut egui::Ui, row: usize) {
    let Some((r, views)) = &app.neighbours.views else { return };
    if *r != row {
        return;
    }
    let Some(d) = &app.data else { return };
    let modality = d.dataset.modality.clone();
    let views = views.clone();
    ui.label(egui::RichText::new("Augmented views (new random draws each time)").small());
    if matches!(modality, crate::data::Modality::Text { .. }) {
        for v in &views {
            ui.label(egui::RichText::new(clip(&crate::data::text::decode(v), 160)).monospace().small());
        }
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for (i, v) in views.iter().enumerate() {
            if let Some(t) = app.thumbs.named(ui.ctx(), &format!("view-{row}-{i}-{}", v.len()), &modality, v) {
                ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(56.0, 56.0)));
            }
        }
    });
}

fn query_by_text(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.collapsing("Search by text", |ui| {
        let r = labelled_text(ui, "Text", &mut app.neighbours.query_input, 220.0);
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Find similar texts").on_hover_text("Embed the text with the current model and list the nearest items").clicked() || enter {
            let text = app.neighbours.query_input.trim().to_string();
            app.command(Command::QueryText(text));
        }
        let Some(q) = &app.neighbours.query else { return };
        let Some(text) = q.text.clone() else { return };
        let neighbours = q.neighbours.clone();
        ui.label(egui::RichText::new(format!("Nearest to \"{}\"", clip(&text, 60))).small());
        match neighbours {
            Some(n) => gallery(app, ui, &n, "query"),
            None => {
                ui.spinner();
            }
        }
    });
}

fn query_by_file(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.collapsing("Query by file", |ui| {
        let r = labelled_text(ui, "File", &mut app.neighbours.query_input, 170.0)
            .on_hover_text("An image for image datasets; for time series a .csv/.txt of one series (one row per channel, or one column) or a .npy");
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        ui.horizontal(|ui| {
            if ui.button("Find neighbours").clicked() || enter {
                let p = app.neighbours.query_input.trim().to_string();
                app.command(Command::QueryImage(p.into()));
            }
            if ui.button("Choose file…").clicked() {
                app.command(Command::Dialog(DialogPurpose::QueryImage));
            }
        });
        let Some(q) = &app.neighbours.query else { return };
        let (path, pixels, neighbours) = (q.path.clone(), q.pixels.clone(), q.neighbours.clone());
        ui.horizontal(|ui| {
            if let Some(d) = &app.data {
                let modality = d.dataset.modality.clone();
                if let Some(t) = app.thumbs.named(ui.ctx(), "query", &modality, &pixels) {
                    ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(64.0, 64.0)));
                }
            }
            ui.label(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        });
        match neighbours {
            Some(n) => gallery(app, ui, &n, "query"),
            None => {
                ui.spinner();
            }
        }
    });
}
