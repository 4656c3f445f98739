//! The "How to read" section of the dataset panel: CSV columns and series rows.

use crate::app::read_options::ReadOptions;
use crate::app::ui::widgets::labelled_text;

pub fn show(ui: &mut egui::Ui, read: &mut ReadOptions) {
    egui::CollapsingHeader::new("How to read CSV / NPY").id_salt("read-options").default_open(read != &ReadOptions::default()).show(ui, |ui| {
        labelled_text(ui, "Label column", &mut read.label_column, 120.0)
            .on_hover_text("CSV: the column holding labels. Blank: one named label, class or target. With series rows, a 0-based column number also works.");
        labelled_text(ui, "Text column", &mut read.text_column, 120.0)
            .on_hover_text("CSV: the column holding texts. Set, each row is one text item (the other columns are ignored, except the labels).");
        ui.checkbox(&mut read.series, "Rows are time series")
            .on_hover_text("CSV and 2-D NPY: each row is one time series instead of a table row (.ts/.tsv sets and 3-D NPY arrays are series anyway).");
        ui.label(egui::RichText::new("Applies to the next Open.").small().weak());
    });
}
