//! Deliberate failures in the background threads of training, so tests can check that each
//! one reaches the user as an error instead of a run that never ends or "completes".
//!
//! Nothing a user sets reaches this by accident: `TrainConfig::fault` is hidden from the docs
//! and skipped by serde (never read from or written to a run's config.json), and the only
//! other way in is `pretext train` reading the `PRETEXT_INJECT_FAULT` environment variable
//! (`from_env`, read in one place), which lets a test check the command's own message and
//! exit status.

/// Where to fail, as `PRETEXT_INJECT_FAULT` spells it: `trainer:N`, `producer:N`, `snapshot`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The trainer thread panics in training step N (1-based).
    TrainerStep(usize),
    /// The batch producer panics while making the batch of step N (1-based).
    Producer(usize),
    /// The snapshot worker panics on every snapshot it takes.
    Snapshot,
}

/// The environment variable `pretext train` reads a fault from.
#[doc(hidden)]
pub const ENV: &str = "PRETEXT_INJECT_FAULT";

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let step = |n: &str| n.parse::<usize>().map_err(|_| format!("{ENV}: '{n}' is not a step number"));
        match s.trim().split_once(':') {
            Some(("trainer", n)) => Ok(Fault::TrainerStep(step(n)?)),
            Some(("producer", n)) => Ok(Fault::Producer(step(n)?)),
            None if s.trim() == "snapshot" => Ok(Fault::Snapshot),
            _ => Err(format!("{ENV}: '{s}' is not trainer:N, producer:N or snapshot")),
        }
    }
}

/// The fault named by `PRETEXT_INJECT_FAULT`, if it is set.
#[doc(hidden)]
pub fn from_env() -> Result<Option<Fault>, String> {
    match std::env::var(ENV) {
        Ok(v) if !v.trim().is_empty() => v.parse().map(Some),
        Ok(_) | Err(_) => Ok(None),
    }
}

/// Panics when `active` is the fault of this place.
pub(crate) fn trip(active: Option<Fault>, here: Fault) {
    if active == Some(here) {
        panic!("injected failure ({here:?})");
    }
}
