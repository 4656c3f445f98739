//! Textures of dataset items, made on first use and kept until the dataset changes.

use std::collections::HashMap;

use egui::{ColorImage, TextureHandle, TextureOptions};

use crate::data::{Dataset, Modality};

/// Beyond this many textures the cache starts over (a long session of hovering would
/// otherwise keep every item on the GPU).
const MAX_TEXTURES: usize = 4_096;

#[derive(Default)]
pub struct Thumbs {
    items: HashMap<usize, TextureHandle>,
    /// Textures of arbitrary pixel buffers (augmented views, query images), by name.
    named: HashMap<String, TextureHandle>,
}

/// An item as an egui image: pixels for images, a line plot for series; `None` for tables.
pub fn to_color_image(modality: &Modality, pixels: &[f32]) -> Option<ColorImage> {
    if let Modality::Series { channels, length } = modality {
        return crate::app::sparkline::series_image(pixels, *channels, *length);
    }
    let Modality::Image { channels, height, width } = modality else { return None };
    let (c, h, w) = (*channels, *height, *width);
    if pixels.len() < c * h * w || c == 0 {
        return None;
    }
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let plane = h * w;
    Some(if c == 1 {
        ColorImage::from_gray_iter([w, h], pixels[..plane].iter().map(|&v| byte(v)))
    } else {
        let rgb: Vec<u8> = (0..plane).flat_map(|i| [0, 1, 2].map(|k| byte(pixels[k.min(c - 1) * plane + i]))).collect();
        ColorImage::from_rgb([w, h], &rgb)
    })
}

/// Pixels are shown as pixels; line plots are smoothed when scaled down.
fn texture_options(modality: &Modality) -> TextureOptions {
    match modality {
        Modality::Series { .. } => TextureOptions::LINEAR,
        Modality::Image { .. } | Modality::Table { .. } | Modality::Text { .. } | Modality::Embedding { .. } => TextureOptions::NEAREST,
    }
}

/// Whether the items have a picture (image or line plot, or the image file a table of
/// embeddings names).
pub fn has_thumbnails(ds: &Dataset) -> bool {
    matches!(ds.modality, Modality::Image { .. } | Modality::Series { .. }) || !ds.train.images.is_empty()
}

/// Side of the thumbnail made from an embedding's image file.
const FILE_THUMB_SIDE: usize = 64;

/// The image file an embedding's row names, decoded small (`None` when it does not decode).
fn file_thumbnail(path: &std::path::Path) -> Option<ColorImage> {
    let modality = Modality::Image { channels: 3, height: FILE_THUMB_SIDE, width: FILE_THUMB_SIDE };
    let pixels = crate::data::image_folder::decode_image(path, FILE_THUMB_SIDE, 3).ok()?;
    to_color_image(&modality, &pixels)
}

impl Thumbs {
    pub fn clear(&mut self) {
        self.items.clear();
        self.named.clear();
    }

    pub fn item(&mut self, ctx: &egui::Context, ds: &Dataset, index: usize) -> Option<TextureHandle> {
        if let Some(t) = self.items.get(&index) {
            return Some(t.clone());
        }
        if index >= ds.len() {
            return None;
        }
        let image = match ds.global_image(index) {
            Some(file) => file_thumbnail(file)?,
            None => to_color_image(&ds.modality, &ds.global_item(index))?,
        };
        if self.items.len() >= MAX_TEXTURES {
            self.items.clear();
        }
        let tex = ctx.load_texture(format!("item-{index}"), image, texture_options(&ds.modality));
        self.items.insert(index, tex.clone());
        Some(tex)
    }

    pub fn named(&mut self, ctx: &egui::Context, name: &str, modality: &Modality, pixels: &[f32]) -> Option<TextureHandle> {
        if let Some(t) = self.named.get(name) {
            return Some(t.clone());
        }
        let tex = ctx.load_texture(name, to_color_image(modality, pixels)?, texture_options(modality));
        self.named.insert(name.to_string(), tex.clone());
        Some(tex)
    }

    pub fn forget_named(&mut self, prefix: &str) {
        self.named.retain(|k, _| !k.starts_with(prefix));
    }
}
