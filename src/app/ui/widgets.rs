//! Small widgets shared by the panels.

use egui::{Color32, Response, Sense, TextureHandle, Vec2};

use crate::app::PretextApp;

/// A text field with a visible label that screen readers (and kittest) can find it by.
pub fn labelled_text(ui: &mut egui::Ui, label: &str, value: &mut String, width: f32) -> Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(egui::TextEdit::singleline(value).desired_width(width)).labelled_by(l.id)
    })
    .inner
}

pub fn swatch(ui: &mut egui::Ui, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
    ui.painter().rect_filled(rect, 2.0, color);
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", text[..at].trim_end()),
        None => text.to_string(),
    }
}

/// The string of a text item, when the dataset is texts.
pub fn item_text(app: &PretextApp, item: usize) -> Option<String> {
    app.data.as_ref()?.dataset.global_text(item).map(str::to_string)
}

/// A dataset item as a clickable thumbnail; `caption` is its accessible name (and what a
/// screen reader or a kittest query finds it by). Texts get a button showing the text
/// (clipped), tables a text button with the caption.
pub fn item_button(ui: &mut egui::Ui, app: &mut PretextApp, item: usize, caption: &str, size: f32) -> Response {
    if let Some(text) = item_text(app, item) {
        let clipped = clip(&text, (size * 1.5) as usize);
        return ui.add(egui::Button::new(egui::RichText::new(clipped).small()).wrap()).on_hover_text(text);
    }
    let tex: Option<TextureHandle> = app.data.as_ref().and_then(|d| app.thumbs.item(ui.ctx(), &d.dataset, item));
    match tex {
        Some(t) => {
            let r = ui.add(egui::Image::new(&t).fit_to_exact_size(Vec2::splat(size)).alt_text(caption).sense(Sense::click()));
            if r.hovered() {
                ui.painter().rect_stroke(r.rect.expand(1.0), 2.0, ui.visuals().selection.stroke, egui::StrokeKind::Outside);
            }
            r.on_hover_cursor(egui::CursorIcon::PointingHand)
        }
        None => ui.button(caption),
    }
}

/// A compact readout of an item: the first few features of a table row with their column
/// names, or the text of a text item (clipped to `max` lines of about 60 characters).
pub fn feature_summary(app: &PretextApp, item: usize, max: usize) -> String {
    let Some(d) = &app.data else { return String::new() };
    if let Some(text) = d.dataset.global_text(item) {
        return clip(text, max * 60);
    }
    let crate::data::Modality::Table { columns } = &d.dataset.modality else { return String::new() };
    let values = d.dataset.global_item(item);
    let mut parts: Vec<String> = columns.iter().zip(values.iter()).take(max).map(|(c, v)| format!("{c} = {v:.3}")).collect();
    if columns.len() > max {
        parts.push(format!("… {} more", columns.len() - max));
    }
    parts.join("\n")
}

/// Label text of a dataset item (class name or "unlabelled").
pub fn label_text(app: &PretextApp, item: usize) -> String {
    app.data
        .as_ref()
        .and_then(|d| d.dataset.global_label(item).map(|l| d.dataset.class_name(l).to_string()))
        .unwrap_or_else(|| "unlabelled".into())
}

/// A slider that never rewrites a value it did not edit: settings loaded from disk or set
/// by a test may lie outside the slider's range and must stay as they are.
pub fn slider<Num: egui::emath::Numeric>(value: &mut Num, range: std::ops::RangeInclusive<Num>) -> egui::Slider<'_> {
    egui::Slider::new(value, range).clamping(egui::SliderClamping::Edits)
}

/// Map rows as a wrapping gallery of thumbnails (texts: clipped text buttons), each with a
/// caption under it; returns the row clicked, if any.
pub fn row_gallery(ui: &mut egui::Ui, app: &mut PretextApp, rows: &[(usize, String)], size: f32) -> Option<usize> {
    let mut clicked = None;
    ui.horizontal_wrapped(|ui| {
        for (row, caption) in rows {
            let Some(item) = app.item_of_row(*row) else { continue };
            let cell = egui::Layout::top_down(egui::Align::Center);
            ui.allocate_ui_with_layout(egui::vec2(size + 12.0, size + 34.0), cell, |ui| {
                ui.set_width(size + 12.0);
                let name = format!("#{item} {caption}");
                if item_button(ui, app, item, &name, size).on_hover_text(format!("{name}: click to see its neighbours")).clicked() {
                    clicked = Some(*row);
                }
                ui.label(egui::RichText::new(label_text(app, item)).small());
                ui.label(egui::RichText::new(caption).small().weak());
            });
        }
    });
    clicked
}

/// A count with thousands separators (70000 → "70,000"), as the README and the CLI print them.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
