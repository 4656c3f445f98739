//! Every loader on good files and on malformed ones: a bad file is an error that names the
//! file and the problem, never a panic.

use std::path::Path;

use pretext::data::idx::{write_idx, FASHION_CLASSES};

mod common;
use common::write_idx_set;
use pretext::data::{load_dataset, LoadOptions, Modality};
use pretext::PretextError;

fn opts() -> LoadOptions {
    LoadOptions::default()
}

fn err_text(r: pretext::Result<pretext::data::Dataset>) -> String {
    match r {
        Ok(ds) => panic!("expected an error, loaded {} items", ds.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn idx_folder_with_both_splits_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    write_idx_set(dir.path(), "train", 6, true);
    write_idx_set(dir.path(), "t10k", 3, false);
    let ds = load_dataset(dir.path(), &opts()).unwrap();
    assert_eq!((ds.train.len, ds.test.len), (6, 3));
    assert_eq!(ds.modality, Modality::Image { channels: 1, height: 4, width: 3 });
    assert_eq!(ds.train.labels.as_ref().unwrap(), &vec![0, 1, 2, 0, 1, 2]);
    // Pixel 13 of the train set is item 1, pixel 1: value 13 / 255.
    assert!((ds.train.item(1, 12)[1] - 13.0 / 255.0).abs() < 1e-6);
    assert_eq!(ds.class_names, vec!["0", "1", "2"]);
}

#[test]
fn bundled_sample_is_fashion_mnist_test_set() {
    let ds = load_dataset(&pretext::data::load::sample_data_dir(), &opts()).unwrap();
    assert_eq!(ds.len(), 10_000);
    assert_eq!(ds.modality, Modality::Image { channels: 1, height: 28, width: 28 });
    assert_eq!(ds.class_names, FASHION_CLASSES.map(String::from).to_vec());
    assert!(ds.class_counts().iter().all(|&c| c == 1000), "the Fashion-MNIST test set has 1,000 items per class");
    // A seeded 80/20 split, the same every time.
    let again = load_dataset(&pretext::data::load::sample_data_dir(), &opts()).unwrap();
    assert_eq!((ds.train.len, ds.test.len), (8000, 2000));
    assert_eq!(ds.test.labels, again.test.labels);
}

#[test]
fn idx_truncated_file_is_reported_with_counts() {
    let dir = tempfile::tempdir().unwrap();
    write_idx_set(dir.path(), "t10k", 4, false);
    let path = dir.path().join("t10k-images-idx3-ubyte");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let msg = err_text(load_dataset(dir.path(), &opts()));
    assert!(msg.contains("t10k-images-idx3-ubyte") && msg.contains("promises 48 values"), "{msg}");
}

#[test]
fn idx_bad_magic_and_label_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    write_idx_set(dir.path(), "t10k", 4, false);
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), b"hello world, not idx").unwrap();
    assert!(err_text(load_dataset(dir.path(), &opts())).contains("bad magic number"));

    let dir = tempfile::tempdir().unwrap();
    write_idx_set(dir.path(), "t10k", 4, false);
    write_idx(&dir.path().join("t10k-labels-idx1-ubyte"), &[3], &[0, 1, 2], false).unwrap();
    assert!(err_text(load_dataset(dir.path(), &opts())).contains("expected 4 labels"));
}

#[test]
fn idx_corrupt_gzip_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_idx_set(dir.path(), "t10k", 4, true);
    let path = dir.path().join("t10k-images-idx3-ubyte.gz");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&path, bytes).unwrap();
    let e = load_dataset(dir.path(), &opts()).unwrap_err();
    assert!(matches!(e, PretextError::BadFile { .. }), "{e}");
}

fn write_png(path: &Path, gray: u8, rgb: bool) {
    if rgb {
        image::RgbImage::from_pixel(10, 8, image::Rgb([gray, 0, 255 - gray])).save(path).unwrap();
    } else {
        image::GrayImage::from_pixel(10, 8, image::Luma([gray])).save(path).unwrap();
    }
}

#[test]
fn image_folder_with_classes_resizes_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    for (class, gray) in [("cats", 10u8), ("dogs", 200u8)] {
        std::fs::create_dir(dir.path().join(class)).unwrap();
        for i in 0..5 {
            write_png(&dir.path().join(class).join(format!("{i}.png")), gray, false);
        }
    }
    let ds = load_dataset(dir.path(), &LoadOptions { image_size: 16, ..opts() }).unwrap();
    assert_eq!(ds.len(), 10);
    assert_eq!(ds.class_names, vec!["cats", "dogs"]);
    assert_eq!(ds.modality, Modality::Image { channels: 1, height: 16, width: 16 });
    // Every item's pixels match its class's colour.
    for i in 0..ds.len() {
        let expected = if ds.global_label(i) == Some(0) { 10.0 } else { 200.0 } / 255.0;
        assert!(ds.global_item(i).iter().all(|&v| (v - expected).abs() < 1e-3));
    }
}

#[test]
fn flat_rgb_folder_has_no_labels() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..4 {
        write_png(&dir.path().join(format!("{i}.png")), 100, true);
    }
    let ds = load_dataset(dir.path(), &LoadOptions { image_size: 8, ..opts() }).unwrap();
    assert!(!ds.has_labels());
    assert_eq!(ds.modality, Modality::Image { channels: 3, height: 8, width: 8 });
    // Channel-major: the red plane is 100/255, the blue plane 155/255.
    let item = ds.global_item(0);
    assert!((item[0] - 100.0 / 255.0).abs() < 1e-3 && (item[2 * 64] - 155.0 / 255.0).abs() < 1e-3);
}

#[test]
fn unreadable_images_are_skipped_and_counted_or_fail_in_strict_mode() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        write_png(&dir.path().join(format!("{i}.png")), 50, false);
    }
    std::fs::write(dir.path().join("broken.png"), b"not a png").unwrap();
    let ds = load_dataset(dir.path(), &opts()).unwrap();
    assert_eq!(ds.len(), 3);
    assert!(ds.notes.iter().any(|n| n.contains("skipped 1") && n.contains("broken.png")), "{:?}", ds.notes);
    let msg = err_text(load_dataset(dir.path(), &LoadOptions { skip_unreadable: false, ..opts() }));
    assert!(msg.contains("broken.png"), "{msg}");
}

#[test]
fn empty_folder_and_missing_path() {
    let dir = tempfile::tempdir().unwrap();
    assert!(err_text(load_dataset(dir.path(), &opts())).contains("no images"));
    assert!(err_text(load_dataset(&dir.path().join("nope"), &opts())).contains("no such file"));
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn csv_standardises_with_train_statistics_and_reads_labels() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("a,b,species\n");
    for i in 0..20 {
        text += &format!("{},{},{}\n", i, 2 * i + 1, if i % 2 == 0 { "setosa" } else { "virginica" });
    }
    // 'species' is not a default label name, so without --label-column it is a feature.
    let msg = err_text(load_dataset(&write(dir.path(), "t.csv", &text), &opts()));
    assert!(msg.contains("column 'species'") && msg.contains("not a number"), "{msg}");
    let ds = load_dataset(&write(dir.path(), "t.csv", &text), &LoadOptions { label_column: Some("species".into()), ..opts() }).unwrap();
    assert_eq!(ds.modality, Modality::Table { columns: vec!["a".into(), "b".into()] });
    assert_eq!(ds.class_names, vec!["setosa", "virginica"]);
    assert_eq!((ds.train.len, ds.test.len), (16, 4));
    for j in 0..2 {
        let col: Vec<f32> = (0..ds.train.len).map(|i| ds.train.item(i, 2)[j]).collect();
        let mean = col.iter().sum::<f32>() / col.len() as f32;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / col.len() as f32;
        assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4, "column {j}: mean {mean}, var {var}");
    }
    assert_eq!(ds.class_counts(), vec![10, 10]);
    // Labels follow their rows: b = 2a + 1 survives standardisation as a perfect correlation,
    // and setosa rows are the ones with the even a values (every other a, in order).
    let mut rows: Vec<(f32, u32)> = (0..ds.len()).map(|i| (ds.global_item(i)[0], ds.global_label(i).unwrap())).collect();
    rows.sort_by(|x, y| x.0.total_cmp(&y.0));
    assert!(rows.iter().enumerate().all(|(rank, &(_, label))| label == (rank % 2) as u32));
}

#[test]
fn csv_errors_name_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let msg = err_text(load_dataset(&write(dir.path(), "a.csv", "x,y,label\n1,2,a\n3,oops,b\n"), &opts()));
    assert!(msg.contains("a.csv") && msg.contains("row 2") && msg.contains("'y'") && msg.contains("oops"), "{msg}");
    let msg = err_text(load_dataset(&write(dir.path(), "b.csv", "x,y\n1,2\n3\n4,5\n"), &opts()));
    assert!(msg.contains("row 2 has 1 fields"), "{msg}");
    let msg = err_text(load_dataset(&write(dir.path(), "c.csv", "x,y\n1,2\nNaN,4\n"), &opts()));
    assert!(msg.contains("row 2") && msg.contains("'x'") && msg.contains("NaN"), "{msg}");
    let msg = err_text(load_dataset(&write(dir.path(), "d.csv", "x,y\n1,2\n"), &LoadOptions { label_column: Some("z".into()), ..opts() }));
    assert!(msg.contains("no column named 'z'"), "{msg}");
}

#[test]
fn npy_float32_and_float64_with_labels() {
    use ndarray::{Array1, Array2};
    use ndarray_npy::WriteNpyExt;
    let dir = tempfile::tempdir().unwrap();
    let x = Array2::from_shape_fn((10, 3), |(i, j)| (i * 3 + j) as f64);
    x.write_npy(std::fs::File::create(dir.path().join("feat.npy")).unwrap()).unwrap();
    Array1::from((0..10).map(|i| (i % 2) as i64).collect::<Vec<_>>())
        .write_npy(std::fs::File::create(dir.path().join("feat_labels.npy")).unwrap())
        .unwrap();
    let ds = load_dataset(&dir.path().join("feat.npy"), &opts()).unwrap();
    assert_eq!(ds.len(), 10);
    assert_eq!(ds.item_len(), 3);
    assert!(ds.has_labels());
    assert_eq!(ds.class_names.len(), 2);

    let x32 = x.mapv(|v| v as f32);
    x32.write_npy(std::fs::File::create(dir.path().join("other.npy")).unwrap()).unwrap();
    let ds = load_dataset(&dir.path().join("other.npy"), &opts()).unwrap();
    assert!(!ds.has_labels(), "no labels file for 'other'");
}

#[test]
fn npy_malformed_inputs() {
    use ndarray::{Array1, Array2};
    use ndarray_npy::WriteNpyExt;
    let dir = tempfile::tempdir().unwrap();
    Array1::from(vec![1.0f32, 2.0]).write_npy(std::fs::File::create(dir.path().join("v.npy")).unwrap()).unwrap();
    assert!(err_text(load_dataset(&dir.path().join("v.npy"), &opts())).contains("2-D"));
    let mut x = Array2::<f32>::zeros((4, 2));
    x[[2, 1]] = f32::NAN;
    x.write_npy(std::fs::File::create(dir.path().join("n.npy")).unwrap()).unwrap();
    let msg = err_text(load_dataset(&dir.path().join("n.npy"), &opts()));
    assert!(msg.contains("row 2, column 1"), "{msg}");
    std::fs::write(dir.path().join("junk.npy"), b"garbage").unwrap();
    assert!(err_text(load_dataset(&dir.path().join("junk.npy"), &opts())).contains("junk.npy"));
    Array2::<f32>::zeros((4, 2)).write_npy(std::fs::File::create(dir.path().join("m.npy")).unwrap()).unwrap();
    Array1::from(vec![0i64, 1]).write_npy(std::fs::File::create(dir.path().join("m_labels.npy")).unwrap()).unwrap();
    assert!(err_text(load_dataset(&dir.path().join("m.npy"), &opts())).contains("2 labels for 4 rows"));
}

#[test]
fn unknown_format_and_single_image_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    assert!(err_text(load_dataset(&write(dir.path(), "x.docx", "hi"), &opts())).contains("unknown format"));
    write_png(&dir.path().join("one.png"), 1, false);
    assert!(err_text(load_dataset(&dir.path().join("one.png"), &opts())).contains("open the folder"));
}

#[test]
fn npy_labels_with_huge_or_sparse_values_become_one_class_each() {
    use ndarray::{Array1, Array2};
    use ndarray_npy::WriteNpyExt;
    let dir = tempfile::tempdir().unwrap();
    Array2::from_shape_fn((6, 2), |(i, j)| (i + j) as f32).write_npy(std::fs::File::create(dir.path().join("big.npy")).unwrap()).unwrap();
    let raw = vec![3_000_000_000i64, i64::MAX, 7, 3_000_000_000, 7, i64::MAX];
    Array1::from(raw.clone()).write_npy(std::fs::File::create(dir.path().join("big_labels.npy")).unwrap()).unwrap();
    let ds = load_dataset(&dir.path().join("big.npy"), &opts()).unwrap();
    // Three distinct values: three classes, named by value, in increasing order.
    assert_eq!(ds.class_names, vec!["7".to_string(), "3000000000".into(), i64::MAX.to_string()]);
    let names: Vec<&str> = (0..ds.len()).map(|i| ds.class_name(ds.global_label(i).unwrap())).collect();
    let mut seen: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut expected: Vec<String> = raw.iter().map(|v| v.to_string()).collect();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected, "every row keeps its own label value");
}

/// The full Fashion-MNIST set as Debian's `dataset-fashion-mnist` installs it (CI installs the
/// package; elsewhere the test says it was skipped).
#[test]
fn the_full_fashion_mnist_set_loads_when_installed() {
    let dir = std::path::Path::new("/usr/share/datasets/fashion-mnist");
    if !dir.join("train-images-idx3-ubyte.gz").is_file() {
        eprintln!("skipped: {} is not installed (apt-get install dataset-fashion-mnist)", dir.display());
        return;
    }
    let ds = load_dataset(dir, &opts()).unwrap();
    assert_eq!((ds.train.len, ds.test.len), (60_000, 10_000));
    assert_eq!(ds.modality, pretext::data::Modality::Image { channels: 1, height: 28, width: 28 });
    // Balanced classes: 7,000 images of each of the 10 across both splits.
    assert_eq!(ds.class_counts(), vec![7_000; 10]);
    assert!(ds.train.x.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn every_listed_image_extension_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let extensions = ["png", "jpg", "jpeg", "bmp", "gif", "webp"];
    for ext in extensions {
        std::fs::create_dir(dir.path().join(ext)).unwrap();
        for i in 0..2 {
            image::RgbImage::from_pixel(12, 12, image::Rgb([200, 40, 90])).save(dir.path().join(ext).join(format!("{i}.{ext}"))).unwrap();
        }
    }
    // Strict: a file that does not decode fails the load instead of being skipped.
    let ds = load_dataset(dir.path(), &LoadOptions { image_size: 8, skip_unreadable: false, ..opts() }).unwrap();
    assert_eq!(ds.len(), 2 * extensions.len());
    assert_eq!(ds.class_counts().iter().sum::<usize>(), ds.len());
    assert_eq!(ds.modality, Modality::Image { channels: 3, height: 8, width: 8 });
    for i in 0..ds.len() {
        // Red plane ~200/255 whatever the format (JPEG within its loss).
        assert!((ds.global_item(i)[0] - 200.0 / 255.0).abs() < 0.05, "item {i}: {}", ds.global_item(i)[0]);
    }
}

#[test]
fn npy_header_promising_more_than_the_file_holds_is_an_error_not_an_abort() {
    // A valid float32 array, then its header's shape edited to 10^9 x 784 (3 TB).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    {
        use ndarray_npy::WriteNpyExt;
        ndarray::Array2::<f32>::zeros((4, 3)).write_npy(std::fs::File::create(&path).unwrap()).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    let start = bytes.windows(6).position(|w| w == b"(4, 3)").unwrap();
    let mut edited = bytes.clone();
    let huge = b"(1000000000, 784)";
    // The header is padded with spaces: the longer shape takes some of them.
    edited.splice(start..start + 6, huge.iter().copied());
    let pad_at = edited.iter().rposition(|&b| b == b'\n').unwrap();
    edited.drain(pad_at - (huge.len() - 6)..pad_at);
    std::fs::write(&path, &edited).unwrap();
    let msg = err_text(load_dataset(&path, &opts()));
    assert!(msg.contains("x.npy") && msg.contains("promises"), "{msg}");
}
