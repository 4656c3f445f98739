//! Export panel: the current embeddings with labels, for numpy, spreadsheets and the
//! TensorBoard Embedding Projector.

use crate::app::jobs::JobKind;
use crate::app::jobs::DialogPurpose;
use crate::app::state::Command;
use crate::app::ui::widgets::labelled_text;
use crate::app::PretextApp;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    let Some(space) = &app.space else {
        ui.label("Open a dataset first.");
        return;
    };
    ui.label(format!("Exports the {} of the {} map items ({} dimensions).", space.describe(), space.matrix.rows, space.matrix.cols));
    ui.label(egui::RichText::new(
        "Writes embeddings.npy, indices.npy, labels.npy (-1 = none), embeddings.csv, embeddings.parquet (an embedding list column with index, label, cluster, the map's x/y and texts: for pandas, Embedding Atlas or pretext itself), and projector/vectors.tsv + metadata.tsv (load both at projector.tensorflow.org). Each tag is a tag:<name> column (1 = tagged; true/false in Parquet) and a tag-<name>.npy file.",
    ).small());
    labelled_text(ui, "Folder", &mut app.settings.export_dir, 180.0);
    ui.horizontal(|ui| {
        if ui.button("Export").clicked() {
            let dir = std::path::PathBuf::from(app.settings.export_dir.trim());
            app.command(Command::Export(dir));
        }
        if ui.button("Choose folder…").clicked() {
            app.command(Command::Dialog(DialogPurpose::ExportDir));
        }
        if app.jobs.is_running(JobKind::Export) {
            ui.spinner();
        }
    });
}
