//! The batch producer: views for the next steps are made on their own thread while the
//! current step trains, so augmentation never stalls the model.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::data::Dataset;
use crate::ssl::config::TrainConfig;
use crate::ssl::fault::{self, Fault};
use crate::ssl::objective::{Batch, Objective};

/// Batches prepared ahead of the trainer.
const PREFETCH: usize = 3;

/// Items of step `step`: each epoch is a fresh seeded permutation of the train split, so the
/// sequence depends only on the seed and the step, never on timing.
pub fn step_items(n_train: usize, batch: usize, seed: u64, step: usize) -> Vec<usize> {
    let per_epoch = steps_per_epoch(n_train, batch);
    let epoch = step / per_epoch;
    let mut order: Vec<usize> = (0..n_train).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9).wrapping_add(epoch as u64)));
    let start = (step % per_epoch) * batch;
    order[start..start + batch].to_vec()
}

/// Full batches per epoch (the ragged tail is dropped, as PyTorch's drop_last does).
pub fn steps_per_epoch(n_train: usize, batch: usize) -> usize {
    (n_train / batch.max(1)).max(1)
}

pub struct Producer {
    pub batches: Receiver<(usize, Batch)>,
    handle: Option<JoinHandle<()>>,
    /// Why the thread could not be started, when it could not.
    start_error: Option<String>,
}

impl Producer {
    /// Produces batches for steps `from..to`.
    pub fn start(ds: Arc<Dataset>, cfg: TrainConfig, objective: Arc<dyn Objective>, from: usize, to: usize) -> Self {
        let (tx, rx) = bounded(PREFETCH);
        let batch = cfg.batch_size.min(ds.train.len);
        let spawned = std::thread::Builder::new().name("pretext-batches".into()).spawn(move || {
            for step in from..to {
                fault::trip(cfg.fault, Fault::Producer(step + 1));
                let items = step_items(ds.train.len, batch, cfg.seed, step);
                let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed ^ (step as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
                let b = objective.make_batch(&ds, &items, &cfg, &mut rng);
                if tx.send((step, b)).is_err() {
                    return; // the trainer stopped listening
                }
            }
        });
        match spawned {
            Ok(handle) => Self { batches: rx, handle: Some(handle), start_error: None },
            Err(e) => Self { batches: rx, handle: None, start_error: Some(format!("the batch thread could not start ({e})")) },
        }
    }

    /// Why the batches stopped before the last step: called once `batches` is disconnected.
    /// The thread has ended then (its sender is gone), so joining it returns at once with
    /// the panic it died of.
    pub fn failure(&mut self) -> String {
        if let Some(e) = self.start_error.take() {
            return e;
        }
        match self.handle.take().map(JoinHandle::join) {
            Some(Err(payload)) => format!("making the batches failed: {}", crate::ssl::panics::panic_message(payload.as_ref())),
            Some(Ok(())) | None => "the batches ended before the last step".to_string(),
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // Dropping the receiver ends the producer at its next send.
        let (_, dead) = bounded(0);
        self.batches = dead;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
