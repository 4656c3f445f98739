//! The trainer end to end on small synthetic data: it learns, it is reproducible, it can be
//! saved, reopened and resumed, and it stops cleanly on a diverging loss.

use std::sync::Arc;
use std::time::Duration;

use pretext::analysis::{knn, Matrix};
use pretext::data::synthetic::{blobs_dataset, shapes_dataset};
use pretext::data::Dataset;
mod common;
use common::{collect_until_finished, losses, run_phase};
use pretext::ssl::{FinishReason, ObjectiveKind, TrainCommand, TrainConfig, TrainEvent, Trainer};

fn tiny_config() -> TrainConfig {
    let mut cfg = TrainConfig { width: 8, batch_size: 64, epochs: 2.0, eval_every: 1000, map_items: 10_000, ..Default::default() };
    cfg.augment.crop_min_scale = 0.6;
    cfg
}

fn last_snapshot(events: &[TrainEvent]) -> Arc<Matrix> {
    events
        .iter()
        .rev()
        .find_map(|e| if let TrainEvent::Snapshot { embeddings, .. } = e { Some(embeddings.clone()) } else { None })
        .expect("a snapshot at the end of training")
}

/// kNN accuracy of test rows against train rows of a full-dataset snapshot.
fn snapshot_knn(ds: &Dataset, indices: &[usize], emb: &Matrix) -> f32 {
    let (train, test): (Vec<usize>, Vec<usize>) = (0..indices.len()).partition(|&r| !ds.is_test(indices[r]));
    let labels = |rows: &[usize]| rows.iter().map(|&r| ds.global_label(indices[r]).unwrap()).collect::<Vec<_>>();
    knn::accuracy(&emb.select_rows(&train), &labels(&train), &emb.select_rows(&test), &labels(&test), knn::KnnProtocol::default()).unwrap()
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len() as f32
}

#[test]
fn simclr_lowers_the_loss_and_beats_the_untrained_encoder_on_shapes() {
    let ds = Arc::new(shapes_dataset(200, 24, 1));
    let cfg = TrainConfig { epochs: 12.0, ..tiny_config() };
    // Step 0: a trainer with 0 steps gives the untrained embedding (the final snapshot).
    let untrained = Trainer::spawn(ds.clone(), TrainConfig { epochs: 0.0001, ..cfg.clone() }, None).unwrap();
    let idx = untrained.map_indices();
    untrained.send(TrainCommand::Stop);
    let before_events = run_phase(&untrained);
    let trainer = Trainer::spawn(ds.clone(), cfg, None).unwrap();
    let events = run_phase(&trainer);
    assert!(matches!(events.last(), Some(TrainEvent::Finished { reason: FinishReason::Completed, .. })), "{:?}", events.last());
    let l = losses(&events);
    assert!(l.len() >= 100, "{} steps", l.len());
    let (first, last) = (mean(&l[..10]), mean(&l[l.len() - 10..]));
    assert!(last < first - 0.3, "loss went from {first} to {last}");
    let before = snapshot_knn(&ds, &idx, &last_snapshot(&before_events));
    let after = snapshot_knn(&ds, &idx, &last_snapshot(&events));
    eprintln!("shapes kNN accuracy: untrained {before:.3}, trained {after:.3}");
    assert!(after > before + 0.1, "kNN accuracy {before} → {after}");
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let ds = Arc::new(shapes_dataset(40, 16, 2));
    let cfg = TrainConfig { epochs: 3.0, batch_size: 32, ..tiny_config() };
    let a = losses(&run_phase(&Trainer::spawn(ds.clone(), cfg.clone(), None).unwrap()));
    let b = losses(&run_phase(&Trainer::spawn(ds.clone(), cfg.clone(), None).unwrap()));
    let c = losses(&run_phase(&Trainer::spawn(ds.clone(), TrainConfig { seed: 9, ..cfg }, None).unwrap()));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn saved_run_reopens_with_identical_embeddings_and_resumes() {
    let ds = Arc::new(shapes_dataset(40, 16, 3));
    let cfg = TrainConfig { epochs: 2.0, batch_size: 32, ..tiny_config() };
    let dir = tempfile::tempdir().unwrap();
    let trainer = Trainer::spawn(ds.clone(), cfg, None).unwrap();
    let events = run_phase(&trainer);
    let trained = last_snapshot(&events);
    let steps = losses(&events).len();
    trainer.send(TrainCommand::Save(dir.path().to_path_buf()));
    assert!(matches!(trainer.recv_timeout(Duration::from_secs(60)), Some(TrainEvent::Saved(_))));
    drop(trainer);

    let saved = pretext::ssl::run::load(dir.path()).unwrap();
    assert_eq!(saved.embeddings, *trained);
    assert_eq!(saved.config.step, steps);

    // Reopen: embedding an item with the reloaded weights gives the saved embedding exactly.
    let reopened = Trainer::open_run(dir.path(), ds.clone(), None, None).unwrap();
    assert_eq!(reopened.start_step(), steps);
    let row = 5;
    reopened.send(TrainCommand::Embed { request: 7, items: ds.global_item(saved.indices[row]).to_vec() });
    match reopened.recv_timeout(Duration::from_secs(60)) {
        Some(TrainEvent::Embedded { request: 7, embeddings }) => assert_eq!(embeddings.row(0), saved.embeddings.row(row)),
        other => panic!("expected the embedding, got {other:?}"),
    }
    // Resume: training continues from the saved step.
    let more = run_phase(&reopened);
    match more.first() {
        Some(TrainEvent::Started { start_step, .. }) => assert_eq!(*start_step, steps),
        other => panic!("{other:?}"),
    }
    match more.last() {
        Some(TrainEvent::Finished { step, .. }) => assert_eq!(*step, 2 * steps),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reopening_on_another_dataset_is_refused() {
    let ds = Arc::new(shapes_dataset(20, 16, 4));
    let dir = tempfile::tempdir().unwrap();
    let trainer = Trainer::spawn(ds, TrainConfig { epochs: 0.5, batch_size: 16, ..tiny_config() }, None).unwrap();
    run_phase(&trainer);
    trainer.send(TrainCommand::Save(dir.path().to_path_buf()));
    assert!(matches!(trainer.recv_timeout(Duration::from_secs(60)), Some(TrainEvent::Saved(_))));
    let other = Arc::new(shapes_dataset(30, 16, 4));
    let msg = Trainer::open_run(dir.path(), other, None, None).err().expect("must refuse").to_string();
    assert!(msg.contains("trained on 'shapes'"), "{msg}");
}

#[test]
fn nan_loss_stops_the_run_with_a_message() {
    // An absurd learning rate blows the weights up to infinity within a few steps.
    let ds = shapes_dataset(20, 16, 5);
    let cfg = TrainConfig { batch_size: 16, epochs: 20.0, learning_rate: 1e30, ..tiny_config() };
    let trainer = Trainer::spawn(Arc::new(ds), cfg, None).unwrap();
    let events = run_phase(&trainer);
    let msg = events.iter().find_map(|e| if let TrainEvent::Error(m) = e { Some(m.clone()) } else { None });
    let msg = msg.unwrap_or_else(|| panic!("an error event, got {:?}", &events[..events.len().min(3)]));
    assert!(msg.contains("loss became") && msg.contains("Lower the learning rate"), "{msg}");
    assert!(losses(&events).iter().all(|l| l.is_finite()), "no non-finite loss is reported as a step");
    assert!(matches!(events.last(), Some(TrainEvent::Error(_)) | Some(TrainEvent::Finished { reason: FinishReason::Stopped, .. })));
}

#[test]
fn pause_resume_and_stop_are_obeyed() {
    let ds = Arc::new(shapes_dataset(100, 16, 6));
    let trainer = Trainer::spawn(ds, TrainConfig { epochs: 50.0, batch_size: 16, ..tiny_config() }, None).unwrap();
    trainer.send(TrainCommand::Start);
    trainer.send(TrainCommand::Pause);
    let mut paused_at = None;
    while let Some(ev) = trainer.recv_timeout(Duration::from_secs(60)) {
        if let TrainEvent::Paused { step } = ev {
            paused_at = Some(step);
            break;
        }
    }
    let paused_at = paused_at.expect("paused");
    // While paused nothing trains.
    std::thread::sleep(Duration::from_millis(300));
    assert!(std::iter::from_fn(|| trainer.try_recv()).all(|e| !matches!(e, TrainEvent::Step { .. })));
    trainer.send(TrainCommand::Resume);
    trainer.send(TrainCommand::Stop);
    let events = collect_until_finished(&trainer);
    assert!(matches!(events.first(), Some(TrainEvent::Resumed { step }) if *step == paused_at));
    match events.last() {
        Some(TrainEvent::Finished { reason: FinishReason::Stopped, step }) => assert!(*step < 50 * 400 / 16),
        other => panic!("{other:?}"),
    }
}

#[test]
fn masked_autoencoder_trains_an_mlp_on_tables() {
    let ds = Arc::new(blobs_dataset(100, 4, 12, 0.5, 7));
    let cfg = TrainConfig { objective: ObjectiveKind::Mae, epochs: 30.0, batch_size: 32, ..tiny_config() };
    let events = run_phase(&Trainer::spawn(ds, cfg, None).unwrap());
    let l = losses(&events);
    assert!(mean(&l[l.len() - 5..]) < 0.7 * mean(&l[..5]), "{:?} → {:?}", &l[..5], &l[l.len() - 5..]);
}

#[test]
fn steps_run_in_a_pool_of_the_configured_size() {
    let ds = Arc::new(blobs_dataset(40, 3, 8, 0.3, 5));
    for threads in [1, 3] {
        let cfg = TrainConfig { threads, epochs: 0.1, batch_size: 16, ..tiny_config() };
        let trainer = Trainer::spawn(ds.clone(), cfg, None).unwrap();
        let events = run_phase(&trainer);
        let seen = events.iter().find_map(|e| if let TrainEvent::Started { threads, .. } = e { Some(*threads) } else { None });
        assert_eq!(seen, Some(threads));
        assert!(matches!(events.last(), Some(TrainEvent::Finished { .. })), "{:?}", events.last());
    }
    // An absurd count is refused with a message, before any thread starts.
    let err = Trainer::spawn(ds, TrainConfig { threads: 100_000, ..tiny_config() }, None).err().expect("refused");
    assert!(err.to_string().contains("threads"), "{err}");
}

/// The last live evaluation: (effective rank, embedding std · sqrt(d)).
fn collapse_signals(events: &[TrainEvent], dim: usize) -> (f32, f32) {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            TrainEvent::Eval { effective_rank, embedding_std, .. } => Some((*effective_rank, embedding_std * (dim as f32).sqrt())),
            _ => None,
        })
        .expect("an evaluation at the end of training")
}

#[test]
fn every_objective_trains_on_images_and_tables_without_collapse() {
    let images = Arc::new(shapes_dataset(60, 16, 3));
    let tables = Arc::new(blobs_dataset(60, 4, 12, 0.5, 3));
    for objective in ObjectiveKind::ALL {
        for ds in [&images, &tables] {
            let cfg = TrainConfig { objective, epochs: 8.0, batch_size: 32, embed_dim: 16, proj_dim: 32, ..tiny_config() };
            let trainer = Trainer::spawn(ds.clone(), cfg, None).unwrap();
            let events = run_phase(&trainer);
            let what = format!("{} on {}", objective.key(), ds.modality.describe());
            assert!(matches!(events.last(), Some(TrainEvent::Finished { reason: FinishReason::Completed, .. })), "{what}: {:?}", events.last());
            let l = losses(&events);
            assert!(l.len() >= 40 && l.iter().all(|v| v.is_finite()), "{what}: {} steps", l.len());
            // Teachers report their momentum with every step; the others do not.
            let momentum: Vec<f64> = events.iter().filter_map(|e| if let TrainEvent::Step { teacher_momentum, .. } = e { *teacher_momentum } else { None }).collect();
            assert_eq!(!momentum.is_empty(), objective.has_teacher(), "{what}");
            assert!(momentum.windows(2).all(|w| w[1] >= w[0]), "{what}: momentum must rise");
            let dim = last_snapshot(&events).cols;
            let (rank, std) = collapse_signals(&events, dim);
            eprintln!("{what}: loss {:.3} → {:.3}, effective rank {rank:.1} of {dim}, std·√d {std:.2}", l[0], l[l.len() - 1]);
            assert!(rank >= 3.0, "{what}: effective rank {rank} (collapsed)");
            assert!(std >= 0.2, "{what}: embedding std·√d {std} (collapsed)");
        }
    }
}

#[test]
fn more_views_per_item_train_and_count_every_view() {
    let ds = Arc::new(shapes_dataset(40, 16, 4));
    let cfg = TrainConfig { objective: ObjectiveKind::Vicreg, views: 4, epochs: 1.0, batch_size: 32, ..tiny_config() };
    let events = run_phase(&Trainer::spawn(ds.clone(), cfg.clone(), None).unwrap());
    assert!(matches!(events.last(), Some(TrainEvent::Finished { reason: FinishReason::Completed, .. })), "{:?}", events.last());
    assert!(losses(&events).iter().all(|l| l.is_finite()));
    // The batch the objective makes holds four views of each item.
    let (varmap, _) = pretext::ssl::encoder::SslModel::build(&ds.modality, &cfg).unwrap();
    let objective = pretext::ssl::objective::build_objective(&cfg, &ds.modality, &varmap).unwrap();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let batch = objective.make_batch(&ds, &[0, 1, 2], &cfg, &mut rng);
    assert_eq!(batch.views.len(), 4);
    assert_eq!(batch.images(), 12);
    // One view is refused: there would be no pair to compare.
    assert!(Trainer::spawn(ds, TrainConfig { views: 1, ..cfg }, None).is_err());
}

#[test]
fn a_teacher_is_saved_with_its_run_and_reopens() {
    let ds = Arc::new(shapes_dataset(40, 16, 5));
    let cfg = TrainConfig { objective: ObjectiveKind::Byol, epochs: 2.0, batch_size: 32, ..tiny_config() };
    let dir = tempfile::tempdir().unwrap();
    let trainer = Trainer::spawn(ds.clone(), cfg, None).unwrap();
    run_phase(&trainer);
    trainer.send(TrainCommand::Save(dir.path().to_path_buf()));
    assert!(matches!(trainer.recv_timeout(Duration::from_secs(60)), Some(TrainEvent::Saved(_))));
    drop(trainer);
    let load = |name: &str| candle_core::safetensors::load(dir.path().join(name), &candle_core::Device::Cpu).unwrap();
    let (student, teacher) = (load("checkpoint.safetensors"), load("teacher.safetensors"));
    // The teacher lags the student (an EMA), and has no predictor of its own.
    let w = "encoder.block0.conv.weight";
    let diff = (&student[w] - &teacher[w]).unwrap().abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
    assert!(diff > 0.0, "teacher equals student");
    assert!(student.keys().any(|k| k.starts_with("predictor")) && !teacher.keys().any(|k| k.starts_with("predictor")));
    // A reopened run continues with it.
    let reopened = Trainer::open_run(dir.path(), ds, None, None).unwrap();
    let more = run_phase(&reopened);
    assert!(matches!(more.last(), Some(TrainEvent::Finished { reason: FinishReason::Completed, .. })), "{:?}", more.last());
}

#[test]
fn generative_objectives_answer_with_reconstructions_and_view_objectives_with_none() {
    let ds = Arc::new(shapes_dataset(40, 16, 6));
    for (objective, expect) in [(ObjectiveKind::Mae, true), (ObjectiveKind::Denoise, true), (ObjectiveKind::Simclr, false)] {
        let cfg = TrainConfig { objective, epochs: 0.5, batch_size: 32, ..tiny_config() };
        let trainer = Trainer::spawn(ds.clone(), cfg, None).unwrap();
        run_phase(&trainer);
        trainer.send(TrainCommand::Reconstruct { request: 3, items: vec![4, 4, 9] });
        match trainer.recv_timeout(Duration::from_secs(60)) {
            Some(TrainEvent::Reconstructed { request: 3, pairs }) => {
                assert_eq!(pairs.len(), if expect { 3 } else { 0 }, "{objective:?}");
                for (input, output) in &pairs {
                    assert_eq!((input.len(), output.len()), (ds.item_len(), ds.item_len()));
                    // The input is damaged (masked or noisy), not the item itself.
                    assert_ne!(input.as_slice(), &*ds.global_item(4));
                }
                if expect {
                    assert_ne!(pairs[0].0, pairs[1].0, "each draw damages the item afresh");
                }
            }
            other => panic!("{objective:?}: {other:?}"),
        }
        // An item outside the dataset is an error message, not a panic.
        trainer.send(TrainCommand::Reconstruct { request: 4, items: vec![ds.len()] });
        assert!(matches!(trainer.recv_timeout(Duration::from_secs(60)), Some(TrainEvent::Error(_))), "{objective:?}");
    }
}

#[test]
fn training_goes_on_while_a_snapshot_is_embedded_and_the_last_one_comes_before_finished() {
    // Many map items and a small batch: each snapshot takes several steps' time, so with a
    // snapshot requested after every step, steps must keep coming while one is embedded.
    let ds = Arc::new(shapes_dataset(750, 24, 5));
    let cfg = TrainConfig { batch_size: 16, epochs: 0.05, eval_every: 1, map_items: 3000, ..tiny_config() };
    let trainer = Trainer::spawn(ds, cfg, None).unwrap();
    let events = run_phase(&trainer);
    let mut last_step = 0;
    let mut snapshot_steps = Vec::new();
    let mut overtaken = false;
    for ev in &events {
        match ev {
            TrainEvent::Step { step, .. } => last_step = *step,
            TrainEvent::Snapshot { step, .. } => {
                overtaken |= *step < last_step;
                snapshot_steps.push(*step);
            }
            TrainEvent::Error(e) => panic!("{e}"),
            _ => {}
        }
    }
    assert!(matches!(events.last(), Some(TrainEvent::Finished { .. })));
    assert!(overtaken, "some snapshot arrived after later steps (snapshots at {snapshot_steps:?})");
    assert!(snapshot_steps.windows(2).all(|w| w[0] < w[1]), "newest first never goes back: {snapshot_steps:?}");
    assert_eq!(snapshot_steps.last(), Some(&last_step), "the final state is snapshotted before Finished");
    assert!(snapshot_steps.len() < last_step, "a newer request replaces a waiting one: {} snapshots for {last_step} steps", snapshot_steps.len());
}

#[test]
fn under_a_live_map_share_training_waits_for_each_snapshot_and_spaces_them_by_their_cost() {
    // The same heavy snapshots as above, paced: each one reaches the map before the next step,
    // and costly ones come further apart than the fewest steps between two.
    let ds = Arc::new(shapes_dataset(750, 24, 5));
    let cfg = TrainConfig { batch_size: 16, epochs: 2.0, eval_every: 2, map_items: 3000, live_map: Some(pretext::ssl::live_map::LiveMap::MapFirst), ..tiny_config() };
    let trainer = Trainer::spawn(ds, cfg, None).unwrap();
    let events = run_phase(&trainer);
    let mut last_step = 0;
    let mut snapshot_steps = Vec::new();
    for ev in &events {
        match ev {
            TrainEvent::Step { step, .. } => last_step = *step,
            TrainEvent::Snapshot { step, .. } => {
                assert_eq!(*step, last_step, "a paced snapshot comes before the next step (snapshots at {snapshot_steps:?})");
                snapshot_steps.push(*step);
            }
            TrainEvent::Error(e) => panic!("{e}"),
            _ => {}
        }
    }
    assert!(matches!(events.last(), Some(TrainEvent::Finished { reason: FinishReason::Completed, .. })), "{:?}", events.last());
    assert!(snapshot_steps.len() >= 2, "snapshots at {snapshot_steps:?} of {last_step} steps");
    assert_eq!(snapshot_steps[0], 2, "the first snapshot waits only for the step gap");
    // The last one is the phase's final snapshot; the others were paced.
    let paced = &snapshot_steps[..snapshot_steps.len() - 1];
    assert!(paced.windows(2).all(|w| w[1] - w[0] >= 2), "never within the step gap: {snapshot_steps:?}");
    // Embedding 3,000 items costs tens of steps of batch 16, so at a quarter of the time they
    // come far less often than the every-2-steps an unpaced run asks for.
    assert!(paced.len() <= last_step / 4, "paced by their cost, not every 2 steps: {snapshot_steps:?} of {last_step} steps");
}

/// Trains until the first step is reported, pauses, saves into `dir` and closes the trainer;
/// returns the step it paused at.
fn pause_and_save(trainer: Trainer, dir: &std::path::Path) -> usize {
    trainer.send(TrainCommand::Start);
    let mut paused_at = None;
    while let Some(ev) = trainer.recv_timeout(Duration::from_secs(120)) {
        match ev {
            TrainEvent::Step { .. } => trainer.send(TrainCommand::Pause),
            TrainEvent::Paused { step } => {
                paused_at = Some(step);
                break;
            }
            TrainEvent::Finished { .. } | TrainEvent::Error(_) => panic!("the run ended before it paused: {ev:?}"),
            _ => {}
        }
    }
    let paused_at = paused_at.expect("paused");
    trainer.send(TrainCommand::Save(dir.to_path_buf()));
    loop {
        match trainer.recv_timeout(Duration::from_secs(60)) {
            Some(TrainEvent::Saved(_)) => break,
            Some(TrainEvent::Error(e)) => panic!("{e}"),
            Some(_) => {}
            None => panic!("no answer to Save"),
        }
    }
    paused_at
}

#[test]
fn a_run_paused_saved_and_resumed_continues_exactly_as_an_uninterrupted_run() {
    let ds = Arc::new(shapes_dataset(60, 16, 5));
    for objective in [ObjectiveKind::Simclr, ObjectiveKind::Moco] {
        let mut cfg = TrainConfig { epochs: 6.0, batch_size: 16, objective, ..tiny_config() };
        cfg.objective_params.queue_size = 64;
        let whole = run_phase(&Trainer::spawn(ds.clone(), cfg.clone(), None).unwrap());
        let whole_losses = losses(&whole);

        let dir = tempfile::tempdir().unwrap();
        let paused_at = pause_and_save(Trainer::spawn(ds.clone(), cfg.clone(), None).unwrap(), dir.path());
        assert!(paused_at >= 1 && paused_at + 10 < whole_losses.len(), "{objective:?}: paused at {paused_at} of {}", whole_losses.len());

        let rest = run_phase(&Trainer::open_run(dir.path(), ds.clone(), None, None).unwrap());
        match rest.first() {
            Some(TrainEvent::Started { start_step, total_steps, .. }) => {
                assert_eq!((*start_step, *total_steps), (paused_at, whole_losses.len()), "{objective:?}: the same phase goes on")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(losses(&rest), whole_losses[paused_at..], "{objective:?}: every loss after resuming is the uninterrupted run's");
        assert_eq!(last_snapshot(&rest), last_snapshot(&whole), "{objective:?}: same final embeddings");

        // Without the optimizer's moments (and MoCo's queue) the resumed run leaves the trajectory.
        std::fs::remove_file(dir.path().join(pretext::ssl::run::TRAINING_STATE)).unwrap();
        let fresh = run_phase(&Trainer::open_run(dir.path(), ds.clone(), None, None).unwrap());
        assert_ne!(losses(&fresh), whole_losses[paused_at..], "{objective:?}: the saved state is what keeps it exact");
    }
}
