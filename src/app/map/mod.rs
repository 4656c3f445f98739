//! The embedding map: a 2D scatter of the map subset drawn as one cached mesh (one quad per
//! point), animated between aligned layouts, with pan/zoom, hover, click, box and lasso.
//!
//! Why not egui_plot `Points`: it rebuilds one circle shape per point every frame and
//! tessellates each; one pre-built quad mesh is reused as long as nothing changed and is
//! rebuilt in a few milliseconds when the view or the layout moves (see the frame-time notes
//! in the report).

pub mod colors;
pub mod raster;
pub mod room;
pub mod view;

use std::sync::Arc;

use egui::epaint::{Mesh, Vertex, WHITE_UV};
use egui::{Color32, Pos2, Rect, Sense, Shape, Stroke, Vec2};

use crate::app::settings::MapTool;
use view::{inside_polygon, View};

/// Seconds a layout takes to move to the next snapshot's.
const ANIMATION_SECS: f64 = 0.8;
/// Width kept free for the legend when fitting the view.
const LEGEND_MARGIN: f32 = 180.0;
/// Seconds a dense map's image may be moved with the view before it is drawn anew.
const RASTER_REFRESH: f64 = 0.25;
/// How close (pixels) a click must be to a point to select it.
const PICK_RADIUS: f32 = 10.0;

/// What the app tells the map about each point this frame.
pub struct MapStyle<'a> {
    pub colors: &'a [Color32],
    pub visible: &'a [bool],
    /// Points of the current selection; when any is set, the others are dimmed.
    pub selected: &'a [bool],
    pub any_selected: bool,
    /// The focused item (neighbours panel) and its neighbours, drawn with rings.
    pub focus: Option<usize>,
    pub marked: &'a [usize],
    pub point_size: f32,
    /// Changes whenever colours, visibility or selection change (part of the mesh cache key).
    pub version: u64,
}

#[derive(Default)]
pub struct MapOutput {
    /// `Some(Some(row))`: a point was clicked; `Some(None)`: empty space was clicked.
    pub clicked: Option<Option<usize>>,
    pub hovered: Option<usize>,
    /// Rows inside a finished box or lasso.
    pub selected: Option<Vec<usize>>,
    pub response: Option<egui::Response>,
}

enum Drag {
    Box(Pos2),
    Lasso(Vec<Pos2>),
}

#[derive(PartialEq, Clone, Copy)]
struct CacheKey {
    rect: Rect,
    view: View,
    layout_version: u64,
    t: f32,
    style_version: u64,
    point_size: f32,
    len: usize,
}

#[derive(Default)]
pub struct MapState {
    from: Vec<[f32; 2]>,
    to: Vec<[f32; 2]>,
    anim_start: f64,
    animating: bool,
    layout_version: u64,
    current: Vec<[f32; 2]>,
    current_t: f32,
    pub view: View,
    fit_pending: bool,
    drag: Option<Drag>,
    cache: Option<(CacheKey, Shape)>,
    /// The image a dense map is drawn as (see `raster`), reused from frame to frame.
    texture: Option<egui::TextureHandle>,
    splatter: raster::Splatter,
    dense: bool,
    /// UI time the dense map's image was last drawn, and the view of the frame before.
    raster_made: f64,
    previous_view: Option<View>,
    /// Always a quad per point, however many (the benchmark's reference).
    pub force_quads: bool,
    last_rect: Option<Rect>,
    /// Time the last mesh build took (for the frame-time measurement).
    pub last_build_ms: f32,
    /// Points in the last mesh built (those inside the view).
    pub last_drawn: usize,
    /// UI time of the last frame drawn.
    last_time: f64,
    /// The user has panned or zoomed: stop following the points.
    user_view: bool,
    fitted: Option<(u64, f32, Rect)>,
}

impl MapState {
    pub fn len(&self) -> usize {
        self.to.len()
    }

    pub fn is_empty(&self) -> bool {
        self.to.is_empty()
    }

    /// Grows by one with every new layout (caches of what is drawn from it compare it).
    pub fn layout_version(&self) -> u64 {
        self.layout_version
    }

    /// The layout the map is moving to (what new projections align against).
    pub fn target(&self) -> &[[f32; 2]] {
        &self.to
    }

    /// Replaces the layout. Same row count: animate from where the points are now.
    pub fn set_layout(&mut self, layout: Vec<[f32; 2]>, animate: bool, now: f64) {
        if !(animate && layout.len() == self.current.len() && !self.current.is_empty()) {
            self.stream_layout(layout);
            self.fit_pending = true;
            return;
        }
        self.layout_version += 1;
        self.from = std::mem::take(&mut self.current);
        self.anim_start = now;
        self.animating = true;
        self.current = self.from.clone();
        self.current_t = 0.0;
        self.to = layout;
    }

    /// Replaces the layout with an intermediate frame of a running projection: no animation,
    /// and the view keeps following the points unless the user has moved it.
    pub fn stream_layout(&mut self, layout: Vec<[f32; 2]>) {
        self.layout_version += 1;
        self.animating = false;
        self.from = layout.clone();
        self.current = layout.clone();
        self.current_t = 0.0;
        self.to = layout;
    }

    /// UI clock of the last frame (for starting an animation from outside a frame).
    pub fn time(&self) -> f64 {
        self.last_time
    }

    pub fn clear(&mut self) {
        *self = MapState::default();
    }

    pub fn is_animating(&self) -> bool {
        self.animating
    }

    pub fn reset_view(&mut self) {
        self.fit_pending = true;
        self.user_view = false;
    }

    fn advance(&mut self, now: f64) {
        if !self.animating {
            if self.current.len() != self.to.len() || self.current_t != 1.0 {
                self.current = self.to.clone();
                self.current_t = 1.0;
            }
            return;
        }
        let raw = ((now - self.anim_start) / ANIMATION_SECS).clamp(0.0, 1.0) as f32;
        let t = raw * raw * (3.0 - 2.0 * raw); // smoothstep: ease in and out
        self.current = self.from.iter().zip(&self.to).map(|(a, b)| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]).collect();
        self.current_t = t;
        if raw >= 1.0 {
            self.animating = false;
        }
    }

    /// Where row `row` is drawn on screen (last frame's rect and view), for tests and tooltips.
    pub fn screen_pos(&self, row: usize) -> Option<Pos2> {
        let rect = self.last_rect?;
        self.current.get(row).map(|p| self.view.to_screen(rect, *p))
    }

    pub fn nearest(&self, rect: Rect, pos: Pos2, visible: &[bool]) -> Option<usize> {
        let mut best = None;
        let mut best_d = PICK_RADIUS * PICK_RADIUS;
        for (i, p) in self.current.iter().enumerate() {
            if !visible.get(i).copied().unwrap_or(true) {
                continue;
            }
            let d = (self.view.to_screen(rect, *p) - pos).length_sq();
            if d < best_d {
                best_d = d;
                best = Some(i);
            }
        }
        best
    }

    pub fn show(&mut self, ui: &mut egui::Ui, style: &MapStyle, tool: MapTool) -> MapOutput {
        let now = ui.input(|i| i.time);
        self.last_time = now;
        self.advance(now);
        if self.animating {
            ui.ctx().request_repaint();
        }
        let size = ui.available_size().max(Vec2::splat(50.0));
        let (rect, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
        // Until the user pans or zooms, the view follows the points (they drift and rotate
        // as training reshapes the embedding); after that it stays where the user put it.
        let key = (self.layout_version, self.current_t, rect);
        if (self.fit_pending || (!self.user_view && self.fitted != Some(key))) && !self.current.is_empty() {
            // Leave the legend's strip on the right free, then shift the view to match.
            let inner = if rect.width() > 2.0 * LEGEND_MARGIN { rect.with_max_x(rect.max.x - LEGEND_MARGIN) } else { rect };
            self.view = View::fit(&self.current, inner);
            self.view.center[0] += (rect.center().x - inner.center().x) / self.view.scale;
            self.fit_pending = false;
            self.fitted = Some(key);
        }
        self.last_rect = Some(rect);
        let mut out = MapOutput::default();
        self.interact(ui, rect, &response, style, tool, &mut out);
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
        painter.add(self.points_shape(ui.ctx(), rect, style));
        self.paint_marks(&painter, rect, style);
        self.paint_drag(&painter, ui);
        out.response = Some(response);
        out
    }

    fn interact(&mut self, ui: &egui::Ui, rect: Rect, response: &egui::Response, style: &MapStyle, tool: MapTool, out: &mut MapOutput) {
        if response.hovered() {
            let (zoom, scroll) = ui.input(|i| (i.zoom_delta(), i.smooth_scroll_delta.y));
            let factor = zoom * (scroll / 200.0).exp();
            if factor != 1.0 {
                if let Some(p) = response.hover_pos() {
                    self.view.zoom_at(rect, p, factor);
                    self.user_view = true;
                }
            }
            if let Some(p) = response.hover_pos() {
                out.hovered = self.nearest(rect, p, style.visible);
            }
        }
        let shift = ui.input(|i| i.modifiers.shift);
        let tool = if shift && tool == MapTool::Pan { MapTool::Box } else { tool };
        if response.dragged_by(egui::PointerButton::Secondary) || response.dragged_by(egui::PointerButton::Middle) {
            self.view.pan(response.drag_delta());
            self.user_view = true;
        } else if response.drag_started_by(egui::PointerButton::Primary) {
            // Where the button went down, not where the drag was recognised a few pixels later.
            let start = ui.input(|i| i.pointer.press_origin()).or(response.interact_pointer_pos()).unwrap_or(rect.center());
            self.drag = match tool {
                MapTool::Pan => None,
                MapTool::Box => Some(Drag::Box(start)),
                MapTool::Lasso => Some(Drag::Lasso(vec![start])),
            };
        } else if response.dragged_by(egui::PointerButton::Primary) {
            match (&mut self.drag, response.interact_pointer_pos()) {
                (None, _) => {
                    self.view.pan(response.drag_delta());
                    self.user_view = true;
                }
                (Some(Drag::Lasso(points)), Some(p)) if points.last().is_none_or(|l| l.distance(p) > 2.0) => points.push(p),
                _ => {}
            }
        }
        if response.drag_stopped() {
            if let (Some(drag), Some(end)) = (self.drag.take(), response.interact_pointer_pos()) {
                let hit = |p: Pos2| match &drag {
                    Drag::Box(start) => Rect::from_two_pos(*start, end).contains(p),
                    Drag::Lasso(poly) => poly.len() > 2 && inside_polygon(poly, p),
                };
                out.selected = Some(
                    (0..self.current.len())
                        .filter(|&i| style.visible.get(i).copied().unwrap_or(true) && hit(self.view.to_screen(rect, self.current[i])))
                        .collect(),
                );
            }
        }
        if response.clicked() {
            out.clicked = Some(response.interact_pointer_pos().and_then(|p| self.nearest(rect, p, style.visible)));
        }
        if response.double_clicked() {
            self.reset_view();
        }
    }

    /// The points as one shape: a quad per point, or one image when more than
    /// `raster::DENSE_POINTS` are in view. Cached until the view, layout or style changes.
    fn points_shape(&mut self, ctx: &egui::Context, rect: Rect, style: &MapStyle) -> Shape {
        let key = CacheKey {
            rect,
            view: self.view,
            layout_version: self.layout_version,
            t: self.current_t,
            style_version: style.version,
            point_size: style.point_size,
            len: self.current.len(),
        };
        // Whether the view changed since the last frame (the user is panning or zooming).
        let moving = self.previous_view.replace(self.view).is_some_and(|v| v != self.view);
        if let Some((k, shape)) = &self.cache {
            if *k == key {
                return shape.clone();
            }
        }
        if let Some(moved) = self.moved_image(ctx, &key, moving) {
            return moved;
        }
        let started = std::time::Instant::now();
        let bounds = rect.expand(style.point_size / 2.0);
        let in_view = raster::count_in_view(&self.current, &self.view, rect, bounds, raster::DENSE_POINTS + 1);
        if in_view > raster::DENSE_POINTS && !self.force_quads {
            let image = self.splatter.splat(&self.current, (self.layout_version, self.current_t), &self.view, rect, style);
            let options = egui::TextureOptions::NEAREST;
            let texture = match &mut self.texture {
                Some(t) => {
                    t.set(image, options);
                    t.clone()
                }
                None => self.texture.insert(ctx.load_texture("map-points", image, options)).clone(),
            };
            let shape = Shape::image(texture.id(), rect, raster::full_uv(), Color32::WHITE);
            self.raster_made = self.last_time;
            self.last_build_ms = started.elapsed().as_secs_f32() * 1000.0;
            self.last_drawn = in_view;
            self.dense = true;
            self.cache = Some((key, shape.clone()));
            return shape;
        }
        self.dense = false;
        let mut mesh = Mesh::default();
        mesh.reserve_triangles(2 * self.current.len());
        mesh.reserve_vertices(4 * self.current.len());
        let half = style.point_size / 2.0;
        // Dimmed points first so the selection is drawn on top of them.
        for pass in [true, false] {
            for (i, p) in self.current.iter().enumerate() {
                let selected = style.selected.get(i).copied().unwrap_or(false);
                let dim = style.any_selected && !selected;
                if dim != pass || !style.visible.get(i).copied().unwrap_or(true) {
                    continue;
                }
                let s = self.view.to_screen(rect, *p);
                if !bounds.contains(s) {
                    continue;
                }
                let c = style.colors.get(i).copied().unwrap_or(Color32::GRAY);
                let c = if dim { colors::dimmed(c) } else { c };
                let idx = mesh.vertices.len() as u32;
                for (dx, dy) in [(-half, -half), (half, -half), (half, half), (-half, half)] {
                    mesh.vertices.push(Vertex { pos: Pos2::new(s.x + dx, s.y + dy), uv: WHITE_UV, color: c });
                }
                mesh.indices.extend_from_slice(&[idx, idx + 1, idx + 2, idx, idx + 2, idx + 3]);
            }
        }
        self.last_build_ms = started.elapsed().as_secs_f32() * 1000.0;
        self.last_drawn = mesh.vertices.len() / 4;
        let shape = Shape::mesh(Arc::new(mesh));
        self.cache = Some((key, shape.clone()));
        shape
    }

    /// While the view pans or zooms over a dense map, its last image moved and scaled with
    /// the view (a quad), instead of splatting every point each frame; drawn anew once the
    /// view rests for a frame or the image is older than `RASTER_REFRESH` seconds.
    fn moved_image(&self, ctx: &egui::Context, key: &CacheKey, moving: bool) -> Option<Shape> {
        let (drawn, _) = self.cache.as_ref().filter(|_| self.dense && !self.force_quads)?;
        let same_points = CacheKey { view: key.view, ..*drawn } == *key;
        if !same_points || !moving || self.last_time - self.raster_made > RASTER_REFRESH {
            return None;
        }
        let texture = self.texture.as_ref()?;
        let corner = |s: Pos2| self.view.to_screen(key.rect, drawn.view.to_layout(drawn.rect, s));
        let at = Rect::from_two_pos(corner(drawn.rect.min), corner(drawn.rect.max));
        // The sharp image follows when the view rests.
        ctx.request_repaint();
        Some(Shape::image(texture.id(), at, raster::full_uv(), Color32::WHITE))
    }

    /// Whether the last frame drew the points as an image (a dense map).
    pub fn drawn_as_image(&self) -> bool {
        self.dense
    }

    fn paint_marks(&self, painter: &egui::Painter, rect: Rect, style: &MapStyle) {
        let ring = style.point_size / 2.0 + 3.0;
        let fg = painter.ctx().global_style().visuals.strong_text_color();
        for &m in style.marked {
            if let Some(p) = self.current.get(m) {
                painter.circle_stroke(self.view.to_screen(rect, *p), ring, Stroke::new(1.5, fg.gamma_multiply(0.7)));
            }
        }
        if let Some(p) = style.focus.and_then(|f| self.current.get(f)) {
            let s = self.view.to_screen(rect, *p);
            painter.circle_stroke(s, ring + 2.0, Stroke::new(2.5, fg));
            painter.circle_stroke(s, ring + 4.5, Stroke::new(1.0, Color32::from_rgb(255, 200, 0)));
        }
    }

    fn paint_drag(&self, painter: &egui::Painter, ui: &egui::Ui) {
        let stroke = Stroke::new(1.5, ui.visuals().selection.stroke.color);
        let fill = ui.visuals().selection.bg_fill.gamma_multiply(0.15);
        let pointer = ui.input(|i| i.pointer.latest_pos());
        match (&self.drag, pointer) {
            (Some(Drag::Box(start)), Some(p)) => {
                painter.rect(Rect::from_two_pos(*start, p), 0.0, fill, stroke, egui::StrokeKind::Middle);
            }
            (Some(Drag::Lasso(points)), _) if points.len() > 1 => {
                painter.add(Shape::closed_line(points.clone(), stroke));
            }
            _ => {}
        }
    }
}
