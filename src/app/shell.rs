//! The shell around the panels: the status line, the errors shown until dismissed, the
//! commands panels emit during a frame, the counters that tell requests and embeddings apart,
//! and the frame statistics. It belongs to no feature; every feature reports through it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Instant;

use crate::app::state::Command;

pub struct Shell {
    /// Readable messages shown at the top of the window until dismissed.
    pub errors: Vec<String>,
    pub status: String,
    /// Commands emitted this frame, applied at its end.
    pub commands: Vec<Command>,
    pub ctx: egui::Context,
    /// The next embedding generation (every new matrix on the map gets one).
    pub next_generation: u64,
    /// The next request number (queries, reconstructions, augmented views).
    pub next_request: u64,
    /// Set once the first dataset load has been requested (first frame).
    pub started: bool,
    /// The dataset to open first (the bundled sample when None).
    pub initial: Option<PathBuf>,
    /// A run to open once the initial dataset has loaded (`pretext --run DIR`).
    pub initial_run: Option<(PathBuf, u64)>,
    /// Milliseconds the last frames took to build (UI code only; the GPU is measured apart).
    pub frame_ms: VecDeque<f32>,
    pub frame_intervals: Vec<f32>,
    /// When the last frame-statistics report was printed.
    pub frame_stats_since: Option<Instant>,
}

impl Shell {
    pub fn new(ctx: egui::Context, initial: Option<PathBuf>) -> Self {
        Self {
            errors: Vec::new(),
            status: String::new(),
            commands: Vec::new(),
            ctx,
            next_generation: 1,
            next_request: 1,
            started: false,
            initial,
            initial_run: None,
            frame_ms: VecDeque::new(),
            frame_intervals: Vec::new(),
            frame_stats_since: None,
        }
    }

    /// Shows `msg` until dismissed (once, however often it is reported).
    pub fn error(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        if !self.errors.contains(&msg) {
            self.errors.push(msg);
        }
    }

    pub fn generation(&mut self) -> u64 {
        let g = self.next_generation;
        self.next_generation += 1;
        g
    }

    pub fn request(&mut self) -> u64 {
        let r = self.next_request;
        self.next_request += 1;
        r
    }
}
