//! Time series loaders on good files and malformed ones: every bad file is a one-line error
//! naming the file and the problem, never a panic.

use std::path::{Path, PathBuf};

use pretext::data::{load_dataset, LoadOptions, Modality};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn err_text(path: &Path, opts: &LoadOptions) -> String {
    match load_dataset(path, opts) {
        Ok(ds) => panic!("expected an error, loaded {} series", ds.len()),
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains('\n'), "error is one line: {text}");
            text
        }
    }
}

const TS_HEADER: &str = "#comment\n@problemName Toy\n@timeStamps false\n@univariate true\n@equalLength true\n@seriesLength 4\n@classLabel true up down\n@data\n";

fn toy_pair(dir: &Path) {
    write(dir, "Toy_TRAIN.ts", &format!("{TS_HEADER}1,2,3,4:up\n4,3,2,1:down\n\n2,4,6,8:up\n"));
    write(dir, "Toy_TEST.ts", &format!("{TS_HEADER}8,6,4,2:down\n1,1,2,2:up\n"));
}

#[test]
fn ts_pair_from_folder_or_either_file_keeps_the_archive_split() {
    let dir = tempfile::tempdir().unwrap();
    toy_pair(dir.path());
    for path in [dir.path().to_path_buf(), dir.path().join("Toy_TRAIN.ts"), dir.path().join("Toy_TEST.ts")] {
        let ds = load_dataset(&path, &LoadOptions::default()).unwrap();
        assert_eq!(ds.name, "Toy");
        assert_eq!(ds.modality, Modality::Series { channels: 1, length: 4 });
        assert_eq!((ds.train.len, ds.test.len), (3, 2), "the blank line is skipped, the files are the split");
        assert_eq!(ds.class_names, vec!["up", "down"], "classes in the header's order");
        assert_eq!(ds.train.labels.as_deref(), Some(&[0, 1, 0][..]));
        assert_eq!(ds.test.labels.as_deref(), Some(&[1, 0][..]));
        assert!(ds.notes.is_empty(), "{:?}", ds.notes);
    }
}

#[test]
fn series_are_z_normalised_per_channel() {
    let dir = tempfile::tempdir().unwrap();
    toy_pair(dir.path());
    let ds = load_dataset(dir.path(), &LoadOptions::default()).unwrap();
    for i in 0..ds.len() {
        let s = ds.global_item(i);
        let mean = s.iter().sum::<f32>() / 4.0;
        let var = s.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4, "series {i}: mean {mean}, var {var}");
    }
    // 1,2,3,4 and 2,4,6,8 are the same shape: equal after z-normalisation.
    assert_eq!(ds.train.item(0, 4), ds.train.item(2, 4));
    assert!(ds.train.item(0, 4)[0] < ds.train.item(0, 4)[3]);
}

#[test]
fn multivariate_unequal_length_ts_is_resampled_and_noted() {
    let dir = tempfile::tempdir().unwrap();
    let header = "@problemName Multi\n@univariate false\n@dimensions 2\n@equalLength false\n@classLabel true a b\n@data\n";
    let p = write(dir.path(), "multi.ts", &format!("{header}1,2,3:4,5,6:a\n1,2,3,4,5:5,4,3,2,1:b\n0,1:1,0:a\n3,2,1:1,2,3:b\n1,3,1:2,2,3:a\n"));
    let ds = load_dataset(&p, &LoadOptions::default()).unwrap();
    assert_eq!(ds.modality, Modality::Series { channels: 2, length: 5 });
    assert_eq!(ds.len(), 5);
    assert!(ds.notes.iter().any(|n| n.contains("resampled to 5")), "{:?}", ds.notes);
    // A single file has no split of its own: 80/20.
    assert_eq!((ds.train.len, ds.test.len), (4, 1));
}

#[test]
fn ucr_tsv_pair_label_first_with_nan_padding() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Pad_TRAIN.tsv", "1\t0.1\t0.5\t0.2\t0.9\n2\t1.0\t0.5\tNaN\tNaN\n1\t0.3\t0.1\t0.4\t0.2\n");
    write(dir.path(), "Pad_TEST.tsv", "2\t0.0\t1.0\t2.0\t3.0\n");
    let ds = load_dataset(&dir.path().join("Pad_TEST.tsv"), &LoadOptions::default()).unwrap();
    assert_eq!(ds.modality, Modality::Series { channels: 1, length: 4 });
    assert_eq!((ds.train.len, ds.test.len), (3, 1));
    assert_eq!(ds.class_names, vec!["1", "2"]);
    assert!(ds.notes.iter().any(|n| n.contains("1 of 4 series")), "{:?}", ds.notes);
}

#[test]
fn csv_rows_are_series_with_the_flag_and_a_table_without() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "rows.csv", "label,t0,t1,t2\na,1,2,3\nb,3,2,1\na,0,1,2\nb,5,1,0\na,1,5,9\n");
    let as_series = load_dataset(&p, &LoadOptions { series: true, ..Default::default() }).unwrap();
    assert_eq!(as_series.modality, Modality::Series { channels: 1, length: 3 });
    assert_eq!(as_series.class_names, vec!["a", "b"]);
    let as_table = load_dataset(&p, &LoadOptions::default()).unwrap();
    assert!(matches!(as_table.modality, Modality::Table { .. }));
    // Headerless: the label column is given by number.
    let q = write(dir.path(), "bare.csv", "1,2,3,x\n3,2,1,y\n0,1,2,x\n");
    let ds = load_dataset(&q, &LoadOptions { series: true, label_column: Some("3".into()), ..Default::default() }).unwrap();
    assert_eq!(ds.modality, Modality::Series { channels: 1, length: 3 });
    assert_eq!(ds.class_names, vec!["x", "y"]);
}

#[test]
fn npy_three_dimensional_is_series_with_labels_beside() {
    use ndarray::{Array1, Array3};
    use ndarray_npy::WriteNpyExt;
    let dir = tempfile::tempdir().unwrap();
    let x = Array3::<f32>::from_shape_fn((6, 2, 5), |(n, c, t)| (n + c * t) as f32 + (t * t) as f32 * 0.1);
    x.write_npy(std::fs::File::create(dir.path().join("x.npy")).unwrap()).unwrap();
    Array1::<i64>::from(vec![0, 1, 0, 1, 0, 1]).write_npy(std::fs::File::create(dir.path().join("x_labels.npy")).unwrap()).unwrap();
    let ds = load_dataset(&dir.path().join("x.npy"), &LoadOptions::default()).unwrap();
    assert_eq!(ds.modality, Modality::Series { channels: 2, length: 5 });
    assert!(ds.has_labels());
}

#[test]
fn bundled_gunpoint_loads_with_its_archive_split() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/gunpoint");
    let ds = load_dataset(&dir, &LoadOptions::default()).unwrap();
    assert_eq!(ds.modality, Modality::Series { channels: 1, length: 150 });
    assert_eq!((ds.train.len, ds.test.len), (50, 150));
    assert_eq!(ds.class_names.len(), 2);
}

/// Each malformed file, and a phrase its error must contain besides the file's name.
#[test]
fn malformed_files_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let uni = "@univariate true\n@equalLength true\n@seriesLength 3\n@classLabel true a b\n@data\n";
    let cases: Vec<(PathBuf, &str)> = vec![
        (write(d, "ragged.ts", &format!("{uni}1,2,3:a\n1,2:b\n")), "line 7: 2 values, @seriesLength says 3"),
        (write(d, "missing.ts", &format!("{uni}1,?,3:a\n")), "line 6: missing value at position 2"),
        (write(d, "nan_inside.tsv", "1\t0.5\tNaN\t0.2\n"), "line 1: missing value at position 2"),
        (write(d, "word.ts", &format!("{uni}1,x,3:a\n")), "'x' is not a number"),
        (write(d, "dims.ts", "@dimensions 3\n@classLabel true a\n@data\n1,2:3,4:a\n"), "2 dimensions, the header says 3"),
        (write(d, "length.ts", "@equalLength true\n@seriesLength 5\n@classLabel true a\n@data\n1,2,3:a\n"), "3 values, @seriesLength says 5"),
        (write(d, "label.ts", &format!("{uni}1,2,3:c\n")), "label 'c' is not among"),
        (write(d, "nodata.ts", "@problemName X\n"), "no @data line"),
        (write(d, "empty.ts", "@problemName X\n@data\n\n\n"), "no series after @data"),
        (write(d, "ragged.tsv", "1\t1\t2\t3\n2\t1\t2\n"), "line 2: 3 fields, line 1 has 4"),
        (write(d, "empty.tsv", "\n\n"), "empty"),
        (write(d, "stamps.ts", "@timeStamps true\n@data\n"), "time-stamped"),
        (write(d, "Lonely_TRAIN.ts", &format!("{uni}1,2,3:a\n")), "Lonely_TEST.ts, is not beside it"),
    ];
    for (path, phrase) in &cases {
        let text = err_text(path, &LoadOptions::default());
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(text.contains(&*name), "error names the file: {text}");
        assert!(text.contains(phrase), "{name}: expected '{phrase}' in: {text}");
    }
    // Non-UTF-8 bytes.
    let p = d.join("latin1.ts");
    std::fs::write(&p, b"@data\n1,2,\xe9:a\n").unwrap();
    let text = err_text(&p, &LoadOptions::default());
    assert!(text.contains("latin1.ts") && text.contains("line 2: not UTF-8"), "{text}");
    // A ragged CSV of series.
    let p = write(d, "ragged.csv", "1,2,3\n1,2\n");
    let text = err_text(&p, &LoadOptions { series: true, ..Default::default() });
    assert!(text.contains("ragged.csv") && text.contains("line 2: 2 fields"), "{text}");
    // Test file with a different number of channels from its train file.
    write(d, "Mix_TRAIN.ts", "@dimensions 2\n@data\n1,2:3,4\n2,3:4,5\n");
    write(d, "Mix_TEST.ts", "@dimensions 1\n@data\n1,2\n");
    let text = err_text(&d.join("Mix_TRAIN.ts"), &LoadOptions::default());
    assert!(text.contains("Mix_TEST.ts") && text.contains("1 channels, the train file's have 2"), "{text}");
}

#[test]
fn query_file_is_one_series_prepared_like_the_items() {
    let dir = tempfile::tempdir().unwrap();
    let row = write(dir.path(), "q.csv", "1,2,3,4,5\n");
    let v = pretext::data::series::read_query(&row, 1, 9).unwrap();
    assert_eq!(v.len(), 9);
    assert!(v[0] < v[4] && v[4] < v[8], "resampled, still rising: {v:?}");
    assert!(v.iter().sum::<f32>().abs() < 1e-4, "z-normalised");
    let column = write(dir.path(), "col.csv", "value\n1\n2\n3\n");
    assert_eq!(pretext::data::series::read_query(&column, 1, 3).unwrap().len(), 3);
    let text = pretext::data::series::read_query(&row, 2, 9).unwrap_err().to_string();
    assert!(text.contains("q.csv") && text.contains("2 channel"), "{text}");
}
