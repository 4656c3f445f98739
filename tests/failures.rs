//! A failure in any of the training's background threads (the trainer, the batch producer,
//! the snapshot worker) ends the run with an error that names it: never a run that stays
//! "running", never one that "completes". Each failure is injected on purpose
//! (`pretext::ssl::fault`).

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use pretext::data::synthetic::shapes_dataset;
use pretext::ssl::fault::Fault;
use pretext::ssl::{FinishReason, TrainCommand, TrainConfig, TrainEvent, Trainer};

fn config(fault: Fault) -> TrainConfig {
    let mut cfg = TrainConfig { width: 8, batch_size: 16, epochs: 4.0, eval_every: 2, fault: Some(fault), ..Default::default() };
    cfg.augment.crop_min_scale = 0.6;
    cfg
}

/// Every event of one phase up to `Finished` (an `Error` does not end the collection: the
/// phase must still end). Panics when nothing comes for a minute: a run left hanging.
fn phase(trainer: &Trainer) -> Vec<TrainEvent> {
    trainer.send(TrainCommand::Start);
    let mut events = Vec::new();
    loop {
        let ev = trainer.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|| panic!("the run went silent after {events:?}"));
        let done = matches!(ev, TrainEvent::Finished { .. });
        events.push(ev);
        if done {
            return events;
        }
    }
}

fn errors(events: &[TrainEvent]) -> Vec<String> {
    events.iter().filter_map(|e| if let TrainEvent::Error(m) = e { Some(m.clone()) } else { None }).collect()
}

fn steps(events: &[TrainEvent]) -> usize {
    events.iter().filter(|e| matches!(e, TrainEvent::Step { .. })).count()
}

/// The phase ended as failed, after exactly one error containing every one of `words`.
fn assert_failed_with(events: &[TrainEvent], words: &[&str]) {
    let errors = errors(events);
    assert_eq!(errors.len(), 1, "one error: {errors:?}");
    for w in words {
        assert!(errors[0].contains(w), "'{w}' in {:?}", errors[0]);
    }
    assert!(matches!(events.last(), Some(TrainEvent::Finished { reason: FinishReason::Failed, .. })), "{:?}", events.last());
    let error_at = events.iter().position(|e| matches!(e, TrainEvent::Error(_))).unwrap_or(usize::MAX);
    assert_eq!(error_at, events.len() - 2, "the error comes just before Finished: {events:?}");
}

#[test]
fn a_panic_in_a_training_step_ends_the_run_with_its_message() {
    let trainer = Trainer::spawn(Arc::new(shapes_dataset(20, 16, 1)), config(Fault::TrainerStep(3)), None).unwrap();
    let events = phase(&trainer);
    assert_failed_with(&events, &["training thread failed", "injected failure", "step 3"]);
    assert_eq!(steps(&events), 2, "steps 1 and 2 trained, step 3 failed");
    // The thread ends (it lets go of its snapshot worker first): a later command is answered
    // with an error, not with silence.
    let waited = std::time::Instant::now();
    while trainer.is_alive() {
        assert!(waited.elapsed() < Duration::from_secs(30), "the failed training thread did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    trainer.send(TrainCommand::Save(std::env::temp_dir().join("never-written")));
    match trainer.recv_timeout(Duration::from_secs(5)) {
        Some(TrainEvent::Error(m)) => assert!(m.contains("stopped after an earlier failure"), "{m}"),
        other => panic!("an error for a command to a dead trainer, got {other:?}"),
    }
}

#[test]
fn a_panic_in_the_batch_producer_ends_the_run_instead_of_completing_it() {
    let trainer = Trainer::spawn(Arc::new(shapes_dataset(20, 16, 2)), config(Fault::Producer(4)), None).unwrap();
    let events = phase(&trainer);
    assert_failed_with(&events, &["making the batches failed", "injected failure", "step 4"]);
    assert_eq!(steps(&events), 3, "the batches of steps 1-3 were made before the producer died");
    // The trainer itself is fine: it still answers.
    assert!(trainer.is_alive());
}

#[test]
fn a_panic_in_the_snapshot_worker_ends_the_run() {
    let cfg = config(Fault::Snapshot);
    let trainer = Trainer::spawn(Arc::new(shapes_dataset(20, 16, 3)), cfg.clone(), None).unwrap();
    let events = phase(&trainer);
    assert_failed_with(&events, &["snapshot worker failed", "injected failure"]);
    assert!(!events.iter().any(|e| matches!(e, TrainEvent::Snapshot { .. } | TrainEvent::Eval { .. })), "no snapshot was taken");
    // The first snapshot is asked for at step 2; the failure is seen within a few steps,
    // long before the phase's last one.
    let total = (cfg.epochs as usize) * (shapes_dataset(20, 16, 3).train.len / cfg.batch_size);
    assert!(steps(&events) < total, "{} of {total} steps", steps(&events));
}

#[test]
fn without_a_fault_the_same_runs_complete() {
    // The check that the faults above, not the settings, made those runs fail.
    let cfg = TrainConfig { fault: None, ..config(Fault::Snapshot) };
    let trainer = Trainer::spawn(Arc::new(shapes_dataset(20, 16, 4)), cfg, None).unwrap();
    let events = phase(&trainer);
    assert!(errors(&events).is_empty(), "{:?}", errors(&events));
    assert!(matches!(events.last(), Some(TrainEvent::Finished { reason: FinishReason::Completed, .. })), "{:?}", events.last());
}

#[test]
fn pretext_train_exits_non_zero_with_one_line_for_each_failure() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("table.csv");
    let mut text = String::from("a,b,c,label\n");
    for i in 0..80 {
        text += &format!("{},{},{},{}\n", i % 7, (i * 3) % 11, i % 5, i % 2);
    }
    std::fs::write(&data, text).unwrap();
    for (fault, words) in [("trainer:2", "training thread failed"), ("producer:3", "making the batches failed"), ("snapshot", "snapshot worker failed")] {
        let out_dir = dir.path().join(fault.replace(':', "-"));
        let res = Command::new(env!("CARGO_BIN_EXE_pretext"))
            .args(["train", "--data", data.to_str().unwrap(), "--epochs", "3", "--batch", "16", "--eval-every", "1", "--out", out_dir.to_str().unwrap()])
            .env("PRETEXT_INJECT_FAULT", fault)
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("run pretext");
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(!res.status.success(), "{fault}: exit status {:?}", res.status);
        // The line that matters is the last; the panic's default trace is not printed.
        let last = err.trim().lines().last().unwrap_or_default();
        assert!(last.starts_with("error: ") && last.contains(words) && last.contains("injected failure"), "{fault}: {err}");
        assert!(!err.contains("panicked"), "{fault}: {err}");
        assert!(!out_dir.join("config.json").exists(), "{fault}: a failed run is not saved as if it had finished");
    }
}
