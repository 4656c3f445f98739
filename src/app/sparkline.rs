//! Time series drawn as small line plots into pixel buffers, so thumbnails, hover previews,
//! galleries and augmented views show series through the same texture cache as images.

use egui::{Color32, ColorImage};

/// Side of a sparkline texture in pixels (drawn at twice the usual display size and shown
/// with linear filtering, so lines stay smooth when scaled down).
pub const SIDE: usize = 128;

const BACKGROUND: Color32 = Color32::from_rgb(22, 26, 32);
const AXIS: Color32 = Color32::from_rgb(52, 58, 68);

/// Line colours of the channels (cycled beyond the sixth).
const CHANNEL_COLORS: [Color32; 6] = [
    Color32::from_rgb(120, 190, 255),
    Color32::from_rgb(255, 170, 90),
    Color32::from_rgb(140, 220, 140),
    Color32::from_rgb(240, 120, 150),
    Color32::from_rgb(200, 160, 255),
    Color32::from_rgb(230, 220, 120),
];

/// A C×T series (channel-major) as a `SIDE`×`SIDE` image: one line per channel over a shared
/// vertical range, a faint zero line.
pub fn series_image(values: &[f32], channels: usize, length: usize) -> Option<ColorImage> {
    if channels == 0 || length == 0 || values.len() < channels * length {
        return None;
    }
    let mut img = ColorImage::filled([SIDE, SIDE], BACKGROUND);
    let values = &values[..channels * length];
    let (lo, hi) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let span = (hi - lo).max(1e-6);
    let margin = 6.0;
    let usable = SIDE as f32 - 2.0 * margin;
    let y_of = |v: f32| margin + (1.0 - (v - lo) / span) * usable;
    if lo < 0.0 && hi > 0.0 {
        let y0 = y_of(0.0).round() as usize;
        for x in 0..SIDE {
            img[(x, y0.min(SIDE - 1))] = AXIS;
        }
    }
    let x_of = |t: usize| if length == 1 { SIDE as f32 / 2.0 } else { t as f32 / (length - 1) as f32 * (SIDE - 1) as f32 };
    for c in 0..channels {
        let color = CHANNEL_COLORS[c % CHANNEL_COLORS.len()];
        let channel = &values[c * length..(c + 1) * length];
        let points: Vec<(f32, f32)> = channel.iter().enumerate().map(|(t, &v)| (x_of(t), y_of(v))).collect();
        if points.len() == 1 {
            draw_segment(&mut img, points[0], points[0], color);
        }
        for w in points.windows(2) {
            draw_segment(&mut img, w[0], w[1], color);
        }
    }
    Some(img)
}

/// A line about two pixels thick: every pixel column the segment crosses is filled from its
/// lowest to its highest point there, widened by a pixel.
fn draw_segment(img: &mut ColorImage, (x0, y0): (f32, f32), (x1, y1): (f32, f32), color: Color32) {
    let (xa, xb) = (x0.min(x1), x0.max(x1));
    let first = xa.floor().max(0.0) as usize;
    let last = (xb.ceil() as usize).min(SIDE - 1);
    for x in first..=last {
        let (ta, tb) = if xb - xa < 1e-6 {
            (0.0, 1.0)
        } else {
            (((x as f32 - 0.5 - x0) / (x1 - x0)).clamp(0.0, 1.0), ((x as f32 + 0.5 - x0) / (x1 - x0)).clamp(0.0, 1.0))
        };
        let (ya, yb) = (y0 + (y1 - y0) * ta, y0 + (y1 - y0) * tb);
        let top = (ya.min(yb) - 0.75).floor().max(0.0) as usize;
        let bottom = ((ya.max(yb) + 0.75).ceil() as usize).min(SIDE - 1);
        for y in top..=bottom {
            img[(x, y)] = color;
        }
    }
}
