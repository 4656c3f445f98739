//! Reconstructions of generative objectives (masked and denoising autoencoders): which item
//! is shown and the trainer's newest answer for it. Re-requested with every snapshot, so the
//! reconstructions follow training.

/// Which item's reconstructions are shown, and the newest answer for it.
#[derive(Default)]
pub struct Reconstructions {
    /// Map row shown (None: the panel is closed).
    pub row: Option<usize>,
    /// The request whose answer is awaited; older answers are ignored.
    pub request: u64,
    pub pairs: Vec<(Vec<f32>, Vec<f32>)>,
    /// Training step of the model that made `pairs`.
    pub step: usize,
}

/// Damaged copies drawn per request (each with a fresh random mask or noise).
pub const DRAWS: usize = 4;

impl Reconstructions {
    pub fn close(&mut self) {
        *self = Self::default();
    }

    /// Takes an answer if it is for the current request.
    pub fn receive(&mut self, request: u64, pairs: Vec<(Vec<f32>, Vec<f32>)>, step: usize) {
        if self.row.is_some() && request == self.request {
            self.pairs = pairs;
            self.step = step;
        }
    }
}
