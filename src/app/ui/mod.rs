//! Panels, one file each. They read the app and push `Command`s; nothing here mutates the
//! model, the trainer or the dataset directly.

mod charts;
mod changes;
mod cluster_labels;
mod contours;
mod clusters;
mod dataset;
mod encoder_settings;
mod export;
mod map_panel;
mod neighbours;
mod probe;
mod read_options;
mod reconstructions;
mod runs;
mod scores;
mod selection;
mod tags;
mod series_settings;
mod text_settings;
pub(crate) mod timeline;
mod top;
mod training;
pub mod widgets;

use crate::app::settings::{LeftTab, RightTab};
use crate::app::PretextApp;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    egui::Panel::top("top").show(ui, |ui| top::show(app, ui));
    if app.runs.open {
        egui::Panel::bottom("runs").resizable(true).default_size(150.0).min_size(90.0).show(ui, |ui| runs::show(app, ui));
    }
    egui::Panel::bottom("charts").resizable(true).default_size(200.0).min_size(170.0).show(ui, |ui| charts::show(app, ui));
    egui::Panel::left("left").resizable(true).default_size(320.0).min_size(240.0).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut app.settings.left_tab, LeftTab::Dataset, "Dataset");
            ui.selectable_value(&mut app.settings.left_tab, LeftTab::Training, "Training");
        });
        ui.separator();
        egui::ScrollArea::vertical().id_salt("left-scroll").show(ui, |ui| match app.settings.left_tab {
            LeftTab::Dataset => dataset::show(app, ui),
            LeftTab::Training => training::show(app, ui),
        });
    });
    egui::Panel::right("right").resizable(true).default_size(360.0).min_size(260.0).show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.selectable_value(&mut app.settings.right_tab, RightTab::Neighbours, "Neighbours");
            ui.selectable_value(&mut app.settings.right_tab, RightTab::Clusters, "Clusters");
            let sel = format!("Selection ({})", app.selection.count);
            ui.selectable_value(&mut app.settings.right_tab, RightTab::Selection, sel);
            ui.selectable_value(&mut app.settings.right_tab, RightTab::Export, "Export");
            ui.selectable_value(&mut app.settings.right_tab, RightTab::Scores, "Scores");
            ui.selectable_value(&mut app.settings.right_tab, RightTab::Tags, format!("Tags ({})", app.tags.list.len()));
            ui.selectable_value(&mut app.settings.right_tab, RightTab::Probe, "Probe");
            ui.selectable_value(&mut app.settings.right_tab, RightTab::Changes, "Changes");
        });
        ui.separator();
        egui::ScrollArea::vertical().id_salt("right-scroll").show(ui, |ui| match app.settings.right_tab {
            RightTab::Neighbours => neighbours::show(app, ui),
            RightTab::Clusters => clusters::show(app, ui),
            RightTab::Selection => selection::show(app, ui),
            RightTab::Export => export::show(app, ui),
            RightTab::Scores => scores::show(app, ui),
            RightTab::Tags => tags::show(app, ui),
            RightTab::Probe => probe::show(app, ui),
            RightTab::Changes => changes::show(app, ui),
        });
    });
    egui::CentralPanel::default().show(ui, |ui| map_panel::show(app, ui));
}
