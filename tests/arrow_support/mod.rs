//! Parquet and Arrow IPC fixtures written with the arrow/parquet writers, and the broken
//! tables a user might hand pretext, for the loader tests and the window's malformed-files
//! test.
#![allow(dead_code)] // each test binary uses a subset

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{FixedSizeListBuilder, Float32Builder, Float64Builder, ListBuilder};
use arrow_array::{ArrayRef, Float64Array, Int32Array, RecordBatch, StringArray};

/// Row `i` of the fixtures' vectors: value `j` is `i + j / 10` (so a row is recognised by
/// its first value, and any per-column rescaling shows).
pub fn vector(i: usize, dim: usize) -> Vec<f32> {
    (0..dim).map(|j| i as f32 + j as f32 / 10.0).collect()
}

pub fn class_of(i: usize) -> String {
    ["cat", "dog", "bird"][i % 3].to_string()
}

/// A list<float32> column of `rows` vectors (`vector`), with `row_len` to make some ragged.
pub fn list_f32(rows: usize, row_len: impl Fn(usize) -> usize) -> ArrayRef {
    let mut b = ListBuilder::new(Float32Builder::new());
    for i in 0..rows {
        b.values().append_slice(&vector(i, row_len(i)));
        b.append(true);
    }
    Arc::new(b.finish())
}

pub fn fixed_list_f64(rows: usize, dim: usize) -> ArrayRef {
    let mut b = FixedSizeListBuilder::new(Float64Builder::new(), dim as i32);
    for i in 0..rows {
        for v in vector(i, dim) {
            b.values().append_value(v as f64);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

pub fn strings(values: impl IntoIterator<Item = String>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

pub fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap()
}

pub fn write_parquet(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

pub fn write_ipc_file(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    w.write(batch).unwrap();
    w.finish().unwrap();
}

pub fn write_ipc_stream(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(file, &batch.schema()).unwrap();
    w.write(batch).unwrap();
    w.finish().unwrap();
}

/// The usual table: `rows` 4-d list<float32> vectors with a string label column.
pub fn labelled_list_table(rows: usize) -> RecordBatch {
    batch(vec![("embedding", list_f32(rows, |_| 4)), ("label", strings((0..rows).map(class_of)))])
}

/// Broken tables, each with what it is and a piece of the error it must give:
/// (what, file, the vector column to name or None, expected words in the error).
pub fn malformed_tables(dir: &Path) -> Vec<(&'static str, PathBuf, Option<&'static str>, &'static str)> {
    let mut cases = Vec::new();
    let p = dir.join("ragged.parquet");
    write_parquet(&p, &batch(vec![("embedding", list_f32(6, |i| if i == 3 { 5 } else { 4 }))]));
    cases.push(("lists of different lengths", p, None, "row 3 has 5 values"));
    let p = dir.join("nan.parquet");
    let mut b = ListBuilder::new(Float32Builder::new());
    for i in 0..5 {
        b.values().append_slice(&[i as f32, if i == 2 { f32::NAN } else { 1.0 }]);
        b.append(true);
    }
    write_parquet(&p, &batch(vec![("embedding", Arc::new(b.finish()) as ArrayRef)]));
    cases.push(("a NaN in a vector", p, None, "row 2, column 'embedding', value 1: NaN"));
    let p = dir.join("no-rows.parquet");
    write_parquet(&p, &batch(vec![("embedding", list_f32(0, |_| 4))]));
    cases.push(("zero rows", p, None, "0 row(s)"));
    let p = dir.join("strings-only.parquet");
    write_parquet(&p, &batch(vec![("name", strings((0..5).map(|i| format!("n{i}"))))]));
    cases.push(("no numeric or list column", p, None, "no vectors"));
    let p = dir.join("list-of-strings.parquet");
    let mut b = ListBuilder::new(arrow_array::builder::StringBuilder::new());
    for i in 0..4 {
        b.values().append_value(format!("v{i}"));
        b.append(true);
    }
    write_parquet(&p, &batch(vec![("embedding", Arc::new(b.finish()) as ArrayRef)]));
    cases.push(("a list column of strings", p, None, "not of numbers"));
    let p = dir.join("float-labels.parquet");
    write_parquet(&p, &batch(vec![("embedding", list_f32(5, |_| 3)), ("label", Arc::new(Float64Array::from(vec![0.5; 5])) as ArrayRef)]));
    cases.push(("a label column of floats", p, None, "labels must be strings or integers"));
    let p = dir.join("flag-names-a-string-column.parquet");
    write_parquet(&p, &batch(vec![("embedding", list_f32(5, |_| 3)), ("name", strings((0..5).map(|i| format!("n{i}"))))]));
    cases.push(("the vector column is strings", p, Some("name"), "column 'name' is Utf8, not a list")); 
    let p = dir.join("flag-names-a-missing-column.parquet");
    write_parquet(&p, &batch(vec![("embedding", list_f32(5, |_| 3)), ("n", Arc::new(Int32Array::from_iter_values(0..5)) as ArrayRef)]));
    cases.push(("the named vector column does not exist", p, Some("vectors"), "no column named 'vectors'"));
    let p = dir.join("two-lists.parquet");
    write_parquet(&p, &batch(vec![("image_emb", list_f32(5, |_| 3)), ("text_emb", list_f32(5, |_| 3))]));
    cases.push(("two list columns and no choice", p, None, "--vector-column"));
    let p = dir.join("csv-in-disguise.parquet");
    std::fs::write(&p, b"a,b,c\n1,2,3\n4,5,6\n").unwrap();
    cases.push(("a CSV named .parquet", p, None, "not a readable Parquet file"));
    let p = dir.join("cut-short.parquet");
    write_parquet(&p, &labelled_list_table(50));
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    cases.push(("a Parquet file cut in half", p, None, "not a readable Parquet file"));
    let p = dir.join("not-arrow.arrow");
    std::fs::write(&p, b"ARROW1 but nothing else of the sort").unwrap();
    cases.push(("junk named .arrow", p, None, "not a readable Arrow IPC file"));
    cases
}
