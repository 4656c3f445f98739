//! Tags panel: name the map's selection, list the tags with their counts and colours, show
//! or hide their items, select them again.

use crate::app::settings::ColorBy;
use crate::app::state::Command;
use crate::app::tags::{TagCommand, Tags};
use crate::app::ui::widgets::{labelled_text, swatch};
use crate::app::PretextApp;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.label(format!("{} points selected.", app.selection.count));
    labelled_text(ui, "Tag name", &mut app.tags.name_input, 160.0);
    ui.horizontal(|ui| {
        let can = app.selection.count > 0 && !app.tags.name_input.trim().is_empty();
        if ui.add_enabled(can, egui::Button::new("Tag selection")).on_hover_text("Add the selected points to this tag (a new tag, or one of the list)").clicked() {
            app.command(Command::Tag(TagCommand::TagSelection(app.tags.name_input.trim().to_string())));
        }
        let colouring = app.settings.color_by == ColorBy::Tag;
        if ui.add_enabled(!colouring && !app.tags.list.is_empty(), egui::Button::new("Colour the map by tag")).clicked() {
            app.command(Command::ColorBy(ColorBy::Tag));
        }
    });
    ui.label(egui::RichText::new("Tags are saved with the run (tags.json) and exported as columns.").small().weak());
    ui.separator();
    if app.tags.list.is_empty() {
        ui.label("No tags yet: select points on the map (Box, Lasso, a cluster or a score's top N), name them here.");
        return;
    }
    let mut cmd = None;
    egui::Grid::new("tag-table").striped(true).num_columns(4).show(ui, |ui| {
        for (i, tag) in app.tags.list.iter().enumerate() {
            ui.horizontal(|ui| {
                swatch(ui, Tags::colour(i));
                if ui.button(&tag.name).on_hover_text("Select this tag's points on the map").clicked() {
                    cmd = Some(TagCommand::Select(i));
                }
            });
            ui.label(format!("{} items", tag.items.len()));
            let mut shown = tag.shown;
            if ui.checkbox(&mut shown, format!("show {}", tag.name)).on_hover_text("Show or hide this tag's points on the map").changed() {
                cmd = Some(TagCommand::ToggleShown(i));
            }
            if ui.small_button(format!("remove {}", tag.name)).clicked() {
                cmd = Some(TagCommand::Remove(i));
            }
            ui.end_row();
        }
    });
    if let Some(c) = cmd {
        app.command(Command::Tag(c));
    }
}
