//! Datasets streamed from disk: the same items, labels, split and batches as the same file
//! held in memory; training and embedding work on them; a file that goes bad under a
//! streamed dataset stops training with its name instead of training on blanks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ndarray::{Array1, Array2, ShapeBuilder};
use ndarray_npy::WriteNpyExt;
use pretext::data::stream::StreamChoice;
use pretext::data::{load_dataset, Dataset, LoadOptions};
use pretext::ssl::objective::build_objective;
use pretext::ssl::{ObjectiveKind, TrainCommand, TrainConfig, TrainEvent, Trainer};
use rand::SeedableRng;

mod common;
use common::{losses, run_phase, write_idx_set};

/// A 2-D float32 table of `n` rows whose columns have different scales, with 3 classes.
fn write_table(dir: &Path, n: usize, d: usize) -> PathBuf {
    let x = Array2::from_shape_fn((n, d), |(i, j)| ((i * 7 + j * 13) % 17) as f32 * (j + 1) as f32 + (i % 3) as f32);
    let path = dir.join("table.npy");
    x.write_npy(std::fs::File::create(&path).unwrap()).unwrap();
    Array1::from_iter((0..n).map(|i| (i % 3) as i64)).write_npy(std::fs::File::create(dir.join("table_labels.npy")).unwrap()).unwrap();
    path
}

fn load(path: &Path, stream: StreamChoice) -> Dataset {
    load_dataset(path, &LoadOptions { stream, ..LoadOptions::default() }).unwrap()
}

fn assert_same_items(streamed: &Dataset, memory: &Dataset) {
    assert!(streamed.is_streamed() && !memory.is_streamed());
    assert_eq!((streamed.train.len, streamed.test.len), (memory.train.len, memory.test.len));
    assert_eq!(streamed.modality, memory.modality);
    for i in 0..memory.len() {
        assert_eq!(streamed.global_label(i), memory.global_label(i), "label of item {i}");
        let (a, b) = (streamed.global_item(i), memory.global_item(i));
        assert!(a.iter().zip(b.iter()).all(|(x, y)| (x - y).abs() < 1e-5), "item {i}: {:?} vs {:?}", &a[..4], &b[..4]);
    }
}

#[test]
fn a_streamed_npy_table_has_the_items_labels_and_split_of_the_loaded_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_table(dir.path(), 500, 12);
    let (streamed, memory) = (load(&path, StreamChoice::Always), load(&path, StreamChoice::Never));
    assert!(streamed.train.x.is_empty() && streamed.test.x.is_empty(), "nothing held in memory");
    assert_same_items(&streamed, &memory);
    // Auto holds small files in memory.
    assert!(!load(&path, StreamChoice::Auto).is_streamed());
}

#[test]
fn float64_npy_streams_and_other_layouts_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let x = Array2::from_shape_fn((40, 3), |(i, j)| (i * 3 + j) as f64 * 0.5);
    let path = dir.path().join("f64.npy");
    x.write_npy(std::fs::File::create(&path).unwrap()).unwrap();
    assert_same_items(&load(&path, StreamChoice::Always), &load(&path, StreamChoice::Never));

    let fortran = Array2::from_shape_vec((40, 3).f(), (0..120).map(|v| v as f32).collect()).unwrap();
    let path = dir.path().join("fortran.npy");
    fortran.write_npy(std::fs::File::create(&path).unwrap()).unwrap();
    let err = load_dataset(&path, &LoadOptions { stream: StreamChoice::Always, ..LoadOptions::default() }).unwrap_err().to_string();
    assert!(err.contains("fortran.npy") && err.contains("cannot be streamed") && err.contains("Fortran"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn a_non_finite_value_in_a_streamed_file_is_found_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = Array2::<f32>::ones((30, 4));
    x[[17, 2]] = f32::NAN;
    let path = dir.path().join("nan.npy");
    x.write_npy(std::fs::File::create(&path).unwrap()).unwrap();
    let err = load_dataset(&path, &LoadOptions { stream: StreamChoice::Always, ..LoadOptions::default() }).unwrap_err().to_string();
    assert!(err.contains("row 17, column 2"), "{err}");
}

#[test]
fn plain_idx_images_stream_and_gzipped_ones_say_why_they_are_held() {
    let plain = tempfile::tempdir().unwrap();
    write_idx_set(plain.path(), "train", 120, false);
    let streamed = load(plain.path(), StreamChoice::Always);
    assert_same_items(&streamed, &load(plain.path(), StreamChoice::Never));
    assert!(streamed.notes.is_empty(), "{:?}", streamed.notes);

    let gz = tempfile::tempdir().unwrap();
    write_idx_set(gz.path(), "train", 120, true);
    let held = load(gz.path(), StreamChoice::Always);
    assert!(!held.is_streamed());
    assert!(held.notes.iter().any(|n| n.contains("gzip") && n.contains("gunzip")), "{:?}", held.notes);
}

#[test]
fn streamed_images_are_resized_as_they_are_read_to_what_held_ones_are_at_load() {
    let dir = tempfile::tempdir().unwrap();
    write_idx_set(dir.path(), "train", 40, false);
    let at = |stream| load_dataset(dir.path(), &LoadOptions { stream, image_side: Some(10), ..LoadOptions::default() }).unwrap();
    let (streamed, held) = (at(StreamChoice::Always), at(StreamChoice::Never));
    assert_eq!(held.modality, pretext::data::Modality::Image { channels: 1, height: 10, width: 10 });
    assert_same_items(&streamed, &held);
    assert!(streamed.notes.iter().any(|n| n.contains("as they are read")), "{:?}", streamed.notes);
}

/// The same batches come out of a streamed and a held dataset, for every objective family.
#[test]
fn streamed_batches_equal_batches_of_the_same_data_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_table(dir.path(), 400, 10);
    let (streamed, memory) = (load(&path, StreamChoice::Always), load(&path, StreamChoice::Never));
    let items: Vec<usize> = (0..64).map(|i| (i * 5) % streamed.train.len).collect();
    for kind in [ObjectiveKind::Simclr, ObjectiveKind::Mae, ObjectiveKind::Denoise, ObjectiveKind::Data2vec] {
        let cfg = TrainConfig { objective: kind, width: 8, ..TrainConfig::for_modality(&memory.modality) };
        let (varmap, _) = pretext::ssl::encoder::SslModel::build(&memory.modality, &cfg).unwrap();
        let objective = build_objective(&cfg, &memory.modality, &varmap).unwrap();
        let batch = |ds: &Dataset| objective.make_batch(ds, &items, &cfg, &mut rand::rngs::StdRng::seed_from_u64(9));
        let (a, b) = (batch(&streamed), batch(&memory));
        assert_eq!(a.views, b.views, "{kind:?} views");
        assert_eq!(a.target, b.target, "{kind:?} target");
        assert_eq!(a.mask, b.mask, "{kind:?} mask");
    }
}

#[test]
fn training_on_a_streamed_file_follows_the_same_losses_as_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_table(dir.path(), 600, 10);
    let cfg = TrainConfig { width: 8, batch_size: 64, epochs: 1.0, eval_every: 3, map_items: 200, ..TrainConfig::default() };
    let run = |ds: Dataset| {
        let cfg = TrainConfig { objective: ObjectiveKind::Mae, ..cfg.clone() };
        let trainer = Trainer::spawn(Arc::new(ds), cfg, None).unwrap();
        losses(&run_phase(&trainer))
    };
    let (streamed, memory) = (run(load(&path, StreamChoice::Always)), run(load(&path, StreamChoice::Never)));
    assert_eq!(streamed.len(), 7, "600 × 0.8 / 64 steps");
    assert_eq!(streamed, memory);
}

#[test]
fn a_file_cut_short_under_training_stops_it_with_the_files_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_table(dir.path(), 600, 10);
    let ds = load(&path, StreamChoice::Always);
    // Another program truncates the file after it was opened.
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(200).unwrap();
    let item = ds.global_item(3);
    assert!(item.iter().all(|v| v.is_nan()), "an unreadable item is NaN, never a silent zero");
    assert!(ds.read_failure().is_some_and(|why| why.contains("table.npy")), "{:?}", ds.read_failure());

    let again = tempfile::tempdir().unwrap();
    let path = write_table(again.path(), 600, 10);
    let fresh = load(&path, StreamChoice::Always);
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(200).unwrap();
    let cfg = TrainConfig { width: 8, batch_size: 64, epochs: 1.0, eval_every: 1000, map_items: 200, objective: ObjectiveKind::Mae, ..TrainConfig::default() };
    let events = run_phase(&Trainer::spawn(Arc::new(fresh), cfg, None).unwrap());
    let error = events.iter().find_map(|e| if let TrainEvent::Error(m) = e { Some(m.clone()) } else { None });
    assert!(error.as_deref().is_some_and(|m| m.contains("table.npy")), "training must stop naming the file: {error:?}");
    assert!(losses(&events).is_empty(), "no step trains on unread items");
}

#[test]
fn a_streamed_run_is_evaluated_like_the_held_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_table(dir.path(), 600, 10);
    let cfg = TrainConfig { width: 8, batch_size: 64, epochs: 1.0, eval_every: 1000, map_items: 200, objective: ObjectiveKind::Mae, ..TrainConfig::default() };
    let mut evaluations = Vec::new();
    for (stream, name) in [(StreamChoice::Always, "streamed"), (StreamChoice::Never, "held")] {
        let ds = Arc::new(load(&path, stream));
        let trainer = Trainer::spawn(ds.clone(), cfg.clone(), None).unwrap();
        run_phase(&trainer);
        let out = dir.path().join(name);
        trainer.send(TrainCommand::Save(out.clone()));
        while let Some(ev) = trainer.recv_timeout(Duration::from_secs(120)) {
            if matches!(ev, TrainEvent::Saved(_)) {
                break;
            }
        }
        drop(trainer);
        evaluations.push(pretext::ssl::run::evaluate_run(&out, &ds, pretext::ssl::DeviceChoice::Cpu).unwrap());
    }
    let (s, h) = (&evaluations[0], &evaluations[1]);
    assert_eq!((s.train_items, s.test_items), (480, 120));
    assert_eq!(s.knn_accuracy, h.knn_accuracy);
    assert_eq!(s.probe_100pct, h.probe_100pct);
}

#[test]
fn a_streamed_run_larger_than_the_evaluation_sample_is_measured_on_the_sample() {
    use pretext::ssl::run::{SAMPLED_EVAL_TEST, SAMPLED_EVAL_TRAIN};
    let dir = tempfile::tempdir().unwrap();
    let n = 80_000;
    let path = write_table(dir.path(), n, 4);
    let ds = Arc::new(load(&path, StreamChoice::Always));
    let cfg = TrainConfig { width: 4, batch_size: 64, epochs: 0.002, eval_every: 1000, map_items: 500, objective: ObjectiveKind::Mae, ..TrainConfig::default() };
    let trainer = Trainer::spawn(ds.clone(), cfg, None).unwrap();
    run_phase(&trainer);
    let out = dir.path().join("run");
    trainer.send(TrainCommand::Save(out.clone()));
    while let Some(ev) = trainer.recv_timeout(Duration::from_secs(120)) {
        if matches!(ev, TrainEvent::Saved(_)) {
            break;
        }
    }
    drop(trainer);
    let eval = pretext::ssl::run::evaluate_run(&out, &ds, pretext::ssl::DeviceChoice::Cpu).unwrap();
    assert_eq!((eval.train_items, eval.test_items), (SAMPLED_EVAL_TRAIN, SAMPLED_EVAL_TEST));
    assert!(eval.knn_accuracy.is_some_and(|a| a > 0.0 && a <= 1.0));
}

fn write_png(path: &Path, value: u8, rgb: bool) {
    if rgb {
        image::RgbImage::from_fn(10, 8, |x, y| image::Rgb([value, (x * 20) as u8, (y * 30) as u8])).save(path).unwrap();
    } else {
        image::GrayImage::from_fn(10, 8, |x, y| image::Luma([value.wrapping_add((x + y) as u8)])).save(path).unwrap();
    }
}

#[test]
fn a_streamed_image_folder_decodes_the_items_the_held_one_does() {
    for rgb in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        for (class, base) in [("cats", 40u8), ("dogs", 160u8)] {
            std::fs::create_dir(dir.path().join(class)).unwrap();
            for i in 0..12u8 {
                write_png(&dir.path().join(class).join(format!("{i:02}.png")), base + i, rgb);
            }
        }
        let opts = |stream| LoadOptions { stream, image_size: 8, ..LoadOptions::default() };
        let streamed = load_dataset(dir.path(), &opts(StreamChoice::Always)).unwrap();
        let held = load_dataset(dir.path(), &opts(StreamChoice::Never)).unwrap();
        assert_same_items(&streamed, &held);
        assert_eq!(streamed.class_names, vec!["cats", "dogs"]);
        assert!(streamed.notes.iter().any(|n| n.contains("streamed from disk")), "{:?}", streamed.notes);
    }
}

#[test]
fn the_raw_feature_baseline_reads_a_streamed_dataset_as_it_reads_a_held_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_table(dir.path(), 500, 12);
    let baseline = |stream| pretext::analysis::baseline::knn_baselines(&load(&path, stream), 4).unwrap();
    let (streamed, held) = (baseline(StreamChoice::Always), baseline(StreamChoice::Never));
    assert_eq!((streamed.train_items, streamed.test_items), (400, 100));
    assert_eq!(streamed.raw_knn_accuracy, held.raw_knn_accuracy);
    assert_eq!(streamed.pca_knn_accuracy, held.pca_knn_accuracy);
}
