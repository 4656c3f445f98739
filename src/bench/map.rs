//! `pretext bench map`: drawing a very large map. A synthetic layout of N points (ten
//! Gaussian clusters, coloured by cluster) is drawn in a headless egui frame loop while the
//! view pans and zooms and the pointer hovers (so hit-testing runs every frame), twice: with
//! the map's level of detail (one image when more than `raster::DENSE_POINTS` points are in
//! view) and with a quad per point (the reference, what the map drew before). Printed per
//! mode: time to the first frame and frame times (UI code and egui's tessellation on the
//! CPU; the GPU's painting is not part of it). While the view moves, the level-of-detail
//! map moves its last image and draws it anew every quarter second (and when the view
//! rests), so its mean is of mostly cheap frames and its maximum is a full redraw.

use std::time::Instant;

use egui::{Color32, Event, Pos2, RawInput, Rect};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::app::map::{colors, MapState, MapStyle};
use crate::app::settings::MapTool;

#[derive(clap::Args, Debug, Clone)]
pub struct MapBenchArgs {
    /// Points on the map.
    #[arg(long, default_value_t = 1_000_000)]
    pub points: usize,
    /// Timed frames per mode (half panning, half zooming).
    #[arg(long, default_value_t = 120)]
    pub frames: usize,
    /// Also build the neighbour index (HNSW, cosine, default parameters) over as many
    /// 32-d synthetic embeddings and time 1,000 queries against exact search.
    #[arg(long)]
    pub index: bool,
    /// Also lay out as many 32-d synthetic embeddings with UMAP and t-SNE (defaults, as the
    /// map runs them), timing each from the raw vectors to the finished 2-D layout.
    #[arg(long)]
    pub layouts: bool,
    /// Draw a real dataset's first map instead of the synthetic one: the window's own
    /// opening work (read, raw features, PCA layout, raw-feature kNN baseline) is timed, then
    /// its layout is drawn as above (every item on the map, coloured by label).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

const SCREEN: [f32; 2] = [1600.0, 1000.0];

/// Ten clusters at seeded places, one Gaussian blob each.
fn layout(n: usize) -> (Vec<[f32; 2]>, Vec<Color32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let centres: Vec<[f32; 2]> = (0..10).map(|_| [rng.random_range(-8.0..8.0), rng.random_range(-8.0..8.0)]).collect();
    let normal = Normal::new(0.0f32, 1.0).unwrap_or_else(|_| unreachable!("unit normal"));
    (0..n)
        .map(|i| {
            let c = i % 10;
            let p = [centres[c][0] + normal.sample(&mut rng), centres[c][1] + normal.sample(&mut rng)];
            (p, colors::category(c))
        })
        .unzip()
}

struct ModeResult {
    first_frame_ms: f64,
    frames: Vec<f32>,
    drawn_as_image: bool,
}

fn measure(points: &[[f32; 2]], colours: &[Color32], frames: usize, force_quads: bool) -> ModeResult {
    let ctx = egui::Context::default();
    let mut map = MapState::default();
    map.force_quads = force_quads;
    let visible = vec![true; points.len()];
    let selected = vec![false; points.len()];
    let style = MapStyle { colors: colours, visible: &visible, selected: &selected, any_selected: false, focus: None, marked: &[], point_size: 3.0, version: 0 };
    let screen = Rect::from_min_size(Pos2::ZERO, egui::vec2(SCREEN[0], SCREEN[1]));
    // A 60 Hz clock: the frames are built back to back but each is 1/60 s after the last,
    // as in a window repainting while the user drags.
    let frame = |map: &mut MapState, hover: Pos2, index: usize| -> f32 {
        let started = Instant::now();
        let time = Some(index as f64 / 60.0);
        let input = RawInput { screen_rect: Some(screen), events: vec![Event::PointerMoved(hover)], time, ..Default::default() };
        let output = ctx.run_ui(input, |ui| {
            map.show(ui, &style, MapTool::Pan);
        });
        let _ = ctx.tessellate(output.shapes, output.pixels_per_point);
        started.elapsed().as_secs_f32() * 1000.0
    };
    let started = Instant::now();
    map.set_layout(points.to_vec(), false, 0.0);
    frame(&mut map, screen.center(), 0);
    let first_frame_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut times = Vec::with_capacity(frames);
    for f in 0..frames {
        if f < frames / 2 {
            map.view.pan(egui::vec2(4.0, -3.0));
        } else {
            map.view.zoom_at(screen, screen.center(), 1.015);
        }
        let hover = Pos2::new(400.0 + (f % 50) as f32 * 10.0, 300.0 + (f % 30) as f32 * 10.0);
        times.push(frame(&mut map, hover, f + 1));
    }
    ModeResult { first_frame_ms, frames: times, drawn_as_image: map.drawn_as_image() }
}

/// `n` synthetic 32-d embeddings around 50 seeded centres.
fn synthetic_embeddings(n: usize) -> crate::Result<crate::analysis::Matrix> {
    let d = 32;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let centres: Vec<f32> = (0..50 * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let normal = Normal::new(0.0f32, 0.35).map_err(|e| crate::PretextError::Analysis(e.to_string()))?;
    let data: Vec<f32> = (0..n * d).map(|i| centres[(i / d % 50) * d + i % d] + normal.sample(&mut rng)).collect();
    Ok(crate::analysis::Matrix::new(data, n, d))
}

/// UMAP and t-SNE (default parameters) of `n` synthetic embeddings: seconds from the vectors
/// to the layout, and trustworthiness (k = 10) on a 5,000-row sample.
fn layout_figures(n: usize) -> crate::Result<String> {
    use crate::analysis::{quality, tsne, umap};
    let x = synthetic_embeddings(n)?;
    // Seeded and spread over every cluster (a stride that is a multiple of 50 would take
    // one cluster's points only, where no 2-D layout keeps the 32-d neighbours).
    let sample = crate::data::sample_items(n, 5000, 3);
    let original = x.select_rows(&sample);
    let mut out = String::new();
    let methods: [(&str, &dyn Fn() -> crate::Result<crate::analysis::Matrix>); 2] = [
        ("UMAP (15 neighbours, min_dist 0.1, default epochs)", &|| umap::umap(&x, &umap::UmapParams::default(), |_, _| true)),
        ("t-SNE (FFT, perplexity 30, openTSNE's schedule)", &|| tsne::tsne(&x, &tsne::TsneParams::default(), |_, _| true)),
    ];
    for (name, lay_out) in methods {
        let started = Instant::now();
        let layout = lay_out()?;
        let secs = started.elapsed().as_secs_f64();
        let trust = quality::trustworthiness(&original, &layout.select_rows(&sample), 10)?;
        out += &format!("{name} over {n} x {}: {secs:.1} s, trustworthiness {trust:.4} on 5,000 rows\n", x.cols);
    }
    Ok(out)
}

/// HNSW build and query times at `n` points, with recall@10 against exact search.
fn index_figures(n: usize) -> crate::Result<String> {
    use crate::analysis::index::{IndexParams, Metric, NeighborIndex};
    let x = synthetic_embeddings(n)?;
    let d = x.cols;
    let started = Instant::now();
    let index = NeighborIndex::build(&x, Metric::Cosine, IndexParams { exact_threshold: 0, ..IndexParams::default() })?;
    let build = started.elapsed().as_secs_f64();
    // Seeded and spread over every cluster (a stride that is a multiple of 50 would query
    // one cluster only).
    let queries = crate::data::sample_items(n, 1000, 5);
    let q = x.select_rows(&queries);
    let started = Instant::now();
    let found = index.search_batch(&q, 10);
    let search = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let exact = crate::analysis::neighbors::top_k_cosine(&x, &q, 10, None)?;
    let brute = started.elapsed().as_secs_f64();
    let hits: usize = found.iter().zip(&exact).map(|(f, e)| f.iter().filter(|(j, _)| e.iter().any(|n| n.index == *j)).count()).sum();
    Ok(format!(
        "HNSW over {n} x {d}: build {build:.1} s; 1,000 queries of k=10 in {:.1} ms ({:.0} queries/s), recall@10 {:.4}; exact search of the same queries {brute:.2} s\n",
        search * 1000.0,
        1000.0 / search.max(1e-9),
        hits as f64 / (10.0 * exact.len() as f64)
    ))
}

/// The window's work on opening `path` with every item on the map (as `work::load` does it
/// for the window): seconds taken, and the layout coloured by label.
fn first_map_of(path: &std::path::Path) -> Result<(f64, Vec<[f32; 2]>, Vec<Color32>), String> {
    let started = Instant::now();
    let read = crate::app::read_options::ReadOptions::default();
    let loaded = crate::app::work::load(path, &read, 0, usize::MAX, 0, crate::app::settings::Projection::Pca, std::sync::Arc::new(|_| {}))?;
    let secs = started.elapsed().as_secs_f64();
    let colours = loaded.map_indices.iter().map(|&i| colors::category(loaded.dataset.global_label(i).unwrap_or(0) as usize)).collect();
    Ok((secs, loaded.layout, colours))
}

pub fn run(args: &MapBenchArgs) -> String {
    let mut out = String::new();
    let (points, colours) = match &args.data {
        Some(path) => match first_map_of(path) {
            Ok((secs, points, colours)) => {
                out += &format!("{}: opened and laid out (read, raw features, PCA, kNN baseline) in {secs:.1} s\n", path.display());
                (points, colours)
            }
            Err(e) => return format!("{}: {e}\n", path.display()),
        },
        None => layout(args.points.max(1)),
    };
    out += &format!("{} points, {} timed frames per mode at {}x{} (pan, then zoom, pointer hovering)\n", points.len(), args.frames, SCREEN[0], SCREEN[1]);
    for (name, force_quads) in [("level of detail", false), ("a quad per point (reference)", true)] {
        let r = measure(&points, &colours, args.frames, force_quads);
        let mut sorted = r.frames.clone();
        sorted.sort_by(f32::total_cmp);
        let pick = |q: f32| sorted.get(((sorted.len() as f32 * q) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0.0);
        let mean = sorted.iter().sum::<f32>() / sorted.len().max(1) as f32;
        out += &format!(
            "{name:<30} first frame {:>7.1} ms | frame mean {:>6.1} ms, p95 {:>6.1} ms, max {:>6.1} ms ({:.0} fps at the mean) | last frame drawn as {}\n",
            r.first_frame_ms,
            mean,
            pick(0.95),
            pick(1.0),
            1000.0 / mean.max(1e-3),
            if r.drawn_as_image { "an image" } else { "quads" }
        );
    }
    if args.index {
        out += &index_figures(args.points.max(1000)).unwrap_or_else(|e| format!("index: {e}\n"));
    }
    if args.layouts {
        out += &layout_figures(args.points.max(1000)).unwrap_or_else(|e| format!("layouts: {e}\n"));
    }
    out
}
