//! Top bar: the training buttons, progress and ETA, the status line and error messages.

use crate::app::jobs::JobKind;
use crate::app::state::{format_duration, Command, TrainStatus};
use crate::app::PretextApp;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("pretext");
        if let Some(d) = &app.data {
            ui.label(format!("{} · {} items", d.dataset.name, d.dataset.len()));
        }
        ui.separator();
        let status = app.training.log.status;
        let has_data = app.data.is_some() && !app.jobs.is_running(JobKind::Load);
        let can_start = has_data && matches!(status, TrainStatus::Idle | TrainStatus::Finished);
        let train = egui::Button::new(egui::RichText::new("Train").strong()).min_size(egui::vec2(70.0, 0.0));
        let hint = if status == TrainStatus::Finished { "Train more from where the model is" } else { "Start self-supervised training with the settings on the left" };
        if ui.add_enabled(can_start, train).on_hover_text(hint).clicked() {
            app.command(Command::Train);
        }
        if ui.add_enabled(status == TrainStatus::Running, egui::Button::new("Pause")).clicked() {
            app.command(Command::Pause);
        }
        if ui.add_enabled(status == TrainStatus::Paused, egui::Button::new("Resume")).clicked() {
            app.command(Command::Resume);
        }
        if ui.add_enabled(matches!(status, TrainStatus::Running | TrainStatus::Paused), egui::Button::new("Stop")).clicked() {
            app.command(Command::Stop);
        }
        if app.training.trainer.is_some() && matches!(status, TrainStatus::Idle | TrainStatus::Finished) {
            if ui.button("Reset model").on_hover_text("Forget the trained model; the next Train starts from scratch").clicked() {
                app.command(Command::ResetModel);
            }
        }
        if status != TrainStatus::Idle {
            let log = &app.training.log;
            let text = format!("step {}/{} · epoch {:.2}", log.step, log.total_steps, log.epoch);
            ui.add(egui::ProgressBar::new(log.progress()).text(text).desired_width(260.0));
            if let Some(eta) = log.eta() {
                ui.label(format!("ETA {}", format_duration(eta)));
            }
            if status == TrainStatus::Paused {
                ui.label("paused — the map can still be explored");
            }
        }
        let runs = format!("Runs ({})", app.runs.entries.len());
        if ui.selectable_label(app.runs.open, runs).on_hover_text("Compare runs of this dataset: settings, metrics, curves and maps").clicked() {
            app.command(Command::ToggleRunsTable);
        }
        if app.jobs.is_running(JobKind::Load) {
            ui.add(egui::ProgressBar::new(app.jobs.progress()).text("loading").desired_width(160.0).animate(true));
        } else if app.busy() {
            ui.spinner();
        }
        ui.label(egui::RichText::new(&app.shell.status).weak());
    });
    let mut dismiss = None;
    for (i, e) in app.shell.errors.iter().enumerate() {
        egui::Frame::new().fill(ui.visuals().error_fg_color.gamma_multiply(0.15)).inner_margin(4.0).corner_radius(4.0).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                if ui.small_button("Dismiss").clicked() {
                    dismiss = Some(i);
                }
            });
        });
    }
    if let Some(i) = dismiss {
        app.command(Command::DismissError(i));
    }
}
