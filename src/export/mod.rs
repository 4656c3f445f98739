//! Writing embeddings for other tools: NPY (numpy), CSV, Parquet and TensorBoard projector TSV.

pub mod curate;
pub mod torch_project;
mod parquet_file;

pub use parquet_file::{write_parquet, ExtraColumns};

use std::io::{BufWriter, Write};
use std::path::Path;

use ndarray::{Array1, Array2};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use crate::analysis::Matrix;
use crate::error::{PretextError, Result};

fn create(path: &Path) -> Result<BufWriter<std::fs::File>> {
    std::fs::File::create(path).map(BufWriter::new).map_err(|e| PretextError::io(path, e))
}

fn npy_error(path: &Path, e: impl std::fmt::Display) -> PretextError {
    PretextError::bad_file(path, format!("cannot write .npy ({e})"))
}

pub fn write_npy_matrix(path: &Path, m: &Matrix) -> Result<()> {
    let a = Array2::from_shape_vec((m.rows, m.cols), m.data.clone()).map_err(|e| npy_error(path, e))?;
    a.write_npy(create(path)?).map_err(|e| npy_error(path, e))
}

pub fn write_npy_ints(path: &Path, values: &[i64]) -> Result<()> {
    Array1::from(values.to_vec()).write_npy(create(path)?).map_err(|e| npy_error(path, e))
}

pub fn read_npy_matrix(path: &Path) -> Result<Matrix> {
    let a = crate::data::npy::read_matrix(path)?;
    let (rows, cols) = a.dim();
    // A C-order array already holds its values row-major: take its buffer, not a copy.
    let data = if a.is_standard_layout() {
        let (mut data, offset) = a.into_raw_vec_and_offset();
        data.drain(..offset.unwrap_or(0));
        data.truncate(rows * cols);
        data
    } else {
        a.iter().copied().collect()
    };
    Ok(Matrix::new(data, rows, cols))
}

pub fn read_npy_ints(path: &Path) -> Result<Vec<i64>> {
    let file = crate::data::npy::open(path)?;
    Array1::<i64>::read_npy(file)
        .map(|a| a.to_vec())
        .or_else(|_| crate::data::npy::read_labels(path))
}

/// Per-row metadata written beside the vectors.
pub struct RowMeta<'a> {
    pub index: &'a [usize],
    pub label: Option<Vec<String>>,
    pub cluster: Option<&'a [usize]>,
    /// User tags: one column per tag, `tag:<name>`, 1 for the rows it holds and 0 elsewhere.
    pub tags: &'a [(String, Vec<bool>)],
    /// Where each row's item came from (`Dataset::item_source`), written as `source`.
    pub source: Option<&'a [String]>,
}

fn meta_columns(meta: &RowMeta, ids: Option<&[String]>) -> Vec<String> {
    let mut cols = vec!["index".to_string()];
    if meta.source.is_some() {
        cols.push("source".into());
    }
    if ids.is_some() {
        cols.push("id".into());
    }
    if meta.label.is_some() {
        cols.push("label".into());
    }
    if meta.cluster.is_some() {
        cols.push("cluster".into());
    }
    cols.extend(meta.tags.iter().map(|(name, _)| format!("tag:{}", name.replace(['\t', '\n', '\r'], " "))));
    cols
}

fn meta_fields(meta: &RowMeta, ids: Option<&[String]>, i: usize) -> Vec<String> {
    let mut f = vec![meta.index[i].to_string()];
    if let Some(s) = meta.source {
        f.push(s[i].replace(['\t', '\n'], " "));
    }
    if let Some(ids) = ids {
        f.push(ids[i].replace(['\t', '\n'], " "));
    }
    if let Some(l) = &meta.label {
        f.push(l[i].replace(['\t', '\n'], " "));
    }
    if let Some(c) = meta.cluster {
        f.push(c[i].to_string());
    }
    f.extend(meta.tags.iter().map(|(_, member)| if member[i] { "1" } else { "0" }.to_string()));
    f
}

/// One `tag-<name>.npy` per tag under `dir` (int64, 1 for the rows it holds, 0 elsewhere);
/// characters a file name should not hold become `_`. Returns the files written.
pub fn write_tag_npys(dir: &Path, tags: &[(String, Vec<bool>)]) -> Result<Vec<std::path::PathBuf>> {
    let mut written: Vec<std::path::PathBuf> = Vec::new();
    for (name, member) in tags {
        let safe: String = name.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        let mut path = dir.join(format!("tag-{safe}.npy"));
        // Two names that differ only in replaced characters still get a file each.
        let mut n = 2;
        while written.contains(&path) {
            path = dir.join(format!("tag-{safe}-{n}.npy"));
            n += 1;
        }
        write_npy_ints(&path, &member.iter().map(|&m| i64::from(m)).collect::<Vec<_>>())?;
        written.push(path);
    }
    Ok(written)
}

/// The rows' ids, one per row, checked against the number of rows.
fn checked_ids<'a>(path: &Path, m: &Matrix, ids: Option<&'a [String]>) -> Result<Option<&'a [String]>> {
    match ids {
        Some(ids) if ids.len() != m.rows => Err(PretextError::bad_file(path, format!("{} ids for {} rows", ids.len(), m.rows))),
        ids => Ok(ids),
    }
}

/// CSV with the metadata columns first, then e0..e{d-1}.
pub fn write_csv(path: &Path, m: &Matrix, meta: &RowMeta) -> Result<()> {
    write_csv_with_ids(path, m, meta, None)
}

/// [`write_csv`] with an `id` column after `source`: each row's value of the dataset's id
/// column (`Dataset::ids_of`).
pub fn write_csv_with_ids(path: &Path, m: &Matrix, meta: &RowMeta, ids: Option<&[String]>) -> Result<()> {
    let ids = checked_ids(path, m, ids)?;
    let mut w = csv::Writer::from_writer(create(path)?);
    let mut header: Vec<String> = meta_columns(meta, ids).iter().map(|s| s.to_string()).collect();
    header.extend((0..m.cols).map(|j| format!("e{j}")));
    let err = |e: csv::Error| PretextError::bad_file(path, format!("cannot write CSV ({e})"));
    w.write_record(&header).map_err(err)?;
    for i in 0..m.rows {
        let mut rec = meta_fields(meta, ids, i);
        rec.extend(m.row(i).iter().map(|v| v.to_string()));
        w.write_record(&rec).map_err(err)?;
    }
    w.flush().map_err(|e| PretextError::io(path, e))
}

/// The pair TensorBoard's Embedding Projector (projector.tensorflow.org "Load") reads:
/// `vectors.tsv` (one tab-separated vector per line, no header) and `metadata.tsv` (a header
/// row, then one row per vector).
pub fn write_projector_tsv(dir: &Path, m: &Matrix, meta: &RowMeta) -> Result<()> {
    write_projector_tsv_with_ids(dir, m, meta, None)
}

/// [`write_projector_tsv`] with an `id` column in `metadata.tsv` after `source`.
pub fn write_projector_tsv_with_ids(dir: &Path, m: &Matrix, meta: &RowMeta, ids: Option<&[String]>) -> Result<()> {
    let ids = checked_ids(&dir.join("metadata.tsv"), m, ids)?;
    std::fs::create_dir_all(dir).map_err(|e| PretextError::io(dir, e))?;
    let vectors = dir.join("vectors.tsv");
    let mut w = create(&vectors)?;
    for i in 0..m.rows {
        let line: Vec<String> = m.row(i).iter().map(|v| v.to_string()).collect();
        writeln!(w, "{}", line.join("\t")).map_err(|e| PretextError::io(&vectors, e))?;
    }
    w.flush().map_err(|e| PretextError::io(&vectors, e))?;
    let metadata = dir.join("metadata.tsv");
    let mut w = create(&metadata)?;
    let io = |e| PretextError::io(&metadata, e);
    writeln!(w, "{}", meta_columns(meta, ids).join("\t")).map_err(io)?;
    for i in 0..m.rows {
        writeln!(w, "{}", meta_fields(meta, ids, i).join("\t")).map_err(io)?;
    }
    w.flush().map_err(io)
}
