//! Every kind of broken file a user might pick, opened through the app's dataset panel: each
//! ends in a one-line error naming the file (or, where the damage leaves something
//! readable, in a loaded dataset), never in a panic, and the window keeps its sample.

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use pretext::app::PretextApp;
use pretext::data::idx::write_idx;

mod gui_support;
use gui_support::*;
mod arrow_support;

fn write(path: &std::path::Path, bytes: &[u8]) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// An NPY v1 file whose header says `shape` but whose payload holds only `payload` bytes.
fn npy_claiming(shape: &str, payload: usize) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((header.len() as u16).to_le_bytes());
    b.extend(header.as_bytes());
    b.extend(vec![0u8; payload]);
    b
}

/// (what it is, path to open, whether it must be refused).
fn malformed_inputs(root: &std::path::Path) -> Vec<(&'static str, std::path::PathBuf, bool)> {
    let mut cases = Vec::new();
    let p = root.join("text-not-numpy.npy");
    write(&p, b"this is not a numpy file");
    cases.push(("text named .npy", p, true));
    let p = root.join("zero-bytes.npy");
    write(&p, b"");
    cases.push(("empty .npy", p, true));
    let p = root.join("huge-claim.npy");
    write(&p, &npy_claiming("(1000000000, 784)", 64));
    cases.push(("NPY header claiming 3 TB", p, true));
    let p = root.join("bad-dtype.npy");
    write(&p, &npy_claiming("(4, 4)", 64).iter().map(|&b| if b == b'f' { b'U' } else { b }).collect::<Vec<_>>());
    cases.push(("NPY of strings", p, true));
    // An IDX folder whose image file stops half-way through its first image.
    let idx = root.join("idx-truncated");
    std::fs::create_dir_all(&idx).unwrap();
    for (prefix, n) in [("train", 20usize), ("t10k", 5)] {
        let pixels: Vec<u8> = (0..n * 784).map(|i| (i % 251) as u8).collect();
        write_idx(&idx.join(format!("{prefix}-images-idx3-ubyte")), &[n, 28, 28], &pixels, false).unwrap();
        write_idx(&idx.join(format!("{prefix}-labels-idx1-ubyte")), &[n], &vec![1u8; n], false).unwrap();
    }
    let images = idx.join("train-images-idx3-ubyte");
    let bytes = std::fs::read(&images).unwrap();
    write(&images, &bytes[..16 + 300]);
    cases.push(("IDX images cut short", idx, true));
    let p = root.join("ragged.csv");
    write(&p, b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n");
    cases.push(("ragged CSV", p, true));
    let p = root.join("header-only.csv");
    write(&p, b"a,b,c\n");
    cases.push(("CSV with no rows", p, true));
    let p = root.join("binary.csv");
    write(&p, &(0..2048u32).map(|i| (i * 37 % 256) as u8).collect::<Vec<_>>());
    cases.push(("binary bytes named .csv", p, true));
    // An image folder whose only files are broken PNG and JPEG.
    let folder = root.join("broken-images");
    write(&folder.join("cats/a.png"), b"\x89PNG\r\n\x1a\n not really");
    write(&folder.join("dogs/b.jpg"), b"\xff\xd8\xff\xe0 truncated");
    cases.push(("folder of broken images", folder, true));
    let empty = root.join("empty-folder");
    std::fs::create_dir_all(&empty).unwrap();
    cases.push(("empty folder", empty, true));
    cases.push(("missing path", root.join("does-not-exist.npy"), true));
    let p = root.join("garbage.ts");
    write(&p, b"@problemName x\n@data\n1,2,nan:zz\n:::\n");
    cases.push(("broken UCR .ts", p, true));
    let p = root.join("labels-huge.tsv");
    write(&p, b"9999999999999\tsome text here\n-1\tmore text there\n\t\n1\tthird line of text\n1\tfourth line\n-1\tfifth line\n2\tsixth\n");
    cases.push(("texts with odd labels", p, false));
    // Two items: too few to score neighbourhoods, which is no error.
    let p = root.join("two-texts.txt");
    write(&p, b"one short line\nanother short line\n");
    cases.push(("a dataset of two texts", p, false));
    cases
}

fn open(h: &mut Harness<'static, PretextApp>, path: &std::path::Path) {
    h.state_mut().dataset.path_input = path.display().to_string();
    h.step();
    h.get_by_label("Open").click();
    h.step();
}

#[test]
fn every_malformed_file_opened_from_the_dataset_panel_ends_in_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness();
    wait_for_sample(&mut h);
    h.get_by_label("Dataset").click();
    h.step();
    // Broken tables of embeddings, some with a vector column named in "How to read".
    let tables = arrow_support::malformed_tables(dir.path()).into_iter().map(|(what, path, vector_column, _)| (what, path, true, vector_column));
    // (First: the files that load, at the end of the list, replace the sample.)
    let cases = tables.chain(malformed_inputs(dir.path()).into_iter().map(|(what, path, must_fail)| (what, path, must_fail, None)));
    for (what, path, must_fail, vector_column) in cases {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        h.state_mut().dataset.read_options.vector_column = vector_column.unwrap_or_default().to_string();
        open(&mut h, &path);
        step_until(&mut h, what, |a| !a.busy() && (!a.shell.errors.is_empty() || a.data.as_ref().is_some_and(|d| d.path == path)));
        let app = h.state();
        if must_fail || !app.shell.errors.is_empty() {
            assert_eq!(app.shell.errors.len(), 1, "{what}: {:?}", app.shell.errors);
            let message = &app.shell.errors[0];
            assert!(message.contains(&name), "{what}: the error names the file: {message}");
            assert!(!message.contains('\n'), "{what}: one line: {message}");
            // The sample stays open.
            assert_eq!(app.data.as_ref().map(|d| d.dataset.len()), Some(10_000), "{what}");
            h.get_by_label("Dismiss").click();
            h.step();
            assert!(h.state().shell.errors.is_empty());
        } else {
            assert!(app.data.as_ref().is_some_and(|d| d.path == path), "{what}: neither an error nor a dataset");
        }
    }
}

/// A run whose texts were read with a length other than the loader's default reopens in the
/// window on data read the same way (else the run's dataset check would refuse it).
#[test]
fn a_text_run_read_with_its_own_length_reopens_in_the_window() {
    use pretext::data::{load_dataset, LoadOptions, Modality};
    use pretext::ssl::{TrainCommand, TrainConfig, TrainEvent, Trainer};
    let dir = tempfile::tempdir().unwrap();
    let texts = dir.path().join("lines.txt");
    let body: String = (0..60).map(|i| format!("line number {i} says something about item {} and then some more words\n", i % 7)).collect();
    write(&texts, body.as_bytes());
    let opts = LoadOptions { text_max_len: Some(40), ..LoadOptions::default() };
    let ds = std::sync::Arc::new(load_dataset(&texts, &opts).unwrap());
    assert_eq!(ds.modality, Modality::Text { max_len: 40 });
    assert_ne!(load_dataset(&texts, &LoadOptions::default()).unwrap().modality, ds.modality, "the default length differs");
    let run = dir.path().join("run");
    let cfg = TrainConfig { width: 8, batch_size: 16, epochs: 0.1, eval_every: 1000, map_items: 60, ..TrainConfig::for_modality(&ds.modality) };
    let trainer = Trainer::spawn(ds, cfg, None).unwrap();
    trainer.send(TrainCommand::Start);
    while !matches!(trainer.recv_timeout(std::time::Duration::from_secs(120)), Some(TrainEvent::Finished { .. }) | None) {}
    trainer.send(TrainCommand::Save(run.clone()));
    while !matches!(trainer.recv_timeout(std::time::Duration::from_secs(120)), Some(TrainEvent::Saved(_)) | None) {}
    drop(trainer);

    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .with_max_steps(50_000)
        .build_eframe(|cc| PretextApp::with_run(cc.egui_ctx.clone(), tiny_settings(), run.clone()).unwrap());
    step_until(&mut h, "the run to reopen", |a| !a.shell.errors.is_empty() || (a.training.trainer.is_some() && a.shell.status.starts_with("run opened") && !a.busy()));
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    assert_eq!(app.data.as_ref().unwrap().dataset.modality, Modality::Text { max_len: 40 });
}
