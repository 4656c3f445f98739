//! GUI tests: the real app in egui_kittest, driven through its widgets and the map.
//! Training runs on its own thread, so tests step frames until a condition holds (rerun's
//! `step_until` pattern) instead of sleeping for a fixed time.

use std::time::{Duration, Instant};

use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use pretext::app::settings::Settings;
use pretext::app::PretextApp;
use pretext::ssl::TrainConfig;

/// Map rows for the tests: small so that loading, projection and snapshots stay fast.
const MAP_ITEMS: usize = 300;

fn tiny_settings() -> Settings {
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
    s
}

fn harness() -> Harness<'static, PretextApp> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .with_max_steps(50_000)
        .build_eframe(|cc| PretextApp::with_settings(cc.egui_ctx.clone(), tiny_settings(), None))
}

/// Steps frames until `done` holds; fails naming `what` if it never does (a hang guard,
/// far above the time anything here should take).
fn step_until(h: &mut Harness<'static, PretextApp>, what: &str, done: impl Fn(&PretextApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(start.elapsed() < Duration::from_secs(300), "gave up waiting for {what}; errors: {:?}", h.state().errors);
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    // One more frame so the UI shows what the state now holds.
    h.step();
}

fn wait_for_sample(h: &mut Harness<'static, PretextApp>) {
    step_until(h, "the sample to load", |a| a.data.is_some() && a.map.len() == MAP_ITEMS && !a.busy());
    h.step();
}

fn click_at(h: &mut Harness<'static, PretextApp>, pos: egui::Pos2) {
    h.hover_at(pos);
    h.step();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton { pos, button: egui::PointerButton::Primary, pressed, modifiers: Default::default() });
        h.step();
    }
}

#[test]
fn starts_with_the_sample_loaded_and_a_train_button() {
    let mut h = harness();
    wait_for_sample(&mut h);
    let app = h.state();
    let data = app.data.as_ref().expect("a dataset is open");
    assert_eq!(data.dataset.len(), 10_000);
    assert_eq!(data.map_indices.len(), MAP_ITEMS);
    // The map shows the raw-pixel PCA: every row has a finite position on screen.
    assert!((0..MAP_ITEMS).all(|r| app.map_point_screen_pos(r).is_some_and(|p| p.x.is_finite() && p.y.is_finite())));
    assert!(app.space.as_ref().is_some_and(|s| s.step.is_none()));
    h.get_by_label_contains("fashion-mnist · 10000 items");
    assert!(!h.get_by_label("Train").accesskit_node().is_disabled());
}

#[test]
fn pressing_train_produces_a_snapshot_and_moves_the_map() {
    let mut h = harness();
    wait_for_sample(&mut h);
    let raw_layout = h.state().map.target().to_vec();
    h.get_by_label("Train").click();
    step_until(&mut h, "a snapshot on the map", |a| {
        a.space.as_ref().is_some_and(|s| s.step.is_some()) && !a.busy() && !a.map.is_animating()
    });
    let app = h.state();
    assert!(app.errors.is_empty(), "errors: {:?}", app.errors);
    assert!(app.log.snapshots >= 1);
    assert!(!app.log.loss.is_empty(), "the loss chart has points");
    let space = app.space.as_ref().unwrap();
    assert_eq!(space.matrix.rows, MAP_ITEMS, "one embedding per map row");
    assert_eq!(app.map.len(), MAP_ITEMS);
    assert_ne!(app.map.target(), raw_layout.as_slice(), "the map shows the embedding, not the raw layout");
    assert!(app.map.target().iter().all(|p| p[0].is_finite() && p[1].is_finite()));
    h.get_by_label("Loss");
}

#[test]
fn clicking_a_point_fills_the_neighbours_panel_nearest_first() {
    let mut h = harness();
    wait_for_sample(&mut h);
    // A row that sits apart from the others on screen, so the click cannot land on another.
    let app = h.state();
    let pos: Vec<egui::Pos2> = (0..MAP_ITEMS).map(|r| app.map_point_screen_pos(r).unwrap()).collect();
    let isolation = |r: usize| pos.iter().enumerate().filter(|(j, _)| *j != r).map(|(_, p)| p.distance(pos[r])).fold(f32::INFINITY, f32::min);
    let row = (0..MAP_ITEMS).max_by(|&a, &b| isolation(a).total_cmp(&isolation(b))).unwrap();
    click_at(&mut h, pos[row]);
    step_until(&mut h, "neighbours of the clicked point", |a| a.neighbours.as_ref().is_some_and(|(_, r, _)| *r == row));
    let app = h.state();
    assert_eq!(app.focus, Some(row));
    // The expected nearest item, computed by the core directly in the space the map shows.
    let space = app.space.as_ref().unwrap();
    let expected = pretext::analysis::neighbors::neighbors_of(&space.matrix, row, 1).unwrap()[0].index;
    let expected_item = app.item_of_row(expected).unwrap();
    let selected_item = app.item_of_row(row).unwrap();
    h.get_by_label(&format!("Selected #{selected_item}"));
    h.get_by_label(&format!("1. #{expected_item}"));
    // Clicking that neighbour moves the focus to it.
    h.get_by_label(&format!("1. #{expected_item}")).click();
    step_until(&mut h, "focus on the neighbour", |a| a.focus == Some(expected) && a.neighbours.as_ref().is_some_and(|(_, r, _)| *r == expected));
    h.get_by_label(&format!("Selected #{expected_item}"));
}

#[test]
fn a_malformed_file_shows_an_error_and_the_app_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.npy");
    std::fs::write(&bad, b"this is not a numpy file").unwrap();
    let mut h = harness();
    wait_for_sample(&mut h);
    h.get_by_label("Dataset").click();
    h.step();
    h.state_mut().path_input = bad.display().to_string();
    h.get_by_label("Open").click();
    step_until(&mut h, "the load error", |a| !a.errors.is_empty() && !a.busy());
    h.get_by_label_contains("broken.npy");
    // The sample stays open and usable: it can still be trained.
    assert_eq!(h.state().data.as_ref().unwrap().dataset.len(), 10_000);
    h.get_by_label("Dismiss").click();
    h.step();
    assert!(h.state().errors.is_empty());
    h.get_by_label("Train").click();
    step_until(&mut h, "training after the error", |a| a.log.snapshots >= 1);
    assert!(h.state().errors.is_empty(), "errors: {:?}", h.state().errors);
}
