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

/// The colour of an unselected point while a selection exists: same hue, mostly faded.
pub fn dimmed(c: Color32) -> Color32 {
    c.gamma_multiply(0.18)
}
