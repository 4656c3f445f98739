//! Self-supervised pretraining: encoders, objectives, augmentation pipeline, the trainer
//! thread with its command/event protocol, and saved runs.

pub mod added;
pub mod bert_tokens;
pub mod checkpoint;
pub mod config;
pub mod contrastive;
pub mod conv;
pub mod conv1d;
pub mod dense;
pub(crate) mod cpu;
pub mod device;
pub mod embed_run;
pub mod encoder;
pub mod encoder_bert;
pub mod encoder_kind;
pub mod encoder_resnet;
pub mod encoder_vit;
pub mod encoder_series;
pub mod encoder_text;
pub mod encoder_text_bag;
mod snapshotter;
pub mod untrained;
pub mod evaluate;
pub mod events;
#[doc(hidden)]
pub mod fault;
pub mod init;
pub mod live_map;
pub mod objective;
pub mod optim;
pub mod ops;
pub mod panics;
pub mod pipeline;
#[cfg(test)]
mod reference_steps;
pub mod run;
pub mod summary;
pub mod trainer;

pub use device::{compute_device, DeviceChoice};
pub use config::{AugmentConfig, EncoderKind, ObjectiveKind, TextEncoder, TokenPool, TrainConfig};
pub use events::{FinishReason, TrainCommand, TrainEvent};

pub use snapshotter::at_low_priority;
pub use trainer::{Trainer, Waker};
