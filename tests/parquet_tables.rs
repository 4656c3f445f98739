//! Embeddings made elsewhere: every layout of a Parquet / Arrow IPC table loads with its
//! rows, labels and values exactly as written (never standardised); broken tables give one
//! line naming the file; a table is not trained on; pretext's own Parquet export opens again
//! with the same embeddings and labels.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Int64Array};
use pretext::data::{load_dataset, Dataset, LoadOptions, Modality};

mod arrow_support;
use arrow_support::*;

fn load(path: &Path) -> pretext::Result<Dataset> {
    load_dataset(path, &LoadOptions::default())
}

/// Every item of `ds` holds the vector of the row its first value names, unchanged, and
/// (when `labelled`) that row's class; every row is there once.
fn assert_rows_as_written(ds: &Dataset, rows: usize, dim: usize, labelled: bool) {
    assert_eq!(ds.modality, Modality::Embedding { dim });
    assert_eq!(ds.len(), rows);
    assert_eq!(ds.has_labels(), labelled);
    let mut seen = vec![false; rows];
    for i in 0..ds.len() {
        let v = ds.global_item(i);
        let row = v[0] as usize;
        assert_eq!(v, vector(row, dim).as_slice(), "item {i} is row {row} as written");
        assert!(!std::mem::replace(&mut seen[row], true), "row {row} twice");
        if labelled {
            assert_eq!(ds.class_name(ds.global_label(i).unwrap()), class_of(row), "item {i}");
        }
    }
}

#[test]
fn a_list_column_with_string_labels_loads_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("emb.parquet");
    write_parquet(&p, &labelled_list_table(30));
    let ds = load(&p).unwrap();
    assert_rows_as_written(&ds, 30, 4, true);
    assert_eq!(ds.class_names, vec!["bird", "cat", "dog"]);
    assert!(ds.train.len > ds.test.len && ds.test.len > 0, "split 80/20");
}

#[test]
fn a_fixed_size_list_of_float64_with_integer_labels_loads_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("emb.parquet");
    let labels: ArrayRef = Arc::new(Int64Array::from_iter_values((0..20).map(|i| [7, 12, 100][i % 3])));
    write_parquet(&p, &batch(vec![("class", labels), ("vector", fixed_list_f64(20, 6))]));
    let ds = load(&p).unwrap();
    assert_eq!(ds.modality, Modality::Embedding { dim: 6 });
    // Integer classes sort as numbers, not as strings ("100" after "12").
    assert_eq!(ds.class_names, vec!["7", "12", "100"]);
    for i in 0..ds.len() {
        let row = ds.global_item(i)[0] as usize;
        assert_eq!(ds.global_item(i), vector(row, 6).as_slice());
        assert_eq!(ds.class_name(ds.global_label(i).unwrap()), ["7", "12", "100"][row % 3]);
    }
}

#[test]
fn numeric_columns_are_the_vector_but_id_and_label_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("emb.parquet");
    let rows = 12;
    let column = |j: usize| -> ArrayRef { Arc::new(Float32Array::from_iter_values((0..rows).map(|i| vector(i, 3)[j]))) };
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values((0..rows as i64).map(|i| 1000 + i)));
    write_parquet(&p, &batch(vec![("id", ids), ("e0", column(0)), ("label", strings((0..rows).map(class_of))), ("e1", column(1)), ("e2", column(2))]));
    let ds = load(&p).unwrap();
    assert_rows_as_written(&ds, rows, 3, true);
}

#[test]
fn arrow_ipc_files_and_streams_load_as_written() {
    let dir = tempfile::tempdir().unwrap();
    for (name, stream) in [("emb.arrow", false), ("emb.feather", false), ("emb.ipc", true), ("stream.arrow", true)] {
        let p = dir.path().join(name);
        let table = labelled_list_table(25);
        if stream {
            write_ipc_stream(&p, &table);
        } else {
            write_ipc_file(&p, &table);
        }
        let ds = load(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_rows_as_written(&ds, 25, 4, true);
    }
}

#[test]
fn an_npy_matrix_loads_with_its_labels() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("emb.npy");
    let m = pretext::analysis::Matrix::new((0..15).flat_map(|i| vector(i, 4)).collect(), 15, 4);
    pretext::export::write_npy_matrix(&p, &m).unwrap();
    pretext::export::write_npy_ints(&dir.path().join("emb_labels.npy"), &(0..15).map(|i| (i % 3) as i64).collect::<Vec<_>>()).unwrap();
    let ds = load(&p).unwrap();
    assert_eq!(ds.len(), 15);
    assert_eq!(ds.class_counts(), vec![5, 5, 5]);
    // A feature table: standardised per column, so column 0 sums to zero over the train split.
    let mean0: f32 = ds.train.x.chunks(4).map(|r| r[0]).sum::<f32>() / ds.train.len as f32;
    assert!(mean0.abs() < 1e-4, "{mean0}");
    // Read as embeddings: every row as written, its label beside it, its row known.
    let ds = load_dataset(&p, &LoadOptions { embeddings: true, ..LoadOptions::default() }).unwrap();
    assert_eq!(ds.modality, Modality::Embedding { dim: 4 });
    for i in 0..ds.len() {
        let row = ds.global_row(i).unwrap();
        assert_eq!(ds.global_item(i), vector(row, 4).as_slice());
        assert_eq!(ds.class_name(ds.global_label(i).unwrap()), (row % 3).to_string());
    }
    // The commands that take a table take the .npy as one too.
    let out = dir.path().join("scored.parquet");
    let (ok, stderr) = pretext(&["scores", "--data", p.to_str().unwrap(), "--csv", dir.path().join("s.csv").to_str().unwrap(), "--parquet", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let scored = load(&out).unwrap();
    assert_eq!(scored.len(), 15);
    for i in 0..scored.len() {
        let row = scored.global_item(i)[0] as usize;
        assert_eq!(scored.global_item(i), vector(row, 4).as_slice());
        assert_eq!(scored.class_name(scored.global_label(i).unwrap()), (row % 3).to_string());
    }
}

#[test]
fn texts_and_image_paths_come_with_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("emb.parquet");
    let rows = 10;
    write_parquet(&p, &batch(vec![
        ("embedding", list_f32(rows, |_| 2)),
        ("text", strings((0..rows).map(|i| format!("caption of row {i}")))),
        ("image_path", strings((0..rows).map(|i| format!("img/{i}.png")))),
    ]));
    let ds = load(&p).unwrap();
    for i in 0..ds.len() {
        let row = ds.global_item(i)[0] as usize;
        assert_eq!(ds.global_text(i), Some(format!("caption of row {row}").as_str()));
        assert_eq!(ds.global_image(i), Some(dir.path().join(format!("img/{row}.png")).as_path()));
    }
}

#[test]
fn the_vector_and_label_columns_can_be_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("emb.parquet");
    let rows = 9;
    write_parquet(&p, &batch(vec![
        ("image_emb", list_f32(rows, |_| 3)),
        ("text_emb", list_f32(rows, |_| 5)),
        ("species", strings((0..rows).map(class_of))),
    ]));
    let opts = LoadOptions { vector_column: Some("text_emb".into()), label_column: Some("species".into()), ..LoadOptions::default() };
    let ds = load_dataset(&p, &opts).unwrap();
    assert_rows_as_written(&ds, rows, 5, true);
    assert_eq!(ds.columns.vector_column.as_deref(), Some("text_emb"));
}

#[test]
fn broken_tables_give_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (what, path, vector_column, expected) in malformed_tables(dir.path()) {
        let opts = LoadOptions { vector_column: vector_column.map(str::to_string), ..LoadOptions::default() };
        let message = match load_dataset(&path, &opts) {
            Ok(ds) => panic!("{what}: loaded {} items", ds.len()),
            Err(e) => e.to_string(),
        };
        assert!(message.contains(&path.display().to_string()), "{what}: names the file: {message}");
        assert!(message.contains(expected), "{what}: says '{expected}': {message}");
        assert!(!message.contains('\n'), "{what}: one line: {message}");
    }
}

#[test]
fn a_table_of_embeddings_is_not_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("emb.parquet");
    write_parquet(&p, &labelled_list_table(20));
    let ds = Arc::new(load(&p).unwrap());
    let cfg = pretext::ssl::TrainConfig::for_modality(&ds.modality);
    let message = match pretext::ssl::Trainer::spawn(ds, cfg, None) {
        Ok(_) => panic!("a trainer started on precomputed embeddings"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("does not train on them"), "{message}");
    assert!(!message.contains('\n'));
}

#[test]
fn the_parquet_export_opens_again_with_the_same_embeddings_labels_and_columns() {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use pretext::export::{write_parquet, ExtraColumns, RowMeta};
    let dir = tempfile::tempdir().unwrap();
    let (rows, dim) = (40, 8);
    let m = pretext::analysis::Matrix::new((0..rows).flat_map(|i| (0..dim).map(move |j| ((i * 7 + j * 3) % 11) as f32 - 5.0 + i as f32 * 1e-3)).collect(), rows, dim);
    let index: Vec<usize> = (0..rows).map(|i| 100 + i).collect();
    let clusters: Vec<usize> = (0..rows).map(|i| i % 4).collect();
    let tags = vec![("odd ones".to_string(), (0..rows).map(|i| i % 2 == 1).collect::<Vec<_>>())];
    let meta = RowMeta { index: &index, label: Some((0..rows).map(class_of).collect()), cluster: Some(&clusters), tags: &tags, source: None };
    let extra = ExtraColumns { xy: Some((0..rows).map(|i| [i as f32, -(i as f32)]).collect()), ..ExtraColumns::default() };
    let p = dir.path().join("embeddings.parquet");
    write_parquet(&p, &m, &meta, &extra).unwrap();

    // The columns another tool reads.
    let batches: Vec<_> = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&p).unwrap()).unwrap().build().unwrap().map(Result::unwrap).collect();
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["index", "label", "cluster", "x", "y", "tag:odd ones", "embedding"]);
    let x = batches[0].column(3).as_any().downcast_ref::<Float32Array>().unwrap();
    assert_eq!(x.value(7), 7.0);
    let odd = batches[0].column(5).as_any().downcast_ref::<arrow_array::BooleanArray>().unwrap();
    assert!(odd.value(3) && !odd.value(4));

    // pretext opens it again: same vectors, same labels.
    let ds = load(&p).unwrap();
    assert_eq!(ds.modality, Modality::Embedding { dim });
    assert_eq!(ds.len(), rows);
    let written: HashMap<Vec<u32>, String> = (0..rows).map(|i| (m.row(i).iter().map(|v| v.to_bits()).collect(), class_of(i))).collect();
    for i in 0..ds.len() {
        let key: Vec<u32> = ds.global_item(i).iter().map(|v| v.to_bits()).collect();
        let label = written.get(&key).unwrap_or_else(|| panic!("item {i} is no exported row"));
        assert_eq!(ds.class_name(ds.global_label(i).unwrap()), label);
    }
}

fn pretext(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pretext")).args(args).output().expect("run pretext");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_cli_scores_a_table_and_writes_a_parquet_that_opens_again_but_refuses_to_train_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("emb.parquet");
    write_parquet(&table, &labelled_list_table(60));
    let out = dir.path().join("scored.parquet");
    let (ok, stderr) = pretext(&["scores", "--data", table.to_str().unwrap(), "--csv", dir.path().join("s.csv").to_str().unwrap(), "--parquet", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let csv = std::fs::read_to_string(dir.path().join("s.csv")).unwrap();
    assert_eq!(csv.lines().count(), 61, "a header and one row per item");
    assert!(csv.lines().next().unwrap().ends_with(",row,source"));
    // Each CSV line names the table row it scores (as a number and as its source): its label
    // is that row's class.
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let row: usize = fields[fields.len() - 2].parse().unwrap();
        assert_eq!(fields[fields.len() - 1], format!("row:{row}"), "{line}");
        assert_eq!(fields[1], class_of(row), "{line}");
    }
    let ds = load(&out).unwrap();
    assert_rows_as_written(&ds, 60, 4, true);
    // The exported `row` column names the source row of each vector.
    let file = std::fs::File::open(&out).unwrap();
    let batch = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().next().unwrap().unwrap();
    let rows = batch.column_by_name("row").unwrap().as_any().downcast_ref::<Int64Array>().unwrap().clone();
    let vectors = batch.column_by_name("embedding").unwrap().as_any().downcast_ref::<arrow_array::ListArray>().unwrap().clone();
    for i in 0..60 {
        let v = vectors.value(i);
        let v = v.as_any().downcast_ref::<Float32Array>().unwrap();
        assert_eq!(v.values().to_vec(), vector(rows.value(i) as usize, 4));
    }

    // Neighbours are named by their rows: row 4's nearest are rows 5 and 3 (row i is
    // i + (0, .1, .2, .3), whose direction changes less and less as i grows).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pretext"))
        .args(["neighbors", "--data", table.to_str().unwrap(), "--item", "4", "-k", "2", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (rank, row) in [5, 3].into_iter().enumerate() {
        assert_eq!(json["neighbors"][rank]["item"], row, "{json}");
        assert_eq!(json["neighbors"][rank]["label"], class_of(row), "{json}");
    }
    assert_eq!(json["label"], class_of(4));

    let (ok, stderr) = pretext(&["train", "--data", table.to_str().unwrap(), "--epochs", "1", "--out", dir.path().join("run").to_str().unwrap()]);
    assert!(!ok);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.contains("does not train on them"), "{stderr}");
}

#[test]
fn an_npy_matrix_reads_the_same_from_float64_and_fortran_order() {
    use ndarray::Array2;
    use ndarray_npy::WriteNpyExt;
    let dir = tempfile::tempdir().unwrap();
    let (n, d) = (23, 5);
    let values: Vec<f32> = (0..n).flat_map(|i| vector(i, d)).map(|v| v * v * 0.25).collect();
    let c32 = dir.path().join("c32.npy");
    Array2::from_shape_vec((n, d), values.clone()).unwrap().write_npy(std::fs::File::create(&c32).unwrap()).unwrap();
    let f64_fortran = dir.path().join("f64.npy");
    // Stored column-major: the transpose of a (d, n) array, reversed to (n, d).
    let t = Array2::from_shape_fn((d, n), |(j, i)| values[i * d + j] as f64);
    t.reversed_axes().write_npy(std::fs::File::create(&f64_fortran).unwrap()).unwrap();
    assert!(std::fs::read(&f64_fortran).unwrap().windows(21).any(|w| w == b"'fortran_order': True"));
    let a = load(&c32).unwrap();
    let b = load(&f64_fortran).unwrap();
    assert_eq!(a.train.len + a.test.len, n);
    assert_eq!(a.train.x, b.train.x);
    assert_eq!(a.test.x, b.test.x);
    // Row r of the file is where the seeded split puts it, standardised with train statistics.
    let (train_rows, _) = pretext::data::split_pool(n, 0.2, 0);
    let col0: Vec<f32> = train_rows.iter().map(|&r| values[r * d]).collect();
    let mean = col0.iter().sum::<f32>() / col0.len() as f32;
    let std = (col0.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / col0.len() as f32).sqrt();
    for (k, &r) in train_rows.iter().enumerate() {
        assert!((a.train.x[k * d] - (values[r * d] - mean) / std).abs() < 1e-4, "train item {k} is row {r}");
    }
}
