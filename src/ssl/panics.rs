//! Panics in the training's background threads are reported as the run's error (the
//! trainer's `Error` event), so printing them a second time, as Rust's default hook does,
//! would only bury that one line under a trace meant for developers.

use std::any::Any;

/// Threads whose panics always reach the user as a `TrainEvent::Error`: the trainer (and
/// its step pool), the batch producer, the snapshot worker (and its pool).
const REPORTED: [&str; 5] = ["pretext-trainer", "pretext-batches", "pretext-snapshots", "pretext-train-", "pretext-snapshot-"];

/// The message a panic was raised with (`panic!` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Keeps Rust's default panic output for every thread but those whose panics are reported
/// as the run's error; with `RUST_BACKTRACE` set, those print it too (for bug reports).
pub fn quiet_reported_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let name = std::thread::current().name().unwrap_or_default().to_string();
        let reported = REPORTED.iter().any(|r| if r.ends_with('-') { name.starts_with(r) } else { name == *r });
        if !reported || std::env::var_os("RUST_BACKTRACE").is_some() {
            default(info);
        }
    }));
}
