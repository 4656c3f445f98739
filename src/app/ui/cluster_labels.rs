//! Cluster labels on the map: each cluster's majority label (or its number, without labels)
//! written at the centre of its points as they are drawn, so the map reads like an atlas.

use crate::app::PretextApp;

pub fn show(app: &PretextApp, ui: &mut egui::Ui, map_rect: egui::Rect) {
    let Some((c, _)) = &app.clusters.result else { return };
    let n = app.map.view.len();
    if c.assignments.len() != n {
        return;
    }
    let mut sums = vec![(egui::Vec2::ZERO, 0usize); c.k];
    for (row, &k) in c.assignments.iter().enumerate() {
        if let (Some(p), Some(s)) = (app.map.view.screen_pos(row), sums.get_mut(k)) {
            s.0 += p.to_vec2();
            s.1 += 1;
        }
    }
    let ds = app.data.as_ref().map(|d| &d.dataset);
    for s in &c.summaries {
        let is_noise = c.noise && s.cluster + 1 == c.k;
        let (sum, count) = sums[s.cluster];
        if is_noise || count == 0 {
            continue;
        }
        let centre = (sum / count as f32).to_pos2();
        if !map_rect.contains(centre) {
            continue;
        }
        let name = match (s.majority, ds) {
            (Some(m), Some(ds)) => format!("C{} {}", s.cluster, ds.class_name(m)),
            _ => format!("C{}", s.cluster),
        };
        let text = egui::RichText::new(name).strong().background_color(egui::Color32::from_black_alpha(170)).color(egui::Color32::WHITE);
        let size = egui::vec2(160.0, 18.0);
        ui.put(egui::Rect::from_center_size(centre, size), egui::Label::new(text).selectable(false));
    }
}
