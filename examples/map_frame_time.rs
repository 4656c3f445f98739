//! Frame time of the app with N points on the map, headless (egui_kittest, no GPU): the CPU
//! cost per frame of the UI including the map mesh, when the mesh is reused (still view),
//! rebuilt (animation between snapshots) and while hovering (nearest-point search).
//!
//! `cargo run --release --example map_frame_time -- /usr/share/datasets/fashion-mnist 70000`

use std::time::Instant;

use egui_kittest::Harness;
use pretext::app::settings::Settings;
use pretext::app::PretextApp;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().map(std::path::PathBuf::from).unwrap_or_else(pretext::data::load::sample_data_dir);
    let items: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let mut settings = Settings::default();
    settings.train.map_items = items;
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .with_step_dt(1.0 / 60.0)
        .build_eframe(|cc| PretextApp::with_settings(cc.egui_ctx.clone(), settings, Some(path)));
    let t = Instant::now();
    while h.state().data.is_none() || h.state().busy() {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(h.state().shell.errors.is_empty(), "{:?}", h.state().shell.errors);
    }
    println!("loaded {} map points in {:.1} s", h.state().map.view.len(), t.elapsed().as_secs_f32());
    for _ in 0..5 {
        h.step();
    }
    let frames = |h: &mut Harness<'_, PretextApp>, label: &str, n: usize, before: &mut dyn FnMut(&mut Harness<'_, PretextApp>, usize)| {
        let mut times = Vec::new();
        let mut mesh = Vec::new();
        for i in 0..n {
            before(h, i);
            let t = Instant::now();
            h.step();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            mesh.push(h.state().map.view.last_build_ms as f64);
            if i == n - 1 {
                println!("  last frame: {} points in the mesh, map time {:.3} s, animating {}", h.state().map.view.last_drawn, h.state().map.view.time(), h.state().map.view.is_animating());
            }
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / n as f64;
        println!(
            "{label:<28} frames {n:>3}  mean {mean:6.2} ms  median {:6.2} ms  p95 {:6.2} ms  (mesh build {:5.2} ms)",
            times[n / 2],
            times[n * 95 / 100],
            mesh.iter().sum::<f64>() / n as f64
        );
    };
    frames(&mut h, "still (cached mesh)", 60, &mut |_, _| {});
    frames(&mut h, "animating (mesh rebuilt)", 60, &mut |h, i| {
        if i % 50 == 0 {
            // A new "snapshot": the current layout rotated, animated from where points are.
            let layout: Vec<[f32; 2]> = h.state().map.view.target().iter().map(|p| [-p[1], p[0]]).collect();
            let now = h.state().map.view.time();
            h.state_mut().map.view.set_layout(layout, true, now);
        }
    });
    frames(&mut h, "panning (mesh rebuilt)", 60, &mut |h, _| {
        h.state_mut().map.view.view.center[0] += 0.002;
    });
    frames(&mut h, "hovering (nearest search)", 60, &mut |h, i| {
        h.hover_at(egui::pos2(500.0 + (i % 30) as f32 * 10.0, 400.0 + (i / 30) as f32 * 10.0));
    });
}
