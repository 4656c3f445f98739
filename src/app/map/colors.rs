//! Point colours: a categorical palette for labels and clusters, and fixed colours for the
//! two-valued modes.

use egui::Color32;

/// Tableau 10, the categorical palette most plotting tools default to; later categories
/// continue around the hue circle at the golden angle so neighbours stay distinguishable.
const TAB10: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

pub fn category(i: usize) -> Color32 {
    if let Some([r, g, b]) = TAB10.get(i) {
        return Color32::from_rgb(*r, *g, *b);
    }
    let hue = (i as f32 * 0.618_034).fract();
    egui::ecolor::Hsva::new(hue, 0.65, 0.85, 1.0).into()
}

pub const CORRECT: Color32 = Color32::from_rgb(60, 170, 90);
pub const WRONG: Color32 = Color32::from_rgb(220, 60, 50);
pub const UNKNOWN: Color32 = Color32::from_rgb(140, 140, 140);
pub const TRAIN: Color32 = Color32::from_rgb(70, 130, 200);
pub const TEST: Color32 = Color32::from_rgb(240, 150, 40);

/// A score in [0, 1] on a sequential ramp (dark blue, teal, yellow: the ends of viridis), so
/// high values stand out on the dark map.
pub fn ramp(t: f32) -> Color32 {
    const STOPS: [[f32; 3]; 3] = [[68.0, 1.0, 84.0], [33.0, 145.0, 140.0], [253.0, 231.0, 37.0]];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 } * 2.0;
    let (i, f) = ((t as usize).min(1), t - (t as usize).min(1) as f32);
    let mix = |c: usize| (STOPS[i][c] + (STOPS[i + 1][c] - STOPS[i][c]) * f).round() as u8;
    Color32::from_rgb(mix(0), mix(1), mix(2))
}

/// The colour of an unselected point while a selection exists: same hue, mostly faded.
pub fn dimmed(c: Color32) -> Color32 {
    c.gamma_multiply(0.18)
}
