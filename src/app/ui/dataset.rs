//! Dataset panel: open (typed path, native dialog, drag-and-drop, recent list), and what the
//! loaded dataset holds.

use crate::app::jobs::JobKind;
use crate::app::jobs::DialogPurpose;
use crate::app::state::Command;
use crate::app::ui::widgets::{labelled_text, swatch};
use crate::app::map::colors;
use crate::app::PretextApp;
use crate::app::ui::widgets::slider;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.label("Open an IDX folder, an image folder (one sub-folder per class), a .csv or a .npy file, a table of embeddings from your own model (.parquet, .arrow/.feather), a UCR/UEA time series set (.ts/.tsv, the folder or either file of the TRAIN/TEST pair), or texts (a .txt or label<TAB>text .tsv with one item per line, or a folder of .txt files by class). You can also drop it on the window.");
    let r = labelled_text(ui, "Path", &mut app.dataset.path_input, 210.0);
    let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.horizontal(|ui| {
        if ui.button("Open").clicked() || enter {
            let p = app.dataset.path_input.trim().to_string();
            app.command(Command::OpenDataset(p.into()));
        }
        if ui.button("File…").on_hover_text("Choose a .csv, .npy, .ts, .tsv or IDX file").clicked() {
            app.command(Command::Dialog(DialogPurpose::OpenDatasetFile));
        }
        if ui.button("Folder…").on_hover_text("Choose an IDX, image or UCR/UEA archive folder").clicked() {
            app.command(Command::Dialog(DialogPurpose::OpenDatasetFolder));
        }
        if ui.button("Sample").on_hover_text("The bundled Fashion-MNIST sample (10,000 images)").clicked() {
            app.command(Command::OpenDataset(crate::data::load::sample_data_dir()));
        }
    });
    crate::app::ui::read_options::show(ui, &mut app.dataset.read_options);
    ui.horizontal(|ui| {
        ui.checkbox(&mut app.settings.map_whole_dataset, "Every item on the map")
            .on_hover_text("The map, neighbours, clusters and scores hold the whole dataset. Live kNN accuracy uses a fixed sample of 10,000 of them. Applies when a dataset is opened.");
        if !app.settings.map_whole_dataset {
            ui.add(slider(&mut app.settings.train.map_items, 500..=100_000).logarithmic(true).text("points"))
                .on_hover_text("How many items the map, neighbours, clusters and live evaluation use (a fixed random sample). Applies when a dataset is opened.");
        }
    });
    if app.jobs.is_running(JobKind::Load) {
        ui.add(egui::ProgressBar::new(app.jobs.progress()).show_percentage().animate(true));
    }
    if !app.settings.recent.is_empty() {
        ui.collapsing("Recent", |ui| {
            for p in app.settings.recent.clone() {
                if ui.link(p.display().to_string()).clicked() {
                    app.command(Command::OpenDataset(p));
                }
            }
        });
    }
    ui.separator();
    let Some(d) = &app.data else {
        ui.label("No dataset open.");
        return;
    };
    let ds = d.dataset.clone();
    egui::Grid::new("dataset-info").num_columns(2).striped(true).show(ui, |ui| {
        ui.label("Name");
        ui.label(&ds.name);
        ui.end_row();
        ui.label("Source");
        ui.label(egui::RichText::new(&ds.source).small());
        ui.end_row();
        ui.label("Items");
        ui.label(format!("{} ({} train, {} test)", ds.len(), ds.train.len, ds.test.len));
        ui.end_row();
        ui.label("Kind");
        ui.label(ds.modality.describe());
        ui.end_row();
        ui.label("On the map");
        ui.label(format!("{} items", d.map_indices.len()));
        ui.end_row();
        if ds.is_streamed() {
            ui.label("Storage");
            ui.label("streamed from disk")
                .on_hover_text(format!("Items are read from the file as training, thumbnails and embeddings need them; the dataset is never held in memory. The map holds a seeded sample of at most {} items.", crate::app::work::STREAMED_MAP_ITEMS));
            ui.end_row();
        }
        if let Some(b) = d.baseline_knn {
            ui.label("kNN on raw features");
            ui.label(format!("{:.1}%", b * 100.0));
            ui.end_row();
        }
    });
    for note in &ds.notes {
        ui.colored_label(ui.visuals().warn_fg_color, note);
    }
    if !ds.class_names.is_empty() {
        ui.add_space(4.0);
        ui.strong("Classes");
        let counts = ds.class_counts();
        egui::Grid::new("classes").num_columns(2).show(ui, |ui| {
            for (i, name) in ds.class_names.iter().enumerate() {
                ui.horizontal(|ui| {
                    swatch(ui, colors::category(i));
                    ui.label(name);
                });
                ui.label(counts.get(i).copied().unwrap_or(0).to_string());
                ui.end_row();
            }
        });
    }
    ui.add_space(4.0);
    ui.strong("Samples");
    if crate::app::thumbs::has_thumbnails(&ds) {
        ui.horizontal_wrapped(|ui| {
            for i in (0..ds.len()).step_by((ds.len() / 24).max(1)).take(24) {
                if let Some(t) = app.thumbs.item(ui.ctx(), &ds, i) {
                    ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(40.0, 40.0)))
                        .on_hover_text(format!("#{i} {}", ds.global_label(i).map_or("", |l| ds.class_name(l))));
                }
            }
        });
    } else if ds.global_text(0).is_some() {
        for i in (0..ds.len()).step_by((ds.len() / 6).max(1)).take(6) {
            let label = ds.global_label(i).map_or("", |l| ds.class_name(l));
            let text = crate::app::ui::widgets::clip(ds.global_text(i).unwrap_or(""), 90);
            ui.label(egui::RichText::new(format!("{label}: {text}")).small());
        }
    } else if let Some(columns) = match &ds.modality {
        crate::data::Modality::Table { columns } => Some(columns.clone()),
        crate::data::Modality::Embedding { dim } => Some((0..*dim).map(|j| format!("e{j}")).take(8).collect()),
        crate::data::Modality::Image { .. } | crate::data::Modality::Series { .. } | crate::data::Modality::Text { .. } => None,
    } {
        egui::ScrollArea::horizontal().id_salt("rows").show(ui, |ui| {
            egui::Grid::new("rows-grid").striped(true).show(ui, |ui| {
                for c in columns.iter().take(8) {
                    ui.strong(c);
                }
                ui.end_row();
                for i in 0..ds.len().min(8) {
                    for v in ds.global_item(i).iter().take(8) {
                        ui.label(format!("{v:.3}"));
                    }
                    ui.end_row();
                }
            });
        });
    }
}
