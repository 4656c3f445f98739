//! Image folders: `root/<class>/*.png|jpg|...` (label = folder name) or a flat folder of
//! images (no labels). Decoded with `image`, resized to a square model input; greyscale when
//! every file is stored as greyscale, RGB otherwise.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use std::sync::Arc;

use crate::data::stream::{CachedRows, RowSource, StreamChoice, StreamedRows};
use crate::data::{Dataset, Modality, Split};
use crate::error::{PretextError, Result};

const EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "gif", "webp"];

pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| PretextError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

/// Files of the folder with their class index; classes are the sub-folders in name order.
fn list(root: &Path) -> Result<(Vec<(PathBuf, Option<u32>)>, Vec<String>)> {
    list_by_class(root, is_image_file)
}

/// Files that pass `keep` in the class sub-folders of `root` (sub-folders without any are not
/// classes), or in `root` itself (unlabelled) when no sub-folder has one.
pub(crate) fn list_by_class(
    root: &Path,
    keep: impl Fn(&Path) -> bool,
) -> Result<(Vec<(PathBuf, Option<u32>)>, Vec<String>)> {
    let entries = sorted_entries(root)?;
    let class_dirs: Vec<&PathBuf> = entries.iter().filter(|p| p.is_dir()).collect();
    let mut files = Vec::new();
    let mut classes = Vec::new();
    for dir in &class_dirs {
        let images: Vec<PathBuf> = sorted_entries(dir)?.into_iter().filter(|p| keep(p)).collect();
        if images.is_empty() {
            continue;
        }
        let label = classes.len() as u32;
        classes.push(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        files.extend(images.into_iter().map(|p| (p, Some(label))));
    }
    if files.is_empty() {
        files = entries.into_iter().filter(|p| keep(p)).map(|p| (p, None)).collect();
    }
    Ok((files, classes))
}

/// Decodes one file to a square `size`×`size` image, channel-major, values in [0, 1].
pub fn decode_image(path: &Path, size: usize, channels: usize) -> Result<Vec<f32>> {
    let img = image::open(path).map_err(|e| PretextError::bad_file(path, format!("cannot decode image ({e})")))?;
    Ok(image_to_input(&img, size, channels))
}

/// Resizes and converts a decoded image into model input.
pub fn image_to_input(img: &image::DynamicImage, size: usize, channels: usize) -> Vec<f32> {
    // An image already at the size is not resampled.
    let resized = match (img.width() as usize, img.height() as usize) == (size, size) {
        true => img.clone(),
        false => img.resize_exact(size as u32, size as u32, image::imageops::FilterType::Triangle),
    };
    let plane = size * size;
    if channels == 1 {
        resized.to_luma8().as_raw().iter().map(|&v| v as f32 / 255.0).collect()
    } else {
        let rgb = resized.to_rgb8();
        let mut out = vec![0.0; 3 * plane];
        for (i, px) in rgb.pixels().enumerate() {
            for c in 0..3 {
                out[c * plane + i] = px[c] as f32 / 255.0;
            }
        }
        out
    }
}

/// Whether pixels of this colour type are stored as greyscale (with or without alpha).
fn is_grey(colour: image::ColorType) -> bool {
    matches!(colour, image::ColorType::L8 | image::ColorType::L16 | image::ColorType::La8 | image::ColorType::La16)
}

/// Decodes one file to model input in its own colour: 1 channel if it is stored as
/// greyscale, else 3.
fn decode_native(path: &Path, size: usize) -> Result<Vec<f32>> {
    let img = image::open(path).map_err(|e| PretextError::bad_file(path, format!("cannot decode image ({e})")))?;
    Ok(image_to_input(&img, size, if is_grey(img.color()) { 1 } else { 3 }))
}

/// Decoded images a streamed folder keeps at most (the most recently read ones).
pub const STREAM_CACHE_BYTES: usize = 256 << 20;

/// Files of a streamed folder whose headers decide its colour: one stored in colour among
/// them makes the set RGB (a folder decoded whole checks every file instead).
const COLOUR_SNIFF_FILES: usize = 256;

/// The files of a folder, each decoded to model input when it is read.
#[derive(Debug)]
pub struct ImageFiles {
    root: PathBuf,
    files: Vec<PathBuf>,
    size: usize,
    channels: usize,
}

impl RowSource for ImageFiles {
    fn rows(&self) -> usize {
        self.files.len()
    }

    fn row_len(&self) -> usize {
        self.channels * self.size * self.size
    }

    fn read_row(&self, row: usize, out: &mut [f32]) -> Result<()> {
        out.copy_from_slice(&decode_image(&self.files[row], self.size, self.channels)?);
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.root
    }
}

/// Whether a file's header says it is stored in colour (unreadable headers count as
/// greyscale here: the file's own read reports it).
fn stored_in_colour(path: &Path) -> bool {
    use image::ImageDecoder;
    let decoder = image::ImageReader::open(path).ok().and_then(|r| r.with_guessed_format().ok()).and_then(|r| r.into_decoder().ok());
    decoder.is_some_and(|d| !is_grey(d.color_type()))
}

/// The folder with its images read from disk as they are used, behind a bounded cache.
fn load_streamed(root: &Path, files: Vec<(PathBuf, Option<u32>)>, class_names: Vec<String>, size: usize, test_fraction: f32, seed: u64) -> Result<Dataset> {
    let colour = files.iter().step_by((files.len() / COLOUR_SNIFF_FILES).max(1)).take(COLOUR_SNIFF_FILES).any(|(p, _)| stored_in_colour(p));
    let channels = if colour { 3 } else { 1 };
    let labels: Vec<u32> = files.iter().map(|(_, l)| l.unwrap_or(0)).collect();
    let has_labels = !class_names.is_empty();
    let source = ImageFiles { root: root.to_path_buf(), files: files.into_iter().map(|(p, _)| p).collect(), size, channels };
    let n = source.rows();
    let pool = Split::streamed(StreamedRows::new(Arc::new(CachedRows::new(source, STREAM_CACHE_BYTES)), (0..n).collect()), has_labels.then_some(labels));
    let modality = Modality::Image { channels, height: size, width: size };
    let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "images".into());
    let mut ds = Dataset::from_pool(name, root.display().to_string(), modality, class_names, pool, test_fraction, seed);
    ds.notes.push(format!(
        "streamed from disk: each image is decoded when it is used ({} MB of decoded images cached); an unreadable file stops training with its name",
        STREAM_CACHE_BYTES >> 20
    ));
    Ok(ds)
}

/// Loads the folder. Unreadable files are skipped and counted in `notes`, or are an error
/// naming the file when `skip_unreadable` is false. A folder whose images would take more
/// than `stream` allows in memory is read from disk as it is used instead.
pub fn load_folder(
    root: &Path,
    size: usize,
    skip_unreadable: bool,
    stream: StreamChoice,
    test_fraction: f32,
    seed: u64,
    progress: &(dyn Fn(f32) + Sync),
) -> Result<Dataset> {
    let (files, class_names) = list(root)?;
    if files.is_empty() {
        return Err(PretextError::bad_file(root, "no images (png, jpg, bmp, gif, webp) in this folder or its sub-folders"));
    }
    // Sized as RGB: the colour is only known once files are read.
    if stream.streams((files.len() * 3 * size * size * 4) as u64) {
        return load_streamed(root, files, class_names, size, test_fraction, seed);
    }
    let done = std::sync::atomic::AtomicUsize::new(0);
    let decoded: Vec<(Result<Vec<f32>>, Option<u32>)> = files
        .par_iter()
        .map(|(path, label)| {
            let r = decode_native(path, size);
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n % 64 == 0 {
                progress(n as f32 / files.len() as f32);
            }
            (r, *label)
        })
        .collect();
    // Every decoded file is checked: one colour image makes the whole set RGB, and the
    // greyscale ones are then repeated over three channels (what an RGB conversion gives).
    let plane = size * size;
    let channels = if decoded.iter().all(|(r, _)| r.as_ref().map_or(true, |p| p.len() == plane)) { 1 } else { 3 };
    let mut x = Vec::with_capacity(files.len() * channels * plane);
    let mut labels = Vec::with_capacity(files.len());
    let mut skipped = Vec::new();
    let mut sources = Vec::with_capacity(files.len());
    for ((result, label), (path, _)) in decoded.into_iter().zip(&files) {
        match result {
            Ok(pixels) => {
                let copies = channels * plane / pixels.len();
                for _ in 0..copies {
                    x.extend_from_slice(&pixels);
                }
                labels.push(label.unwrap_or(0));
                sources.push(relative_source(root, path));
            }
            Err(e) if skip_unreadable => skipped.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    if labels.is_empty() {
        return Err(PretextError::bad_file(root, format!("none of the {} image files could be decoded", files.len())));
    }
    let has_labels = !class_names.is_empty();
    let modality = Modality::Image { channels, height: size, width: size };
    let mut pool = Split::new(x, has_labels.then_some(labels), modality.item_len());
    pool.sources = sources;
    let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "images".into());
    let mut ds = Dataset::from_pool(name, root.display().to_string(), modality, class_names, pool, test_fraction, seed);
    if !skipped.is_empty() {
        let first = skipped.first().cloned().unwrap_or_default();
        ds.notes.push(format!("skipped {} unreadable file(s), e.g. {first}", skipped.len()));
    }
    progress(1.0);
    Ok(ds)
}

/// A file's path relative to the dataset root, with `/` between folders on every system.
pub fn relative_source(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
