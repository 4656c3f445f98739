//! The text augmentation settings of the training panel, each with what it does.

use crate::app::ui::widgets::slider;
use crate::data::augment_text::TextAugment;

pub fn augmentations(ui: &mut egui::Ui, a: &mut TextAugment) {
    ui.checkbox(&mut a.simcse, "SimCSE views")
        .on_hover_text("Both views are the text itself; only the encoder's dropout tells them apart (SimCSE). Turns the augmentations below off.");
    ui.add(slider(&mut a.dropout, 0.0..=0.5).text("Encoder dropout"))
        .on_hover_text("While training, the n-gram bag leaves out this share of a text's n-grams and the byte CNN zeroes this share of its activations, at random (what SimCSE views rely on).");
    ui.add_enabled_ui(!a.simcse, |ui| {
        ui.add(slider(&mut a.crop_min, 0.2..=1.0).text("Min crop"))
            .on_hover_text("Each view keeps a random run of consecutive words, at least this share of them (1: no crop).");
        ui.add(slider(&mut a.word_dropout, 0.0..=0.5).text("Word dropout"))
            .on_hover_text("Each word of the crop is left out with this probability (one word always stays).");
        ui.add(slider(&mut a.char_noise, 0.0..=0.3).text("Character noise"))
            .on_hover_text("Each character is replaced by a random lowercase letter with this probability (typos).");
        ui.add(slider(&mut a.span_mask, 0.0..=0.5).text("Span mask"))
            .on_hover_text("About this share of the bytes is hidden behind a mask code, in spans of 4.");
    });
}
