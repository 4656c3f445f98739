//! The "How to read" section of the dataset panel: CSV/Parquet columns and series rows.

use crate::app::read_options::ReadOptions;
use crate::app::ui::widgets::labelled_text;

pub fn show(ui: &mut egui::Ui, read: &mut ReadOptions) {
    egui::CollapsingHeader::new("How to read CSV / NPY / Parquet").id_salt("read-options").default_open(read != &ReadOptions::default()).show(ui, |ui| {
        labelled_text(ui, "Label column", &mut read.label_column, 120.0)
            .on_hover_text("CSV and Parquet/Arrow: the column holding labels. Blank: one named label, class or target. With series rows, a 0-based column number also works.");
        labelled_text(ui, "Id column", &mut read.id_column, 120.0)
            .on_hover_text("CSV and Parquet/Arrow: a column naming each row (a file name, a key). Not a feature: shown beside the row number in tooltips and lists, written as `id` in exports and scores, and accepted as id:VALUE wherever an item is named.");
        labelled_text(ui, "Text column", &mut read.text_column, 120.0)
            .on_hover_text("CSV: the column holding texts. Set, each row is one text item (the other columns are ignored, except the labels). Parquet/Arrow: the texts shown beside the vectors (blank: a column named text, caption or sentence).");
        labelled_text(ui, "Vector column", &mut read.vector_column, 120.0)
            .on_hover_text("Parquet/Arrow: the list column holding each row's embedding. Blank: the only list column, or else every numeric column but the label and id.");
        ui.checkbox(&mut read.series, "Rows are time series")
            .on_hover_text("CSV and 2-D NPY: each row is one time series instead of a table row (.ts/.tsv sets and 3-D NPY arrays are series anyway).");
        ui.checkbox(&mut read.embeddings, "NPY rows are embeddings")
            .on_hover_text("2-D NPY: the rows are vectors made by your own model: kept as written (not standardised per column), explored but not trained on, as a Parquet table's are.");
        ui.checkbox(&mut read.stream, "Stream from disk")
            .on_hover_text("NPY tables, uncompressed IDX images and image folders: read items from disk as training and the map need them instead of holding the dataset in memory. Datasets over 1 GiB are always streamed.");
        ui.label(egui::RichText::new("Applies to the next Open.").small().weak());
    });
}
