//! The trainer's protocol: commands in, events out. One stream serves the CLI and the GUI.

use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::Matrix;

/// Sent to the trainer thread.
#[derive(Debug, Clone)]
pub enum TrainCommand {
    /// Begin (or, after `Finished`, continue) training for the configured budget.
    Start,
    Pause,
    Resume,
    /// End the current training; the model stays loaded for Save and Embed.
    Stop,
    /// Write the run directory (config, checkpoint, embeddings, labels, metrics).
    Save(PathBuf),
    /// Embed arbitrary items (each `item_len` floats, same preprocessing as the dataset).
    /// Answered with `Embedded { request, .. }`.
    Embed { request: u64, items: Vec<f32> },
    /// Generative objectives: damage each of the given dataset items as the objective does
    /// and reconstruct it with the current model. Answered with `Reconstructed`.
    Reconstruct { request: u64, items: Vec<usize> },
    /// Leave the thread.
    Shutdown,
}

/// Why a training phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    Completed,
    TimeBudget,
    Stopped,
    /// Training could not go on: an `Error` event just before says why.
    Failed,
}

/// Sent by the trainer thread.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// `threads`: the size of the pool the steps run on.
    Started { total_steps: usize, steps_per_epoch: usize, start_step: usize, threads: usize },
    /// `teacher_momentum`: the EMA momentum of the objective's teacher, when it has one.
    Step { step: usize, epoch: f32, loss: f32, items_per_sec: f32, learning_rate: f64, teacher_momentum: Option<f64> },
    /// Live evaluation on the map subset.
    Eval {
        step: usize,
        /// Weighted kNN accuracy (DINO protocol) of map-subset test items against map-subset
        /// train items; `None` without labels.
        knn_accuracy: Option<f32>,
        /// Mean over dimensions of the per-dimension std of L2-normalised embeddings; near 0
        /// means collapse (1/sqrt(d) is the healthy scale).
        embedding_std: f32,
        /// Effective rank (entropy of the normalised singular values, Roy & Vetterli 2007).
        effective_rank: f32,
    },
    /// Embeddings of the map subset (rows follow `Trainer::map_indices`).
    Snapshot { step: usize, embeddings: Arc<Matrix> },
    Paused { step: usize },
    Resumed { step: usize },
    Finished { step: usize, reason: FinishReason },
    Saved(PathBuf),
    Embedded { request: u64, embeddings: Matrix },
    /// Per requested item: (the damaged input the model saw, its reconstruction), each
    /// `item_len` floats.
    Reconstructed { request: u64, pairs: Vec<(Vec<f32>, Vec<f32>)> },
    /// Something failed (bad config, NaN loss, a failed save, a background thread that
    /// panicked, ...). The message is for the user. When it ends a training phase, it is
    /// followed by `Finished { reason: Failed }`.
    Error(String),
}
