//! Draws the density contours over the map: thin lines, darker for denser levels.

use crate::app::PretextApp;

pub fn show(app: &mut PretextApp, ui: &egui::Ui, map_rect: egui::Rect) {
    let version = app.map.view.layout_version();
    let view = app.map.view.view;
    let contours = app.map.contours.of_layout(version, app.map.view.target());
    let painter = ui.painter_at(map_rect);
    let levels = contours.segments.len().max(1) as f32;
    let base = if ui.visuals().dark_mode { egui::Color32::WHITE } else { egui::Color32::BLACK };
    for (i, segments) in contours.segments.iter().enumerate() {
        let stroke = egui::Stroke::new(1.0, base.gamma_multiply(0.25 + 0.5 * (i as f32 + 1.0) / levels));
        for s in segments {
            painter.line_segment([view.to_screen(map_rect, s[0]), view.to_screen(map_rect, s[1])], stroke);
        }
    }
}
