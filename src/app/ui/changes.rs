//! Changes panel: what changed between two snapshots of the timeline. Each item's
//! neighbourhood change colours the map; the most changed items are listed as thumbnails,
//! and their paths across the snapshots in between can be drawn as trails.

use crate::app::change::{trails as trail_paths, TRAILS};
use crate::app::settings::ColorBy;
use crate::app::state::Command;
use crate::app::ui::widgets::row_gallery;
use crate::app::PretextApp;

const GALLERY: usize = 24;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.label(egui::RichText::new("How much each item's 10 nearest neighbours in embedding space changed between two snapshots (1 - Jaccard overlap).").small());
    let known: Vec<usize> = app.timeline.comparable().into_iter().map(|i| app.timeline.frames()[i].step).collect();
    let Some((from, to)) = app.change.steps(&app.timeline) else {
        ui.label(format!(
            "Needs two snapshots whose neighbours are known ({} so far): each snapshot's neighbours are found by its scores pass while training runs.",
            known.len()
        ));
        return;
    };
    let mut touched = false;
    ui.horizontal(|ui| {
        touched |= step_choice(ui, "From step", from, &known, &mut app.change.from_step);
        touched |= step_choice(ui, "to step", to, &known, &mut app.change.to_step);
    });
    let Some(change) = app.change.current(&app.timeline) else { return };
    let moved = change.change.iter().filter(|&&c| c >= 0.5).count();
    ui.label(format!("{moved} of {} items lost at least half of their neighbours", change.change.len()));
    ui.horizontal(|ui| {
        let colouring = app.settings.color_by == ColorBy::Change;
        if ui.add_enabled(!colouring, egui::Button::new("Colour the map by change")).clicked() {
            app.command(Command::ColorBy(ColorBy::Change));
            touched = true;
        }
        touched |= ui
            .checkbox(&mut app.change.trails, "Trails").on_hover_text(format!("Draw the paths of the {TRAILS} most changed items across the snapshots from step {from} to {to}"))
            .changed();
        if ui.button("Select top 100").on_hover_text("Select the 100 most changed items on the map").clicked() {
            app.command(Command::Select(change.ranked.iter().take(100).copied().collect()));
        }
    });
    // The map shows where the comparison ends, so colours and trails meet their points.
    if touched {
        if let Some((_, to)) = app.change.steps(&app.timeline) {
            let now = ui.input(|i| i.time);
            crate::app::ui::timeline::show_step(app, to, now);
        }
    }
    ui.strong("Most changed");
    let shown: Vec<(usize, String)> = change.ranked.iter().take(GALLERY).map(|&r| (r, format!("{:.2}", change.change[r]))).collect();
    if let Some(row) = row_gallery(ui, app, &shown, 56.0) {
        app.command(Command::ShowNeighboursOf(row));
    }
}

/// A labelled list of the comparable steps; true when the user picked one.
fn step_choice(ui: &mut egui::Ui, label: &str, current: usize, steps: &[usize], choice: &mut Option<usize>) -> bool {
    let mut picked = false;
    let name = ui.label(label);
    egui::ComboBox::from_id_salt(label).selected_text(current.to_string()).show_ui(ui, |ui| {
        for &s in steps {
            if ui.selectable_label(s == current, s.to_string()).clicked() {
                *choice = Some(s);
                picked = true;
            }
        }
    })
    .response
    .labelled_by(name.id);
    picked
}

/// The most changed items' paths over the map, old positions faint, newest bright.
pub fn trails(app: &mut PretextApp, ui: &egui::Ui, map_rect: egui::Rect) {
    let Some(change) = app.change.current(&app.timeline) else { return };
    let rows: Vec<usize> = change.ranked.iter().take(TRAILS).copied().collect();
    let view = app.map.view.view;
    let painter = ui.painter_at(map_rect);
    let colour = if ui.visuals().dark_mode { egui::Color32::WHITE } else { egui::Color32::BLACK };
    for path in trail_paths(&app.timeline, change.from_step, change.to_step, &rows) {
        let segments = path.len().saturating_sub(1).max(1) as f32;
        for (i, pair) in path.windows(2).enumerate() {
            let stroke = egui::Stroke::new(1.5, colour.gamma_multiply(0.2 + 0.8 * (i as f32 + 1.0) / segments));
            painter.line_segment([view.to_screen(map_rect, pair[0]), view.to_screen(map_rect, pair[1])], stroke);
        }
    }
}
