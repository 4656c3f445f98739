//! Level of detail for large maps: when more points are in view than quads can be drawn
//! smoothly, the map is drawn as one image the size of the map, each point splatted into it
//! (its colour averaged with the others on the same pixel, opacity growing with their
//! count), as Embedding Atlas and datashader do. Zoomed in, few enough points are in view
//! again and each becomes its own quad; hover, click, box and lasso always work on the
//! points themselves.
//!
//! Why: egui copies a mesh into its frame output every frame. A million quads are 4 million
//! vertices (80 MB) copied and tessellated per frame, ~115 ms here; one image is a single
//! quad (`pretext bench map` prints both).

use egui::{Color32, ColorImage, Pos2, Rect};

use super::view::View;

/// Points in view above which the map is drawn as an image.
pub const DENSE_POINTS: usize = 150_000;

/// Reusable state of the splatting: the points in a spatial order and the accumulation
/// buffers. Visiting the points tile by tile turns the per-point writes from random memory
/// accesses (one cache miss each) into nearly sequential ones; keeping the buffers avoids
/// faulting in tens of megabytes every frame. Together they took a million-point frame from
/// ~150 ms to the figures `pretext bench map` prints.
#[derive(Default)]
pub struct Splatter {
    order: Vec<u32>,
    order_key: Option<(u64, usize)>,
    /// The points to draw in that order with their colour and whether they are shown
    /// undimmed (invisible ones left out), for one layout frame and style: reading them is
    /// then sequential too while the view pans and zooms.
    sorted: Vec<([f32; 2], Color32, bool)>,
    sorted_key: Option<(u64, u32, u64, usize)>,
    /// Per pixel: summed r, g, b and the count; a second plane for dimmed points.
    sums: Vec<[u32; 4]>,
}

/// Counts above this are fully opaque (the opacity table's length).
const ALPHA_TABLE: u32 = 4096;

/// Tiles per side of the spatial order.
const TILES: f32 = 128.0;

impl Splatter {
    /// Orders the points by the tile of the layout they fall in (once per layout).
    fn ensure_order(&mut self, points: &[[f32; 2]], layout_version: u64) {
        if self.order_key == Some((layout_version, points.len())) {
            return;
        }
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for p in points.iter().filter(|p| p[0].is_finite() && p[1].is_finite()) {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let tile = |p: &[f32; 2], a: usize| (((p[a] - lo[a]) / (hi[a] - lo[a]).max(1e-12) * TILES) as u32).min(TILES as u32);
        let mut keyed: Vec<(u32, u32)> = points.iter().enumerate().map(|(i, p)| (tile(p, 1) * (TILES as u32 + 1) + tile(p, 0), i as u32)).collect();
        keyed.sort_unstable();
        self.order = keyed.into_iter().map(|(_, i)| i).collect();
        self.order_key = Some((layout_version, points.len()));
    }

    /// Splats `points` (those with `visible`) into an image covering `rect`; the selected
    /// ones are drawn over the dimmed ones.
    pub fn splat(&mut self, points: &[[f32; 2]], frame: (u64, f32), view: &View, rect: Rect, style: &super::MapStyle) -> ColorImage {
        let (layout_version, t) = frame;
        self.ensure_order(points, layout_version);
        let key = (layout_version, t.to_bits(), style.version, points.len());
        if self.sorted_key != Some(key) {
            self.sorted.clear();
            for &i in &self.order {
                let i = i as usize;
                let (Some(p), true) = (points.get(i), style.visible.get(i).copied().unwrap_or(true)) else { continue };
                let shown = !style.any_selected || style.selected.get(i).copied().unwrap_or(false);
                self.sorted.push((*p, style.colors.get(i).copied().unwrap_or(Color32::GRAY), shown));
            }
            self.sorted_key = Some(key);
        }
        let (w, h) = (rect.width().ceil().max(1.0) as usize, rect.height().ceil().max(1.0) as usize);
        let planes = if style.any_selected { 2 } else { 1 };
        self.sums.clear();
        self.sums.resize(w * h * planes, [0; 4]);
        let side = (style.point_size * 0.5).round().max(1.0) as i64;
        let lo = -(side - 1) / 2;
        for &(p, c, shown) in &self.sorted {
            let s = view.to_screen(rect, p);
            let (x, y) = ((s.x - rect.min.x).floor() as i64, (s.y - rect.min.y).floor() as i64);
            if x < -side || y < -side || x >= w as i64 + side || y >= h as i64 + side {
                continue;
            }
            let plane = if shown { 0 } else { w * h };
            for py in (y + lo).max(0)..(y + lo + side).min(h as i64) {
                for px in (x + lo).max(0)..(x + lo + side).min(w as i64) {
                    let cell = &mut self.sums[plane + py as usize * w + px as usize];
                    cell[0] += u32::from(c.r());
                    cell[1] += u32::from(c.g());
                    cell[2] += u32::from(c.b());
                    cell[3] += 1;
                }
            }
        }
        let max_count = self.sums.iter().map(|c| c[3]).max().unwrap_or(0).max(1);
        // Opacity by count from a table (a logarithm per pixel cost more than the splatting).
        let scale = 1.0 / (1.0 + max_count as f32).ln();
        let alpha: Vec<f32> = (0..=ALPHA_TABLE.min(max_count)).map(|n| (0.55 + 0.45 * (1.0 + n as f32).ln() * scale).min(1.0)).collect();
        let pixels = (0..w * h)
            .map(|px| {
                // The shown plane wins; the dimmed one only where no shown point lands.
                let (c, dim) = match self.sums[px] {
                    c if c[3] > 0 || planes == 1 => (c, false),
                    _ => (self.sums[w * h + px], true),
                };
                if c[3] == 0 {
                    return Color32::TRANSPARENT;
                }
                let inv = 1.0 / c[3] as f32;
                let avg = |v: u32| (v as f32 * inv) as u8;
                let colour = Color32::from_rgb(avg(c[0]), avg(c[1]), avg(c[2]));
                let colour = if dim { super::colors::dimmed(colour) } else { colour };
                colour.gamma_multiply(alpha.get(c[3] as usize).copied().unwrap_or(1.0))
            })
            .collect();
        ColorImage::new([w, h], pixels)
    }
}

/// How many of `points` land inside `bounds` (stops counting at `limit`).
pub fn count_in_view(points: &[[f32; 2]], view: &View, rect: Rect, bounds: Rect, limit: usize) -> usize {
    let mut n = 0;
    for p in points {
        if bounds.contains(view.to_screen(rect, *p)) {
            n += 1;
            if n >= limit {
                break;
            }
        }
    }
    n
}

/// The full-texture UV rectangle.
pub fn full_uv() -> Rect {
    Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::map::{MapState, MapStyle};
    use crate::app::settings::MapTool;

    fn style<'a>(colors: &'a [Color32], visible: &'a [bool], selected: &'a [bool], any: bool) -> MapStyle<'a> {
        MapStyle { colors, visible, selected, any_selected: any, focus: None, marked: &[], point_size: 2.0, version: 0 }
    }

    #[test]
    fn each_point_lands_on_its_pixel_with_its_colour_and_selection_stays_on_top() {
        let rect = Rect::from_min_size(Pos2::ZERO, egui::vec2(100.0, 50.0));
        let view = View { center: [0.0, 0.0], scale: 10.0 };
        let points = [[0.0, 0.0], [2.0, 1.0], [2.0, 1.0], [-3.0, -2.0]];
        let colors = [Color32::RED, Color32::GREEN, Color32::BLUE, Color32::WHITE];
        let visible = [true, true, true, false];
        let pixel = |img: &ColorImage, p: [f32; 2]| {
            let s = view.to_screen(rect, p);
            img.pixels[s.y.floor() as usize * 100 + s.x.floor() as usize]
        };
        let mut splatter = Splatter::default();
        let img = splatter.splat(&points, (1, 1.0), &view, rect, &style(&colors, &visible, &[false; 4], false));
        assert_eq!(img.size, [100, 50]);
        let red = pixel(&img, points[0]);
        assert!(red.r() > 0 && red.g() == 0 && red.b() == 0, "{red:?}");
        // Two points on one pixel: their colours averaged, more opaque than a lone point.
        let mixed = pixel(&img, points[1]);
        assert!(mixed.g() > 0 && mixed.b() > 0 && mixed.r() == 0 && mixed.a() > red.a(), "{mixed:?} vs {red:?}");
        assert_eq!(pixel(&img, points[3]), Color32::TRANSPARENT, "a hidden point is not drawn");
        assert_eq!(img.pixels.iter().filter(|c| c.a() > 0).count(), 2, "nothing else is drawn");
        // With point 0 selected, the others are dimmed but still there.
        let img = splatter.splat(&points, (1, 1.0), &view, rect, &MapStyle { version: 1, ..style(&colors, &visible, &[true, false, false, false], true) });
        assert_eq!(pixel(&img, points[0]).r(), red.r());
        assert!(pixel(&img, points[1]).a() > 0 && pixel(&img, points[1]).a() < mixed.a());
    }

    #[test]
    fn a_dense_map_is_drawn_as_an_image_and_zoomed_in_as_points() {
        let n = DENSE_POINTS + 20_000;
        let points: Vec<[f32; 2]> = (0..n).map(|i| [(i % 1000) as f32 / 1000.0, (i / 1000) as f32 / 170.0]).collect();
        let colors = vec![Color32::RED; n];
        let (visible, selected) = (vec![true; n], vec![false; n]);
        let style = style(&colors, &visible, &selected, false);
        let ctx = egui::Context::default();
        let mut map = MapState::default();
        map.set_layout(points.clone(), false, 0.0);
        let screen = Rect::from_min_size(Pos2::ZERO, egui::vec2(800.0, 600.0));
        let frame = |map: &mut MapState, t: f64| {
            let input = egui::RawInput { screen_rect: Some(screen), time: Some(t), ..Default::default() };
            let _ = ctx.run_ui(input, |ui| {
                map.show(ui, &style, MapTool::Pan);
            });
        };
        frame(&mut map, 0.0);
        assert!(map.drawn_as_image(), "{n} points in view");
        // Hit-testing stays on the points themselves.
        let rect = map.last_rect.expect("drawn");
        let target = map.screen_pos(12_345).expect("on screen");
        let hit = map.nearest(rect, target, &visible).expect("a point under the pointer");
        assert!((map.screen_pos(hit).unwrap() - target).length() < 0.5);
        // Zoomed far in, few points are in view: quads again.
        map.view.scale *= 60.0;
        frame(&mut map, 1.0);
        frame(&mut map, 2.0);
        assert!(!map.drawn_as_image());
    }
}
