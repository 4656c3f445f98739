//! The timeline bar above the map: a slider over the recorded snapshots, play, and back to
//! live. Shown once training has laid out two snapshots.

use crate::app::PretextApp;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    let now = ui.input(|i| i.time);
    if let Some(frame) = app.timeline.advance(now) {
        app.map.view.set_layout(frame.layout.to_vec(), app.settings.animate, now);
    }
    if app.timeline.playing {
        ui.ctx().request_repaint_after(std::time::Duration::from_secs_f64(crate::app::timeline::PLAY_SECONDS_PER_FRAME / 2.0));
    }
    if let Some(warning) = crate::app::collapse::warning(&app.training.log.effective_rank, &app.training.log.embedding_std) {
        ui.colored_label(ui.visuals().warn_fg_color, warning).on_hover_text(
            "The effective rank or the spread of the embeddings dropped below half of its best value: the objective may be collapsing. Try a lower learning rate, stronger augmentations or another objective.",
        );
    }
    let count = app.timeline.frames().len();
    if count < 2 {
        return;
    }
    let last = count - 1;
    let mut index = app.timeline.position.unwrap_or(last);
    ui.horizontal(|ui| {
        let play = if app.timeline.playing { "Pause" } else { "Play" };
        if ui.button(play).on_hover_text("Replay how the map formed, one snapshot at a time").clicked() {
            app.timeline.playing = !app.timeline.playing;
            if app.timeline.playing && app.timeline.position.is_none() {
                app.timeline.position = Some(0);
                show_frame(app, 0, now);
            }
            app.timeline.last_advance = now;
        }
        let step = app.timeline.frames()[index].step;
        let slider = egui::Slider::new(&mut index, 0..=last).show_value(false).text(format!("Timeline: step {step}"));
        let response = ui.add(slider).on_hover_text("The map at an earlier snapshot. Neighbours, clusters and exports still use the latest embedding.");
        if response.changed() {
            app.timeline.playing = false;
            app.timeline.position = (index < last).then_some(index);
            show_frame(app, index, now);
        }
        let live = app.timeline.position.is_none();
        if ui.add_enabled(!live, egui::Button::new("Live")).on_hover_text("Follow training again").clicked() {
            app.timeline.playing = false;
            app.timeline.position = None;
            show_frame(app, last, now);
        }
    });
}

/// Puts the map at the timeline's frame of `step` (the live one when it is the last).
pub fn show_step(app: &mut PretextApp, step: usize, now: f64) {
    let frames = app.timeline.frames();
    let Some(index) = frames.iter().position(|f| f.step == step) else { return };
    let last = frames.len() - 1;
    app.timeline.playing = false;
    app.timeline.position = (index < last).then_some(index);
    show_frame(app, index, now);
}

fn show_frame(app: &mut PretextApp, index: usize, now: f64) {
    if let Some(frame) = app.timeline.frames().get(index).cloned() {
        app.map.view.set_layout(frame.layout.to_vec(), app.settings.animate, now);
    }
}
