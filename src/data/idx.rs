//! IDX files (the MNIST / Fashion-MNIST format, LeCun et al.): a big-endian header with a
//! type code and dimensions, then raw values. Read plain or gzip'd.

use std::io::Read;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use crate::data::stream::{Encoding, FileRows, RowSource, StreamChoice, StreamedRows};
use crate::data::{Dataset, Modality, Split};
use crate::error::{PretextError, Result};

const UBYTE: u8 = 0x08;

/// An IDX array of unsigned bytes with its dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads a whole IDX file, decompressing it when it starts with the gzip magic bytes.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let raw = std::fs::read(path).map_err(|e| PretextError::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| PretextError::bad_file(path, format!("not a valid gzip stream ({e})")))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes).map_err(|reason| PretextError::bad_file(path, reason))
}

/// Parses IDX bytes; the error is a sentence about what is wrong.
pub fn parse_idx(bytes: &[u8]) -> std::result::Result<IdxArray, String> {
    let (dims, header) = parse_header(bytes)?;
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or("IDX dimensions overflow")?;
    let body = &bytes[header..];
    if body.len() != expected {
        return Err(format!(
            "IDX header promises {expected} values ({dims:?}) but the file holds {}",
            body.len()
        ));
    }
    Ok(IdxArray { dims, data: body.to_vec() })
}

/// The dimensions an IDX header of unsigned bytes declares, and the length of the header.
fn parse_header(bytes: &[u8]) -> std::result::Result<(Vec<usize>, usize), String> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err("not an IDX file (bad magic number)".into());
    }
    if bytes[2] != UBYTE {
        return Err(format!("IDX value type 0x{:02x} is not supported (only unsigned bytes)", bytes[2]));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err("IDX header declares zero dimensions".into());
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err("IDX header is truncated".into());
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            let b = &bytes[4 + 4 * i..8 + 4 * i];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    Ok((dims, header))
}

/// What the start of an IDX file says about reading it item by item.
enum Header {
    /// Uncompressed unsigned bytes: the dimensions and where the data starts.
    Plain(Vec<usize>, u64),
    /// gzip'd: it cannot be read item by item.
    Gzip,
    /// Anything else: left to the full reader to report.
    Other,
}

/// Reads the header of an IDX file alone.
fn header(path: &Path) -> Result<Header> {
    let mut head = Vec::with_capacity(4 + 4 * 255);
    let file = std::fs::File::open(path).map_err(|e| PretextError::io(path, e))?;
    file.take(4 + 4 * 255).read_to_end(&mut head).map_err(|e| PretextError::io(path, e))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Header::Gzip);
    }
    Ok(match parse_header(&head) {
        Ok((dims, header)) => Header::Plain(dims, header as u64),
        Err(_) => Header::Other,
    })
}

fn not_images(path: &Path, dims: usize) -> PretextError {
    PretextError::bad_file(path, format!("expected an N×H×W image array, found {dims} dimensions"))
}

/// The images of `images` read from disk as they are used, when `stream` asks for it and the
/// file is not gzip'd (then a note says why it is held in memory instead).
fn streamed_images(images: &Path, stream: StreamChoice, notes: &mut Vec<String>) -> Result<Option<(FileRows, usize, usize)>> {
    if stream == StreamChoice::Never {
        return Ok(None);
    }
    let (dims, data_start) = match header(images)? {
        Header::Plain(dims, data_start) => (dims, data_start),
        Header::Gzip => {
            if stream == StreamChoice::Always {
                notes.push(format!("{} is gzip'd, so it is held in memory: gunzip it to read its images from disk as they are used", images.display()));
            }
            return Ok(None);
        }
        Header::Other => return Ok(None),
    };
    let &[n, h, w] = dims.as_slice() else { return Err(not_images(images, dims.len())) };
    let bytes = [n, h, w, 4].iter().fold(1u64, |acc, &v| acc.saturating_mul(v as u64));
    if !stream.streams(bytes) {
        return Ok(None);
    }
    let Some(plane) = h.checked_mul(w) else { return Ok(None) };
    Ok(Some((FileRows::open(images, data_start, n, plane, Encoding::PixelU8)?, h, w)))
}

enum Pixels {
    InMemory(Vec<f32>),
    OnDisk(FileRows),
}

/// Images (N×H×W) and optional labels (N) as one split, pixels scaled to [0, 1]; read from
/// disk as they are used when `stream` says so (notes say when that could not be).
pub fn read_split(images: &Path, labels: Option<&Path>, stream: StreamChoice, notes: &mut Vec<String>) -> Result<(Split, usize, usize)> {
    let (pixels, n, h, w) = match streamed_images(images, stream, notes)? {
        Some((rows, h, w)) => {
            let n = rows.rows();
            (Pixels::OnDisk(rows), n, h, w)
        }
        None => {
            let img = read_idx(images)?;
            let &[n, h, w] = img.dims.as_slice() else { return Err(not_images(images, img.dims.len())) };
            (Pixels::InMemory(img.data.iter().map(|&v| v as f32 / 255.0).collect()), n, h, w)
        }
    };
    let labels = match labels {
        Some(path) => {
            let lab = read_idx(path)?;
            if lab.dims != [n] {
                return Err(PretextError::bad_file(
                    path,
                    format!("expected {n} labels to match the images, found shape {:?}", lab.dims),
                ));
            }
            Some(lab.data.iter().map(|&v| v as u32).collect())
        }
        None => None,
    };
    let split = match pixels {
        Pixels::InMemory(x) => {
            let file = images.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            Split { x, labels, len: n, sources: (0..n).map(|r| format!("{file}:row:{r}")).collect(), ..Split::default() }
        }
        Pixels::OnDisk(rows) => Split::streamed(StreamedRows::new(Arc::new(rows), (0..n).collect()), labels),
    };
    Ok((split, h, w))
}

/// The four files of an MNIST-style folder, each found with or without `.gz`.
struct IdxFolder {
    train: Option<(PathBuf, Option<PathBuf>)>,
    test: Option<(PathBuf, Option<PathBuf>)>,
}

fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.gz"), stem.to_string()].into_iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

fn scan(dir: &Path) -> IdxFolder {
    let pair = |prefix: &str| {
        find(dir, &format!("{prefix}-images-idx3-ubyte"))
            .map(|img| (img, find(dir, &format!("{prefix}-labels-idx1-ubyte"))))
    };
    IdxFolder { train: pair("train"), test: pair("t10k") }
}

/// True when `dir` holds MNIST-style IDX files.
pub fn is_idx_folder(dir: &Path) -> bool {
    let f = scan(dir);
    f.train.is_some() || f.test.is_some()
}

/// Class names of Fashion-MNIST (Xiao, Rasul & Vollgraf 2017); other IDX sets get digits.
pub const FASHION_CLASSES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// Loads an MNIST-style folder. With both splits present they are used as given; with one,
/// it is split with a seeded shuffle.
pub fn load_folder(dir: &Path, stream: StreamChoice, test_fraction: f32, seed: u64) -> Result<Dataset> {
    let files = scan(dir);
    let mut notes = Vec::new();
    let mut read = |pair: &Option<(PathBuf, Option<PathBuf>)>| -> Result<Option<(Split, usize, usize)>> {
        pair.as_ref().map(|(img, lab)| read_split(img, lab.as_deref(), stream, &mut notes)).transpose()
    };
    let (train, test) = (read(&files.train)?, read(&files.test)?);
    let mut ds = assemble(dir, train, test, test_fraction, seed)?;
    ds.notes.extend(notes);
    Ok(ds)
}

/// The dataset of an IDX folder's splits (one of them split in two when alone).
fn assemble(
    dir: &Path,
    train: Option<(Split, usize, usize)>,
    test: Option<(Split, usize, usize)>,
    test_fraction: f32,
    seed: u64,
) -> Result<Dataset> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "IDX".into());
    let fashion = name.to_ascii_lowercase().contains("fashion");
    let n_classes = [&train, &test]
        .iter()
        .filter_map(|s| s.as_ref().and_then(|(s, _, _)| s.labels.as_ref()))
        .flat_map(|l| l.iter().copied())
        .max()
        .map_or(0, |m| m as usize + 1);
    let class_names: Vec<String> = (0..n_classes)
        .map(|c| match (fashion, FASHION_CLASSES.get(c)) {
            (true, Some(n)) => n.to_string(),
            _ => c.to_string(),
        })
        .collect();
    let source = dir.display().to_string();
    match (train, test) {
        (Some((train, h, w)), Some((test, h2, w2))) => {
            if (h, w) != (h2, w2) {
                return Err(PretextError::bad_file(dir, format!("train images are {w}×{h} but test images {w2}×{h2}")));
            }
            if train.labels.is_some() != test.labels.is_some() {
                return Err(PretextError::bad_file(dir, "one split has a labels file and the other does not"));
            }
            let modality = Modality::Image { channels: 1, height: h, width: w };
            Ok(Dataset { name, source, modality, class_names, train, test, notes: Vec::new(), split_seed: None, columns: Default::default() })
        }
        (Some((pool, h, w)), None) | (None, Some((pool, h, w))) => {
            let modality = Modality::Image { channels: 1, height: h, width: w };
            Ok(Dataset::from_pool(name, source, modality, class_names, pool, test_fraction, seed))
        }
        (None, None) => Err(PretextError::bad_file(dir, "no train-/t10k-images-idx3-ubyte files in this folder")),
    }
}

/// Writes an unsigned-byte IDX array (used by tests and by exports to MNIST tools).
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8], gzip: bool) -> Result<()> {
    use std::io::Write;
    let mut bytes = vec![0, 0, UBYTE, dims.len() as u8];
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(data);
    let io = |e| PretextError::io(path, e);
    let file = std::fs::File::create(path).map_err(io)?;
    if gzip {
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        enc.write_all(&bytes).map_err(io)?;
        enc.finish().map_err(io)?;
    } else {
        let mut file = file;
        file.write_all(&bytes).map_err(io)?;
    }
    Ok(())
}
