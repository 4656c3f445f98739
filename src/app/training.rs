//! The training panel's room: the trainer thread of the current model and the log behind the
//! charts and the progress line.

use std::path::Path;

use crate::app::jobs::Jobs;
use crate::app::rooms::{Effects, OpenedRun, Room};
use crate::app::state::{Space, TrainingLog};
use crate::ssl::{TrainCommand, Trainer};

#[derive(Default)]
pub struct TrainingRoom {
    pub trainer: Option<Trainer>,
    pub log: TrainingLog,
}

impl TrainingRoom {
    /// Sends `cmd` to the trainer, if there is one.
    pub fn send(&self, cmd: TrainCommand) {
        if let Some(t) = &self.trainer {
            t.send(cmd);
        }
    }

    /// Ends the current model's thread without waiting for it (it may be mid-step).
    pub fn drop_trainer(&mut self) {
        if let Some(t) = self.trainer.take() {
            Jobs::drop_in_background(t);
        }
    }

    /// Makes `trainer` the current model, ending the one before it.
    pub fn replace_trainer(&mut self, trainer: Trainer) {
        self.drop_trainer();
        self.trainer = Some(trainer);
    }
}

impl Room for TrainingRoom {
    fn on_dataset_loaded(&mut self, _path: &Path, _rows: usize) {
        self.drop_trainer();
        self.log = TrainingLog::default();
    }
    fn on_map_rows_changed(&mut self, _rows: usize) {}
    fn on_new_space(&mut self, _space: &Space, _fx: &mut Effects) {}
    /// The run's trainer is already in place; its log starts anew.
    fn on_run_opened(&mut self, _run: &OpenedRun<'_>, _fx: &mut Effects) {
        self.log = TrainingLog::default();
    }
    fn on_run_saved(&mut self, _dir: &Path, _fx: &mut Effects) {}
    fn on_model_reset(&mut self) {
        self.drop_trainer();
        self.log = TrainingLog::default();
    }
}
