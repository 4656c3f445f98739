//! pretext: a lab for self-supervised learning.
//!
//! The library is the core (data, SSL training, analysis, export) and knows nothing about
//! any GUI. The `pretext` binary puts two front ends on it: the egui app (`app`) and a
//! headless CLI (`cli`); both drive the same trainer and read the same event stream.

pub mod analysis;
pub mod app;
pub mod bench;
pub mod cli;
pub mod data;
pub mod error;
pub mod export;
pub(crate) mod linalg;
pub mod ssl;

pub use error::{PretextError, Result};
