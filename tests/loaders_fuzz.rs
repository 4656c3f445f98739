//! Property tests of every loader on damaged files: random truncations, byte flips and
//! header edits of valid IDX, NPY, CSV, PNG, JPEG, Parquet and Arrow IPC inputs. Whatever the damage, a load
//! ends in `Ok` or a typed error, never a panic.

use std::path::Path;

use proptest::prelude::*;

use pretext::data::idx::write_idx;

mod arrow_support;
use pretext::data::{load_dataset, LoadOptions};

/// Cases per format: thousands in all, a few seconds each.
const CASES: u32 = 1000;

/// `valid` with up to five bytes anywhere and up to three of the first 32 (the header)
/// replaced, then maybe cut short.
fn damaged(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let n = valid.len();
    let head = n.min(32);
    (
        proptest::collection::vec((0..n, any::<u8>()), 0..6),
        proptest::collection::vec((0..head, any::<u8>()), 0..4),
        proptest::option::of(0..n),
    )
        .prop_map(move |(flips, header, cut)| {
            let mut b = valid.clone();
            for (i, v) in flips.into_iter().chain(header) {
                b[i] = v;
            }
            if let Some(c) = cut {
                b.truncate(c);
            }
            b
        })
}

/// `valid` with up to five bytes anywhere and up to four of the last 64 (Parquet's and Arrow
/// files' footer, where their schema and offsets are) replaced, then maybe cut short.
fn damaged_tail(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let n = valid.len();
    let tail = n.saturating_sub(64);
    (
        proptest::collection::vec((0..n, any::<u8>()), 0..6),
        proptest::collection::vec((tail..n, any::<u8>()), 0..5),
        proptest::option::of(0..n),
    )
        .prop_map(move |(flips, footer, cut)| {
            let mut b = valid.clone();
            for (i, v) in flips.into_iter().chain(footer) {
                b[i] = v;
            }
            if let Some(c) = cut {
                b.truncate(c);
            }
            b
        })
}

/// A valid table of embeddings (list column, labels, texts) in the format `write` makes.
fn table_file(name: &str, write: fn(&Path, &arrow_array::RecordBatch)) -> (tempfile::TempDir, Vec<u8>) {
    use arrow_support::*;
    let dir = tempfile::tempdir().unwrap();
    let table = batch(vec![
        ("embedding", list_f32(12, |_| 3)),
        ("label", strings((0..12).map(class_of))),
        ("text", strings((0..12).map(|i| format!("text {i}")))),
    ]);
    write(&dir.path().join(name), &table);
    let valid = bytes_of(&dir.path().join(name));
    (dir, valid)
}

fn bytes_of(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Loads `path`; a panic fails the property (proptest reports it with the shrunk input).
fn load(path: &Path, opts: &LoadOptions) {
    let _ = load_dataset(path, opts);
}

fn idx_folder() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    for (prefix, n) in [("train", 12usize), ("t10k", 4)] {
        let pixels: Vec<u8> = (0..n * 12).map(|i| (i * 7 % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
        write_idx(&dir.path().join(format!("{prefix}-images-idx3-ubyte")), &[n, 4, 3], &pixels, false).unwrap();
        write_idx(&dir.path().join(format!("{prefix}-labels-idx1-ubyte")), &[n], &labels, false).unwrap();
    }
    let valid = bytes_of(&dir.path().join("train-images-idx3-ubyte"));
    (dir, valid)
}

fn npy_file() -> (tempfile::TempDir, Vec<u8>) {
    use ndarray_npy::WriteNpyExt;
    let dir = tempfile::tempdir().unwrap();
    let x = ndarray::Array2::from_shape_fn((6, 3), |(i, j)| (i * 3 + j) as f32);
    x.write_npy(std::fs::File::create(dir.path().join("feat.npy")).unwrap()).unwrap();
    ndarray::Array1::from((0..6).map(|i| (i % 2) as i64).collect::<Vec<_>>())
        .write_npy(std::fs::File::create(dir.path().join("feat_labels.npy")).unwrap())
        .unwrap();
    let valid = bytes_of(&dir.path().join("feat.npy"));
    (dir, valid)
}

fn image_folder(ext: &str) -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    for class in ["a", "b"] {
        std::fs::create_dir(dir.path().join(class)).unwrap();
        for i in 0..2 {
            let img = image::RgbImage::from_fn(6, 5, |x, y| image::Rgb([(x * 40) as u8, (y * 50) as u8, i as u8 * 90]));
            img.save(dir.path().join(class).join(format!("{i}.{ext}"))).unwrap();
        }
    }
    let valid = bytes_of(&dir.path().join("a").join(format!("0.{ext}")));
    (dir, valid)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn idx_never_panics(bytes in damaged(idx_folder().1)) {
        let (dir, _) = idx_folder();
        std::fs::write(dir.path().join("train-images-idx3-ubyte"), &bytes).unwrap();
        load(dir.path(), &LoadOptions::default());
    }

    #[test]
    fn npy_features_never_panic(bytes in damaged(npy_file().1)) {
        let (dir, _) = npy_file();
        std::fs::write(dir.path().join("feat.npy"), &bytes).unwrap();
        load(&dir.path().join("feat.npy"), &LoadOptions::default());
        load(&dir.path().join("feat.npy"), &LoadOptions { series: true, ..LoadOptions::default() });
    }

    #[test]
    fn npy_labels_never_panic(bytes in damaged(bytes_of(&npy_file().0.path().join("feat_labels.npy")))) {
        let (dir, _) = npy_file();
        std::fs::write(dir.path().join("feat_labels.npy"), &bytes).unwrap();
        load(&dir.path().join("feat.npy"), &LoadOptions::default());
    }

    #[test]
    fn csv_never_panics(bytes in damaged(b"x,y,label\n1.5,2,a\n-3,4e2,b\n5,6,a\n7,,b\n".to_vec())) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.csv");
        std::fs::write(&path, &bytes).unwrap();
        load(&path, &LoadOptions::default());
        load(&path, &LoadOptions { series: true, ..LoadOptions::default() });
        load(&path, &LoadOptions { text_column: Some("y".into()), ..LoadOptions::default() });
    }

    #[test]
    fn png_never_panics(bytes in damaged(image_folder("png").1), strict in any::<bool>()) {
        let (dir, _) = image_folder("png");
        std::fs::write(dir.path().join("a").join("0.png"), &bytes).unwrap();
        load(dir.path(), &LoadOptions { image_size: 8, skip_unreadable: !strict, ..LoadOptions::default() });
    }

    #[test]
    fn jpeg_never_panics(bytes in damaged(image_folder("jpg").1), strict in any::<bool>()) {
        let (dir, _) = image_folder("jpg");
        std::fs::write(dir.path().join("a").join("0.jpg"), &bytes).unwrap();
        load(dir.path(), &LoadOptions { image_size: 8, skip_unreadable: !strict, ..LoadOptions::default() });
    }

    #[test]
    fn parquet_never_panics(bytes in damaged_tail(table_file("t.parquet", arrow_support::write_parquet).1)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.parquet"), &bytes).unwrap();
        load(&dir.path().join("t.parquet"), &LoadOptions::default());
    }

    #[test]
    fn arrow_ipc_never_panics(bytes in damaged_tail(table_file("t.arrow", arrow_support::write_ipc_file).1)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.arrow"), &bytes).unwrap();
        load(&dir.path().join("t.arrow"), &LoadOptions::default());
    }
}
