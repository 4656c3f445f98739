//! `embeddings.parquet`: the vectors as one list<float32> column `embedding`, beside the
//! row metadata (index, label, cluster, one boolean `tag:<name>` column per tag), the row of
//! the table the vectors came from (for embeddings made elsewhere), the item's `source` (its
//! file, line or row) and `id` (its id column's value, when read with one), the 2D map
//! coordinates `x`/`y` when known, texts and scores. pandas/pyarrow read it as a DataFrame,
//! Embedding Atlas as a map (its x/y and text/label columns), and pretext opens it again.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Float32Builder, ListBuilder};
use arrow_array::{ArrayRef, BooleanArray, Float32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::analysis::Matrix;
use crate::error::{PretextError, Result};
use crate::export::RowMeta;

/// Per-row columns besides the metadata, each with one value per exported row.
#[derive(Debug, Default, Clone)]
pub struct ExtraColumns {
    /// Each row's value of the dataset's id column (`Dataset::ids_of`), written as `id`.
    pub ids: Option<Vec<String>>,
    /// The source table's row of each exported row, written as `row`.
    pub rows: Option<Vec<usize>>,
    /// Map coordinates, written as `x` and `y`.
    pub xy: Option<Vec<[f32; 2]>>,
    /// The items' texts, written as `text`.
    pub texts: Option<Vec<String>>,
    /// Named float columns (scores); `None` is a null.
    pub floats: Vec<(String, Vec<Option<f32>>)>,
    /// Named integer columns (group ids); `None` is a null.
    pub ints: Vec<(String, Vec<Option<i64>>)>,
}

pub fn write_parquet(path: &Path, m: &Matrix, meta: &RowMeta, extra: &ExtraColumns) -> Result<()> {
    let bad = |e: &dyn std::fmt::Display| PretextError::bad_file(path, format!("cannot write Parquet ({e})"));
    let mut columns: Vec<(String, ArrayRef)> = vec![("index".into(), Arc::new(Int64Array::from_iter_values(meta.index.iter().map(|&i| i as i64))))];
    if let Some(sources) = meta.source {
        columns.push(("source".into(), Arc::new(StringArray::from_iter_values(sources))));
    }
    if let Some(ids) = &extra.ids {
        columns.push(("id".into(), Arc::new(StringArray::from_iter_values(ids))));
    }
    if let Some(rows) = &extra.rows {
        columns.push(("row".into(), Arc::new(Int64Array::from_iter_values(rows.iter().map(|&r| r as i64)))));
    }
    if let Some(labels) = &meta.label {
        columns.push(("label".into(), Arc::new(StringArray::from_iter_values(labels))));
    }
    if let Some(clusters) = meta.cluster {
        columns.push(("cluster".into(), Arc::new(Int64Array::from_iter_values(clusters.iter().map(|&c| c as i64)))));
    }
    if let Some(xy) = &extra.xy {
        columns.push(("x".into(), Arc::new(Float32Array::from_iter_values(xy.iter().map(|p| p[0])))));
        columns.push(("y".into(), Arc::new(Float32Array::from_iter_values(xy.iter().map(|p| p[1])))));
    }
    if let Some(texts) = &extra.texts {
        columns.push(("text".into(), Arc::new(StringArray::from_iter_values(texts))));
    }
    for (name, values) in &extra.floats {
        columns.push((name.clone(), Arc::new(Float32Array::from(values.clone()))));
    }
    for (name, values) in &extra.ints {
        columns.push((name.clone(), Arc::new(Int64Array::from(values.clone()))));
    }
    for (name, member) in meta.tags {
        columns.push((format!("tag:{name}"), Arc::new(BooleanArray::from(member.clone()))));
    }
    let mut vectors = ListBuilder::with_capacity(Float32Builder::with_capacity(m.rows * m.cols), m.rows)
        .with_field(Arc::new(Field::new("item", arrow_schema::DataType::Float32, false)));
    for i in 0..m.rows {
        vectors.values().append_slice(m.row(i));
        vectors.append(true);
    }
    columns.push(("embedding".into(), Arc::new(vectors.finish())));
    if let Some((name, a)) = columns.iter().find(|(_, a)| a.len() != m.rows) {
        return Err(bad(&format!("column '{name}' has {} rows, the embeddings {}", a.len(), m.rows)));
    }
    let fields: Vec<Field> = columns.iter().map(|(name, a)| Field::new(name, a.data_type().clone(), a.null_count() > 0)).collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect()).map_err(|e| bad(&e))?;
    // Snappy, as pyarrow and pandas write by default: every reader has it.
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let file = std::fs::File::create(path).map_err(|e| PretextError::io(path, e))?;
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| bad(&e))?;
    writer.write(&batch).map_err(|e| bad(&e))?;
    writer.close().map_err(|e| bad(&e))?;
    Ok(())
}
