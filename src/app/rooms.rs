//! One room per feature. Each feature of the window keeps its state in its own type and says
//! in its `Room` impl what it does when the window's shared state changes under it: a
//! dataset loads, the map's rows change, a new embedding arrives, a run is opened or saved,
//! the model is reset. `PretextApp::broadcast` is the one place these are called from, and
//! it names every room of the app, so a feature added without its reactions does not
//! compile (rerun keeps per-view state the same way, in each view's own type).

use std::path::Path;

use crate::app::state::{Command, Snapshot, Space};
use crate::app::PretextApp;
use crate::ssl::run::SavedRun;

/// What a room asks the window for while it reacts: errors to show, commands to apply.
#[derive(Default)]
pub struct Effects {
    pub errors: Vec<String>,
    pub commands: Vec<Command>,
}

/// A saved run that became the current model, with the snapshot it puts on the map.
pub struct OpenedRun<'a> {
    pub saved: &'a SavedRun,
    pub snapshot: &'a Snapshot,
}

/// A feature's reactions to changes of the window's shared state. Every method is required:
/// a feature that has nothing to do says so with an empty body.
pub trait Room {
    /// A new dataset is on the map with `rows` rows: nothing of the old one stays.
    fn on_dataset_loaded(&mut self, path: &Path, rows: usize);
    /// The map shows other items (another run's subset), `rows` of them.
    fn on_map_rows_changed(&mut self, rows: usize);
    /// A new embedding of the map's rows (a snapshot, a run, an isolation).
    fn on_new_space(&mut self, space: &Space, fx: &mut Effects);
    fn on_run_opened(&mut self, run: &OpenedRun<'_>, fx: &mut Effects);
    /// The current model was saved to `dir`: what the feature keeps with a run goes there.
    fn on_run_saved(&mut self, dir: &Path, fx: &mut Effects);
    /// The model was forgotten; the next Train starts from scratch.
    fn on_model_reset(&mut self);
}

/// The changes rooms react to.
pub enum Lifecycle<'a> {
    DatasetLoaded { path: &'a Path, rows: usize },
    MapRowsChanged { rows: usize },
    NewSpace(Space),
    RunOpened(OpenedRun<'a>),
    RunSaved(&'a Path),
    ModelReset,
}

impl Lifecycle<'_> {
    fn deliver(&self, room: &mut dyn Room, fx: &mut Effects) {
        match self {
            Lifecycle::DatasetLoaded { path, rows } => room.on_dataset_loaded(path, *rows),
            Lifecycle::MapRowsChanged { rows } => room.on_map_rows_changed(*rows),
            Lifecycle::NewSpace(space) => room.on_new_space(space, fx),
            Lifecycle::RunOpened(run) => room.on_run_opened(run, fx),
            Lifecycle::RunSaved(dir) => room.on_run_saved(dir, fx),
            Lifecycle::ModelReset => room.on_model_reset(),
        }
    }
}

impl PretextApp {
    /// Tells every room of `event`, then shows the errors and queues the commands they gave.
    pub(crate) fn broadcast(&mut self, event: Lifecycle<'_>) {
        let mut fx = Effects::default();
        // Every field is named: a new one must be listed here, as a room or as shared state.
        let PretextApp {
            settings: _,
            data: _,
            space: _,
            jobs: _,
            thumbs: _,
            shell,
            dataset,
            training,
            map,
            isolation,
            timeline,
            change,
            neighbours,
            clusters,
            selection,
            scores,
            tags,
            probe,
            runs,
        } = self;
        let rooms: [&mut dyn Room; 13] = [dataset, training, map, isolation, timeline, change, neighbours, clusters, selection, scores, tags, probe, runs];
        for room in rooms {
            event.deliver(room, &mut fx);
        }
        for e in fx.errors {
            shell.error(e);
        }
        shell.commands.extend(fx.commands);
    }
}
