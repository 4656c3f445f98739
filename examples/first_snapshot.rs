//! Seconds from pressing Train (GUI defaults, bundled sample) to the first loss point and the
//! first snapshot on the map, headless. `cargo run --release --example first_snapshot`
use std::time::Instant;

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use pretext::app::settings::Settings;
use pretext::app::PretextApp;

fn main() {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .build_eframe(|cc| PretextApp::with_settings(cc.egui_ctx.clone(), Settings::default(), None));
    while h.state().data.is_none() || h.state().busy() {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.step();
    h.get_by_label("Train").click();
    let t = Instant::now();
    let (mut first_step, mut first_map) = (None, None);
    while first_map.is_none() {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
        let a = h.state();
        if first_step.is_none() && !a.training.log.loss.is_empty() {
            first_step = Some(t.elapsed().as_secs_f32());
        }
        if a.space.as_ref().is_some_and(|s| s.step.is_some()) && !a.busy() {
            first_map = Some(t.elapsed().as_secs_f32());
        }
    }
    println!("first loss point after {:.1} s, first snapshot on the map after {:.1} s (step {})", first_step.unwrap_or(0.0), first_map.unwrap_or(0.0), h.state().training.log.step);
}
