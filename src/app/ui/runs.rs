//! Runs panel: the current model and the run folders added to it, one row each with the
//! columns of `pretext compare`; click a run's name to put its map on screen.

use crate::app::jobs::JobKind;
use std::path::PathBuf;

use crate::app::jobs::DialogPurpose;
use crate::app::state::Command;
use crate::app::PretextApp;
use crate::ssl::summary::{RunSummary, COLUMNS, MISSING};

/// The row of the current model when it has no folder yet (trained here, not saved).
fn unsaved_current(app: &PretextApp) -> Option<RunSummary> {
    if app.runs.current_dir.is_some() {
        return None;
    }
    let (trainer, data) = (app.training.trainer.as_ref()?, app.data.as_ref()?);
    Some(RunSummary::live("current (unsaved)", trainer.config(), &data.dataset.name, app.training.log.step))
}

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.strong("Runs");
        if ui.button("Add run…").on_hover_text("Choose a run folder (saved here or by `pretext train`) to compare").clicked() {
            app.command(Command::Dialog(DialogPurpose::AddRun));
        }
        let edit = ui.add(egui::TextEdit::singleline(&mut app.runs.path_input).hint_text("run folder path").desired_width(260.0));
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Add").clicked() || enter) && !app.runs.path_input.trim().is_empty() {
            app.command(Command::AddRun(PathBuf::from(app.runs.path_input.trim())));
        }
        if app.jobs.is_running(JobKind::RunAdd) || app.jobs.is_running(JobKind::RunEval) {
            ui.spinner();
            ui.label(egui::RichText::new("measuring on the full dataset…").weak());
        }
    });
    let live = unsaved_current(app);
    if app.runs.entries.is_empty() && live.is_none() {
        ui.label(egui::RichText::new("Train, save or add runs of this dataset to compare them here; click a run's name to see its map.").weak());
        return;
    }
    let mut clicked: Option<Option<PathBuf>> = None;
    let mut remove = None;
    let mut torch = None;
    egui::ScrollArea::both().id_salt("runs-scroll").auto_shrink([false, true]).show(ui, |ui| {
        egui::Grid::new("runs-grid").striped(true).spacing([14.0, 3.0]).show(ui, |ui| {
            for c in COLUMNS {
                ui.strong(c);
            }
            ui.end_row();
            if let Some(row) = &live {
                if ui.selectable_label(app.runs.shown.is_none(), &row.name).on_hover_text("Show the current model's latest snapshot on the map").clicked() {
                    clicked = Some(None);
                }
                cells(ui, row, None);
                ui.end_row();
            }
            for entry in &app.runs.entries {
                let dir = entry.dir().to_path_buf();
                let mut name = entry.summary.name.clone();
                if app.runs.is_current(&dir) {
                    name.push_str(" (current)");
                }
                let hover = format!("{}\nClick to show this run's saved embeddings on the map", dir.display());
                if ui.selectable_label(app.runs.is_shown(&dir), name).on_hover_text(hover).clicked() {
                    clicked = Some(Some(dir.clone()));
                }
                let note = if entry.measuring { Some("measuring…") } else { entry.error.as_deref().map(|_| "failed") };
                cells(ui, &entry.summary, note);
                if ui.small_button("PyTorch…").on_hover_text("Export as PyTorch project…: a Lightning project that trains this run's recipe on more data, GPUs or machines (DDP), and writes back a run folder to open here").clicked() {
                    torch = Some(dir.clone());
                }
                if ui.small_button("×").on_hover_text("Remove from the table (the folder stays)").clicked() {
                    remove = Some(dir);
                }
                ui.end_row();
            }
        });
    });
    if let Some(dir) = clicked {
        // The current model's row shows the live snapshot; a folder that is the current
        // model shows its saved embeddings.
        app.command(Command::ShowRun(dir));
    }
    if let Some(dir) = remove {
        app.command(Command::RemoveRun(dir));
    }
    if let Some(dir) = torch {
        app.runs.torch_from = Some(dir);
        app.command(Command::Dialog(DialogPurpose::ExportTorch));
    }
}

/// Every cell after the name; metrics cells say why they are empty while measuring.
fn cells(ui: &mut egui::Ui, row: &RunSummary, note: Option<&str>) {
    for (i, text) in row.cells().into_iter().enumerate().skip(1) {
        let is_metric = i >= 9;
        match (note, is_metric && text == MISSING) {
            (Some(n), true) => ui.label(egui::RichText::new(n).weak()),
            _ => ui.label(text),
        };
    }
}
