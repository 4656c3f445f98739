//! The time series augmentation settings of the training panel, each with what it does.

use crate::app::ui::widgets::slider;
use crate::data::augment_series::SeriesAugment;

pub fn augmentations(ui: &mut egui::Ui, a: &mut SeriesAugment) {
    ui.add(slider(&mut a.crop_min, 0.2..=1.0).text("Min crop"))
        .on_hover_text("Shortest random window, as a fraction of the length, cut out and stretched back to full length (1: no crop).");
    ui.add(slider(&mut a.time_warp, 0.0..=0.5).text("Time warp"))
        .on_hover_text("Strength of a smooth random change of speed: some stretches of the series play faster, others slower; the ends stay put.");
    ui.add(slider(&mut a.magnitude_warp, 0.0..=0.5).text("Magnitude warp"))
        .on_hover_text("Strength of a smooth random gain curve around 1 that multiplies the series (a slowly varying amplitude).");
    ui.add(slider(&mut a.scaling, 0.0..=0.5).text("Scaling"))
        .on_hover_text("Standard deviation of a random factor around 1 that scales each channel as a whole.");
    ui.add(slider(&mut a.jitter, 0.0..=0.5).text("Jitter"))
        .on_hover_text("Standard deviation of Gaussian noise added to every step (series are z-normalised, so 0.1 is a tenth of their spread).");
    ui.add(slider(&mut a.permute_segments, 0..=8).text("Permute segments"))
        .on_hover_text("Cut each view into 2 up to this many pieces and shuffle them (0 or 1: off). A strong augmentation: it keeps local shapes and loses their order.");
}
