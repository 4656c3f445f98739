//! Tags: named sets of dataset items the user makes from map selections. Each tag has a
//! colour on the map and can hide its items; tags are saved in the run folder as
//! `tags.json`, read back when the run is opened, and go into every export as a column.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::app::map::colors;
use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::Space;
use crate::app::settings::ColorBy;
use crate::app::PretextApp;

pub const FILE: &str = "tags.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    /// Global dataset indices (not map rows, so a tag outlives a change of map subset).
    pub items: BTreeSet<usize>,
    /// Hidden tags hide their items on the map.
    #[serde(default = "shown")]
    pub shown: bool,
}

fn shown() -> bool {
    true
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tags {
    pub list: Vec<Tag>,
    /// The name typed in the tags panel (not saved).
    #[serde(skip)]
    pub name_input: String,
}

/// What the tags panel asks for.
#[derive(Debug, Clone)]
pub enum TagCommand {
    /// Tag the selected map rows with this name (added to the tag when it exists).
    TagSelection(String),
    Remove(usize),
    ToggleShown(usize),
    /// Select the tag's items on the map.
    Select(usize),
}

impl Tags {
    /// Adds `items` to the tag `name`, creating it; an empty name is refused.
    pub fn add(&mut self, name: &str, items: impl IntoIterator<Item = usize>) -> Result<(), String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("type a name for the tag".into());
        }
        match self.list.iter_mut().find(|t| t.name == name) {
            Some(tag) => tag.items.extend(items),
            None => self.list.push(Tag { name: name.to_string(), items: items.into_iter().collect(), shown: true }),
        }
        Ok(())
    }

    pub fn colour(index: usize) -> egui::Color32 {
        colors::category(index)
    }

    /// The first tag (in list order) holding `item`.
    pub fn first_of(&self, item: usize) -> Option<usize> {
        self.list.iter().position(|t| t.items.contains(&item))
    }

    /// Whether a hidden tag holds `item`.
    pub fn hides(&self, item: usize) -> bool {
        self.list.iter().any(|t| !t.shown && t.items.contains(&item))
    }

    /// Per tag, its name and whether it holds each of `items` (export columns).
    pub fn columns(&self, items: &[usize]) -> Vec<(String, Vec<bool>)> {
        self.list.iter().map(|t| (t.name.clone(), items.iter().map(|i| t.items.contains(i)).collect())).collect()
    }

    pub fn save(&self, dir: &Path) -> Result<(), String> {
        let path = dir.join(FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The tags saved in a run folder; none when it has no tags file.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: not a tags file ({e})", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

impl Room for Tags {
    fn on_dataset_loaded(&mut self, _path: &Path, _rows: usize) {
        *self = Tags::default();
    }
    /// Tags name dataset items, not map rows: they outlive a change of rows.
    fn on_map_rows_changed(&mut self, _rows: usize) {}
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    fn on_run_opened(&mut self, run: &OpenedRun<'_>, fx: &mut Effects) {
        *self = Tags::load(&run.saved.dir).unwrap_or_else(|e| {
            fx.errors.push(format!("the run's tags could not be read: {e}"));
            Tags::default()
        });
    }
    fn on_run_saved(&mut self, dir: &Path, fx: &mut Effects) {
        if let Err(e) = self.save(dir) {
            fx.errors.push(format!("the run was saved but not its tags: {e}"));
        }
    }
    fn on_model_reset(&mut self) {}
}

impl PretextApp {
    pub(crate) fn apply_tag(&mut self, cmd: TagCommand) {
        match cmd {
            TagCommand::TagSelection(name) => {
                let rows = self.selection.selected().into_iter();
                let items: Vec<usize> = rows.filter_map(|r| self.item_of_row(r)).collect();
                if items.is_empty() {
                    self.error("select some points on the map first, then tag them");
                    return;
                }
                if let Err(e) = self.tags.add(&name, items) {
                    self.error(e);
                    return;
                }
                self.settings.color_by = ColorBy::Tag;
            }
            TagCommand::Remove(i) => {
                if i < self.tags.list.len() {
                    self.tags.list.remove(i);
                }
            }
            TagCommand::ToggleShown(i) => {
                if let Some(t) = self.tags.list.get_mut(i) {
                    t.shown = !t.shown;
                }
            }
            TagCommand::Select(i) => {
                let Some(tag) = self.tags.list.get(i) else { return };
                let rows = self.data.as_ref().map(|d| (0..d.map_indices.len()).filter(|&r| tag.items.contains(&d.map_indices[r])).collect());
                self.apply(crate::app::state::Command::Select(rows.unwrap_or_default()));
                return;
            }
        }
        self.map.style_version += 1;
        self.save_tags_to_current_run();
    }

    /// Keeps the open run's `tags.json` in step with the tags.
    pub(crate) fn save_tags_to_current_run(&mut self) {
        if let Some(dir) = self.runs.current_dir.clone() {
            if let Err(e) = self.tags.save(&dir) {
                self.error(format!("the tags could not be saved: {e}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_add_to_existing_names_refuse_empty_ones_and_round_trip_through_the_run_folder() {
        let mut tags = Tags::default();
        tags.add("shoes", [3, 1]).unwrap();
        tags.add(" shoes ", [7]).unwrap();
        tags.add("odd", [1]).unwrap();
        assert!(tags.add("  ", [2]).is_err());
        assert_eq!(tags.list.len(), 2);
        assert_eq!(tags.list[0].items.iter().copied().collect::<Vec<_>>(), vec![1, 3, 7]);
        assert_eq!(tags.columns(&[7, 1, 2]), vec![("shoes".to_string(), vec![true, true, false]), ("odd".to_string(), vec![false, true, false])]);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Tags::load(dir.path()).unwrap(), Tags::default(), "no file, no tags");
        tags.list[1].shown = false;
        tags.save(dir.path()).unwrap();
        assert_eq!(Tags::load(dir.path()).unwrap(), tags);
        assert!(tags.hides(1) && !tags.hides(3));
        std::fs::write(dir.path().join(FILE), "{ not json").unwrap();
        let err = Tags::load(dir.path()).unwrap_err();
        assert!(err.contains(FILE), "{err}");
    }
}
