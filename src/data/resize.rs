//! Held image datasets brought to the side an encoder takes (`--image-size`): each channel
//! plane resampled once at load with a triangle (bilinear, antialiased when shrinking)
//! filter, as image folders are at decode. Images already at that side are left as they are.

use rayon::prelude::*;

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
    if ds.is_streamed() {
        return Err(PretextError::BadData(format!(
            "a dataset streamed from disk is read at its own size ({width}×{height}); to resize it to {side} px, hold it in memory (--stream never)"
        )));
    }
    for split in [&mut ds.train, &mut ds.test] {
        resize_split(split, channels, (height, width), side);
    }
    ds.modality = Modality::Image { channels, height: side, width: side };
    ds.notes.push(format!("images resized from {width}×{height} to {side}×{side} at load"));
    Ok(ds)
}

fn resize_split(split: &mut Split, channels: usize, (height, width): (usize, usize), side: usize) {
    let (from, to) = (channels * height * width, channels * side * side);
    let mut out = vec![0f32; split.len * to];
    out.par_chunks_mut(to).zip(split.x.par_chunks(from)).for_each(|(dst, src)| {
        for (d, s) in dst.chunks_mut(side * side).zip(src.chunks(height * width)) {
            let plane = image::ImageBuffer::<image::Luma<f32>, Vec<f32>>::from_raw(width as u32, height as u32, s.to_vec());
            if let Some(plane) = plane {
                let resized = image::imageops::resize(&plane, side as u32, side as u32, image::imageops::FilterType::Triangle);
                d.copy_from_slice(resized.as_raw());
            }
        }
    });
    split.x = out;
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
