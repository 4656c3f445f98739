//! Reconstructions panel (generative objectives): the damaged input the model sees next to
//! what it restores (state in `app::reconstructions`).

use crate::app::PretextApp;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui, row: usize) {
    if app.neighbours.reconstructions.row != Some(row) || app.neighbours.reconstructions.pairs.is_empty() {
        return;
    }
    let Some(d) = &app.data else { return };
    let modality = d.dataset.modality.clone();
    let pairs = app.neighbours.reconstructions.pairs.clone();
    ui.label(egui::RichText::new(format!("Input the model sees, then its reconstruction (step {})", app.neighbours.reconstructions.step)).small());
    if !modality.is_image() {
        // Table rows: the first features before and after, as numbers.
        let fmt = |v: &[f32]| v.iter().take(6).map(|x| format!("{x:>6.2}")).collect::<Vec<_>>().join(" ");
        for (input, output) in &pairs {
            ui.label(egui::RichText::new(format!("in  {}\nout {}", fmt(input), fmt(output))).monospace().small());
        }
        return;
    }
    let request = app.neighbours.reconstructions.request;
    egui::Grid::new("reconstructions").spacing([6.0, 4.0]).show(ui, |ui| {
        for (i, (input, output)) in pairs.iter().enumerate() {
            for (kind, values) in [("in", input), ("out", output)] {
                // Reconstructions can leave the input's range; thumbnails clamp them.
                if let Some(t) = app.thumbs.named(ui.ctx(), &format!("recon-{request}-{i}-{kind}"), &modality, values) {
                    ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(56.0, 56.0)));
                }
            }
            if i % 2 == 1 {
                ui.end_row();
            }
        }
    });
}
