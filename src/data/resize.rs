//! Held image datasets brought to the side an encoder takes (`--image-size`): each channel
//! plane resampled once at load with a triangle (bilinear, antialiased when shrinking)
//! filter, as image folders are at decode. Images already at that side are left as they are.
//! Streamed from disk, each image is resampled as it is read instead (`ResizedRows`).

use std::sync::Arc;

use rayon::prelude::*;

use crate::data::stream::RowSource;

use crate::data::{Dataset, Modality, Split};
use crate::error::{PretextError, Result};

/// `ds` with every image at `side`×`side`; the same dataset when they already are.
pub fn resize_images(mut ds: Dataset, side: usize) -> Result<Dataset> {
    let Modality::Image { channels, height, width } = ds.modality else { return Ok(ds) };
    if (height, width) == (side, side) {
        return Ok(ds);
    }
    if side == 0 {
        return Err(PretextError::InvalidConfig("the image size must be positive".into()));
    }
    let streamed = ds.is_streamed();
    for split in [&mut ds.train, &mut ds.test] {
        match &split.stream {
            Some(stream) => {
                let source = Arc::new(ResizedRows { inner: stream.source().clone(), channels, height, width, side });
                split.stream = Some(stream.with_source(source));
            }
            None => resize_split(split, channels, (height, width), side),
        }
    }
    ds.modality = Modality::Image { channels, height: side, width: side };
    let when = if streamed { "as they are read" } else { "at load" };
    ds.notes.push(format!("images resized from {width}×{height} to {side}×{side} {when}"));
    Ok(ds)
}

fn resize_split(split: &mut Split, channels: usize, (height, width): (usize, usize), side: usize) {
    let (from, to) = (channels * height * width, channels * side * side);
    let mut out = vec![0f32; split.len * to];
    out.par_chunks_mut(to).zip(split.x.par_chunks(from)).for_each(|(dst, src)| resize_image(src, dst, (height, width), side));
    split.x = out;
}

/// One C×H×W image into C×side×side, each channel plane on its own.
fn resize_image(src: &[f32], dst: &mut [f32], (height, width): (usize, usize), side: usize) {
    for (d, s) in dst.chunks_mut(side * side).zip(src.chunks(height * width)) {
        let plane = image::ImageBuffer::<image::Luma<f32>, Vec<f32>>::from_raw(width as u32, height as u32, s.to_vec());
        if let Some(plane) = plane {
            let resized = image::imageops::resize(&plane, side as u32, side as u32, image::imageops::FilterType::Triangle);
            d.copy_from_slice(resized.as_raw());
        }
    }
}

/// A streamed file of images read at another side: each row resampled as it is read.
#[derive(Debug)]
struct ResizedRows {
    inner: Arc<dyn RowSource>,
    channels: usize,
    height: usize,
    width: usize,
    side: usize,
}

impl RowSource for ResizedRows {
    fn rows(&self) -> usize {
        self.inner.rows()
    }

    fn row_len(&self) -> usize {
        self.channels * self.side * self.side
    }

    fn read_row(&self, row: usize, out: &mut [f32]) -> Result<()> {
        let mut raw = vec![0f32; self.inner.row_len()];
        self.inner.read_row(row, &mut raw)?;
        resize_image(&raw, out, (self.height, self.width), self.side);
        Ok(())
    }

    fn path(&self) -> &std::path::Path {
        self.inner.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_resized_per_channel_and_kept_at_their_size() {
        let ds = crate::data::synthetic::shapes_dataset(2, 8, 1);
        let before = ds.train.x.clone();
        let same = resize_images(ds.clone(), 8).expect("same size");
        assert_eq!(same.train.x, before, "an image at the asked size is not resampled");
        let big = resize_images(ds, 16).expect("resized");
        assert_eq!(big.modality, Modality::Image { channels: 1, height: 16, width: 16 });
        assert_eq!(big.train.x.len(), big.train.len * 256);
        // A constant image stays constant; the mean brightness is kept.
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean(&big.train.x[..256]) - mean(&before[..64])).abs() < 0.02);
    }
}
