//! Helpers the GUI test binaries share: the app in a kittest harness on small settings, and
//! stepping frames until a condition holds (rerun's `step_until` pattern).
#![allow(dead_code)] // each test binary uses a subset

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use pretext::app::settings::Settings;
use pretext::app::PretextApp;
use pretext::ssl::TrainConfig;

/// Map rows for the tests: small so that loading, projection and snapshots stay fast.
pub const MAP_ITEMS: usize = 300;

pub fn tiny_settings() -> Settings {
    let mut s = Settings::default();
    s.train = TrainConfig {
        width: 8,
        proj_dim: 16,
        batch_size: 32,
        // 8,000 train items / 32 = 250 steps per epoch: 0.016 epochs is 4 steps.
        epochs: 0.016,
        eval_every: 2,
        map_items: MAP_ITEMS,
        ..TrainConfig::default()
    };
    s.map_whole_dataset = false;
    s
}

pub fn harness() -> Harness<'static, PretextApp> {
    harness_on(tiny_settings(), None)
}

pub fn harness_on(settings: Settings, data: Option<std::path::PathBuf>) -> Harness<'static, PretextApp> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .with_max_steps(50_000)
        .build_eframe(move |cc| PretextApp::with_settings(cc.egui_ctx.clone(), settings, data))
}

/// Steps frames until `done` holds; fails naming `what` if it never does (a hang guard,
/// far above the time anything here should take).
pub fn step_until(h: &mut Harness<'static, PretextApp>, what: &str, done: impl Fn(&PretextApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        let app = h.state();
        assert!(
            start.elapsed() < Duration::from_secs(std::env::var("GUI_TEST_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(300)),
            "gave up waiting for {what}; status: {:?}, errors: {:?}, trainer: {}, busy: {}, step {}/{} {:?}",
            app.shell.status,
            app.shell.errors,
            app.training.trainer.is_some(),
            app.busy(),
            app.training.log.step,
            app.training.log.total_steps,
            app.training.log.status
        );
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    // One more frame so the UI shows what the state now holds.
    h.step();
}

pub fn wait_for_sample(h: &mut Harness<'static, PretextApp>) {
    step_until(h, "the sample to load", |a| a.data.is_some() && a.map.view.len() == MAP_ITEMS && !a.busy());
    h.step();
}

pub fn click_at(h: &mut Harness<'static, PretextApp>, pos: egui::Pos2) {
    h.hover_at(pos);
    h.step();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton { pos, button: egui::PointerButton::Primary, pressed, modifiers: Default::default() });
        h.step();
    }
}


/// Runs k-means from the Clusters tab on the map shown and waits for its clusters.
pub fn run_kmeans(h: &mut Harness<'static, PretextApp>) {
    use egui_kittest::kittest::Queryable;
    h.get_by_label("Clusters").click();
    h.step();
    h.get_by_label("Run k-means").click();
    step_until(h, "k-means", |a| a.clusters.result.is_some() && !a.busy());
}
