//! Scores panel: the map items ranked by a data-quality score (thumbnails, highest first),
//! colouring the map by it, selecting the top items, and near-duplicate groups under a
//! distance threshold.

use crate::app::jobs::JobKind;
use crate::app::scores::ScoreKind;
use crate::app::settings::ColorBy;
use crate::app::state::Command;
use crate::app::ui::widgets::{row_gallery, slider};
use crate::app::PretextApp;

/// Items shown in the ranked gallery and per duplicate group.
const GALLERY: usize = 24;
const GROUPS_SHOWN: usize = 12;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    let running = app.jobs.is_running(JobKind::Scores);
    let Some(result) = &app.scores.result else {
        ui.horizontal(|ui| {
            ui.label("Scores are computed for every new map.");
            if running {
                ui.spinner();
            }
        });
        return;
    };
    let current = app.space.as_ref().is_some_and(|s| s.generation == result.generation);
    if !current || running {
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("Updating for the newest map...").small().weak());
            ui.spinner();
        });
    }
    let has_labels = result.label_error.is_some();
    ui.horizontal_wrapped(|ui| {
        for kind in ScoreKind::ALL {
            if kind == ScoreKind::LabelError && !has_labels {
                continue;
            }
            ui.selectable_value(&mut app.scores.kind, kind, kind.label());
        }
    });
    let kind = app.scores.kind;
    ui.label(egui::RichText::new(kind.explain()).small());
    let ranked = result.ranked(kind);
    let Some(values) = result.values(kind).map(<[f32]>::to_vec) else {
        ui.label("This score needs labels.");
        return;
    };
    ui.horizontal(|ui| {
        let colouring = app.settings.color_by == ColorBy::Score(kind);
        if ui.add_enabled(!colouring, egui::Button::new("Colour the map by it")).clicked() {
            app.command(Command::ColorBy(ColorBy::Score(kind)));
        }
    });
    ui.horizontal(|ui| {
        ui.add(slider(&mut app.scores.top_n, 1..=ranked.len().max(1)).logarithmic(true).text("Top N"));
        if ui.button("Select top N").on_hover_text("Select the N highest-scoring items on the map").clicked() {
            let rows = ranked[..app.scores.top_n.min(ranked.len())].to_vec();
            app.command(Command::Select(rows));
        }
    });
    ui.strong(format!("Highest {}", kind.label().to_lowercase()));
    let shown: Vec<(usize, String)> = ranked.iter().take(GALLERY).map(|&r| (r, format!("{:.3}", values[r]))).collect();
    if let Some(row) = row_gallery(ui, app, &shown, 56.0) {
        focus(app, row);
    }
    ui.separator();
    duplicates(app, ui);
}

fn duplicates(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.strong("Near-duplicates");
    ui.add(slider(&mut app.scores.duplicate_distance, 0.0..=0.2).logarithmic(true).smallest_positive(1e-4).text("Duplicate distance"))
        .on_hover_text("Items closer than this cosine distance (1 - cos) in the embedding form a group");
    let groups = app.scores.duplicate_groups();
    let members: usize = groups.iter().map(Vec::len).sum();
    ui.label(format!("{} groups ({members} items)", groups.len()));
    for (g, rows) in groups.iter().take(GROUPS_SHOWN).enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!("Group {} ({} items)", g + 1, rows.len()));
            if ui.small_button(format!("Select group {}", g + 1)).clicked() {
                app.command(Command::Select(rows.clone()));
            }
        });
        let shown: Vec<(usize, String)> = rows.iter().take(GALLERY / 2).map(|&r| (r, String::new())).collect();
        if let Some(row) = row_gallery(ui, app, &shown, 40.0) {
            focus(app, row);
        }
    }
}

fn focus(app: &mut PretextApp, row: usize) {
    app.command(Command::ShowNeighboursOf(row));
}
