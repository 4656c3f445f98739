//! Selection panel: what a box, lasso or cluster selected, and what can be done with it.

use crate::app::curation::CurateCommand;
use crate::analysis::coreset::CoresetMethod;
use crate::app::jobs::{DialogPurpose, JobKind};
use crate::app::state::Command;
use crate::app::ui::widgets::{item_button, labelled_text};
use crate::app::PretextApp;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    diverse_pick(app, ui);
    ui.separator();
    if app.selection.count == 0 {
        ui.label("Nothing selected. Use Box or Lasso above the map (or shift-drag), select a cluster in the Clusters tab, or pick diverse items above.");
        return;
    }
    ui.label(format!("{} points selected (the rest are dimmed on the map).", app.selection.count));
    if let (Some(labels), Some(d)) = (app.data.as_ref().and_then(|d| d.labels.as_ref()), &app.data) {
        let mut counts = vec![0usize; d.dataset.class_names.len().max(1)];
        for (r, &s) in app.selection.rows.iter().enumerate() {
            if s {
                if let Some(c) = counts.get_mut(labels[r] as usize) {
                    *c += 1;
                }
            }
        }
        let mut by: Vec<(usize, usize)> = counts.into_iter().enumerate().filter(|(_, c)| *c > 0).collect();
        by.sort_by(|a, b| b.1.cmp(&a.1));
        let text: Vec<String> = by.iter().take(5).map(|(l, c)| format!("{} {}", c, d.dataset.class_name(*l as u32))).collect();
        ui.label(egui::RichText::new(text.join(", ")).small());
    }
    ui.horizontal(|ui| {
        if ui.button("Clear selection").clicked() {
            app.command(Command::ClearSelection);
        }
        if ui.button("Isolate selection").on_hover_text("Show only these points, laid out anew from their own embeddings (Show all points brings the rest back)").clicked() {
            app.command(Command::IsolateSelection);
        }
    });
    ui.separator();
    ui.strong("Export the selection");
    labelled_text(ui, "Folder", &mut app.settings.export_dir, 180.0);
    ui.horizontal(|ui| {
        if ui.button("Export selection").on_hover_text("indices, labels and embeddings as .npy and .csv, plus the projector TSV pair").clicked() {
            let dir = std::path::PathBuf::from(app.settings.export_dir.trim()).join("selection");
            app.command(Command::ExportSelection(dir));
        }
        if ui.button("Choose folder…").clicked() {
            app.command(Command::Dialog(DialogPurpose::ExportSelection));
        }
    });
    files_row(app, ui);
    ui.separator();
    ui.strong("Members");
    let rows: Vec<usize> = app.selection.rows.iter().enumerate().filter(|(_, &s)| s).map(|(r, _)| r).take(60).collect();
    ui.horizontal_wrapped(|ui| {
        for r in rows {
            let Some(item) = app.item_of_row(r) else { continue };
            if item_button(ui, app, item, &format!("#{item}"), 40.0).on_hover_text("Show its neighbours").clicked() {
                app.command(Command::ShowNeighboursOf(r));
            }
        }
    });
}

/// The selection acted on outside pretext, into the export folder above (new files only).
fn files_row(app: &mut PretextApp, ui: &mut egui::Ui) {
    let Some(d) = &app.data else { return };
    let possible = crate::app::curation::possible(&d.dataset.source, d.dataset.has_labels());
    let classes = d.dataset.class_names.clone();
    let mut command = None;
    ui.horizontal_wrapped(|ui| {
        if ui.button("List sources").on_hover_text("selection-sources.txt: each selected item's file, row or line, one per line").clicked() {
            command = Some(CurateCommand::ListSources);
        }
        if possible.copy && ui.button("Copy files").on_hover_text("selection-files/: copies of the selected files, in their class folders").clicked() {
            command = Some(CurateCommand::CopyFiles);
        }
        if possible.without && ui.button("New file without them").on_hover_text("A copy of the dataset's CSV or text file without the selected rows or lines (your file is not changed)").clicked() {
            command = Some(CurateCommand::WriteWithout);
        }
    });
    if possible.relabel && !classes.is_empty() {
        let id = ui.scope_id().with("relabel-class");
        let mut class: usize = ui.data(|m| m.get_temp(id)).unwrap_or(0).min(classes.len() - 1);
        ui.horizontal(|ui| {
            egui::ComboBox::from_id_salt(id).selected_text(classes[class].as_str()).show_ui(ui, |ui| {
                for (i, name) in classes.iter().enumerate() {
                    ui.selectable_value(&mut class, i, name.as_str());
                }
            });
            if ui.button("Relabel in a new CSV").on_hover_text("A copy of the CSV with the selected rows' labels set to this class, and a corrections file (source, old label, new label)").clicked() {
                command = Some(CurateCommand::Relabel(classes[class].clone()));
            }
        });
        ui.data_mut(|m| m.insert_temp(id, class));
    }
    if let Some(c) = command {
        app.command(Command::Curate(c));
    }
}

/// "Pick diverse items": a few map rows worth labelling, as the selection.
fn diverse_pick(app: &mut PretextApp, ui: &mut egui::Ui) {
    let rows = app.space.as_ref().map_or(0, |s| s.matrix.rows);
    ui.horizontal(|ui| {
        ui.label("Pick");
        let pick = &mut app.selection.diverse;
        ui.add(egui::DragValue::new(&mut pick.n).range(1..=rows.max(1)));
        ui.label("diverse items by");
        egui::ComboBox::from_id_salt("diverse-method").selected_text(pick.method.label()).show_ui(ui, |ui| {
            for m in CoresetMethod::ALL {
                ui.selectable_value(&mut pick.method, m, m.label());
            }
        });
        let hover = "k-center: every item close to some pick (outliers come early). typical: the most typical item of each of N k-means clusters (better when only a few labels are affordable)";
        let running = app.jobs.is_running(JobKind::DiversePick);
        if ui.add_enabled(rows > 0 && !running, egui::Button::new("Select")).on_hover_text(hover).clicked() {
            app.command(Command::PickDiverse);
        }
        if running {
            ui.spinner();
        }
    });
    if let Some(r) = app.selection.diverse.last {
        ui.label(
            egui::RichText::new(format!(
                "{} items by {}: every map item is within {:.3} of one (a random pick of as many: {:.3}); make it a tag in the Tags tab",
                r.picked,
                r.method.label(),
                r.radius,
                r.random_radius
            ))
            .small(),
        );
    }
}
