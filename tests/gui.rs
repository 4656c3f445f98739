//! GUI tests: the real app in egui_kittest, driven through its widgets and the map.
//! Training runs on its own thread, so tests step frames until a condition holds (rerun's
//! `step_until` pattern) instead of sleeping for a fixed time.

use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use pretext::app::PretextApp;

mod gui_support;
use gui_support::*;

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
    let raw_layout = h.state().map.view.target().to_vec();
    h.get_by_label("Train").click();
    step_until(&mut h, "a snapshot on the map", |a| {
        a.space.as_ref().is_some_and(|s| s.step.is_some()) && !a.busy() && !a.map.view.is_animating()
    });
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    assert!(app.training.log.snapshots >= 1);
    assert!(!app.training.log.loss.is_empty(), "the loss chart has points");
    let space = app.space.as_ref().unwrap();
    assert_eq!(space.matrix.rows, MAP_ITEMS, "one embedding per map row");
    assert_eq!(app.map.view.len(), MAP_ITEMS);
    assert_ne!(app.map.view.target(), raw_layout.as_slice(), "the map shows the embedding, not the raw layout");
    assert!(app.map.view.target().iter().all(|p| p[0].is_finite() && p[1].is_finite()));
    h.get_by_label_contains("Loss ");
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
    step_until(&mut h, "neighbours of the clicked point", |a| a.neighbours.list.as_ref().is_some_and(|(_, r, _)| *r == row));
    let app = h.state();
    assert_eq!(app.neighbours.focus, Some(row));
    // The expected nearest item, computed by the core directly in the space the map shows.
    let space = app.space.as_ref().unwrap();
    let expected = pretext::analysis::neighbors::neighbors_of(&space.matrix, row, 1).unwrap()[0].index;
    let expected_item = app.item_of_row(expected).unwrap();
    let selected_item = app.item_of_row(row).unwrap();
    h.get_by_label(&format!("Selected #{selected_item}"));
    h.get_by_label(&format!("1. #{expected_item}"));
    // Clicking that neighbour moves the focus to it.
    h.get_by_label(&format!("1. #{expected_item}")).click();
    step_until(&mut h, "focus on the neighbour", |a| a.neighbours.focus == Some(expected) && a.neighbours.list.as_ref().is_some_and(|(_, r, _)| *r == expected));
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
    h.state_mut().dataset.path_input = bad.display().to_string();
    h.step();
    h.get_by_label("Open").click();
    step_until(&mut h, "the load error", |a| !a.shell.errors.is_empty() && !a.busy());
    h.get_by_label_contains("broken.npy");
    // The sample stays open and usable: it can still be trained.
    assert_eq!(h.state().data.as_ref().unwrap().dataset.len(), 10_000);
    h.get_by_label("Dismiss").click();
    h.step();
    assert!(h.state().shell.errors.is_empty());
    h.get_by_label("Train").click();
    step_until(&mut h, "training after the error", |a| a.training.log.snapshots >= 1);
    assert!(h.state().shell.errors.is_empty(), "errors: {:?}", h.state().shell.errors);
}

fn drag(h: &mut Harness<'static, PretextApp>, from: egui::Pos2, to: egui::Pos2) {
    h.hover_at(from);
    h.step();
    h.event(egui::Event::PointerButton { pos: from, button: egui::PointerButton::Primary, pressed: true, modifiers: Default::default() });
    h.step();
    for i in 1..=10 {
        h.hover_at(from + (to - from) * (i as f32 / 10.0));
        h.step();
    }
    h.event(egui::Event::PointerButton { pos: to, button: egui::PointerButton::Primary, pressed: false, modifiers: Default::default() });
    h.step();
}

#[test]
fn box_selection_selects_the_points_inside_and_exports_them() {
    let mut h = harness();
    wait_for_sample(&mut h);
    h.get_by_label("Box").click();
    h.step();
    // A box around the middle of the layout.
    let pos: Vec<egui::Pos2> = (0..MAP_ITEMS).map(|r| h.state().map_point_screen_pos(r).unwrap()).collect();
    let (lo, hi) = pos.iter().fold((egui::pos2(f32::MAX, f32::MAX), egui::pos2(f32::MIN, f32::MIN)), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
    let (a, b) = (lo + (hi - lo) * 0.3, lo + (hi - lo) * 0.7);
    let inside: Vec<usize> = (0..MAP_ITEMS).filter(|&r| egui::Rect::from_two_pos(a, b).contains(pos[r])).collect();
    assert!(!inside.is_empty() && inside.len() < MAP_ITEMS);
    drag(&mut h, a, b);
    h.step();
    let app = h.state();
    let selected: Vec<usize> = (0..MAP_ITEMS).filter(|&r| app.selection.rows[r]).collect();
    assert_eq!(selected, inside);
    assert_eq!(app.selection.count, inside.len());
    h.get_by_label(&format!("{} points selected (the rest are dimmed on the map).", inside.len()));
    // Export the selection: one row per selected point, in map order.
    let dir = tempfile::tempdir().unwrap();
    h.state_mut().settings.export_dir = dir.path().display().to_string();
    h.get_by_label("Export selection").click();
    step_until(&mut h, "the export", |a| !a.busy() && a.shell.status.starts_with("exported"));
    let out = dir.path().join("selection");
    let indices = pretext::export::read_npy_ints(&out.join("indices.npy")).unwrap();
    let expected: Vec<i64> = inside.iter().map(|&r| h.state().item_of_row(r).unwrap() as i64).collect();
    assert_eq!(indices, expected);
    let emb = pretext::export::read_npy_matrix(&out.join("embeddings.npy")).unwrap();
    assert_eq!((emb.rows, emb.cols), (inside.len(), 28 * 28));
    let csv = std::fs::read_to_string(out.join("embeddings.csv")).unwrap();
    assert_eq!(csv.lines().count(), inside.len() + 1, "header plus one line per row");
    assert!(out.join("projector").join("vectors.tsv").is_file() && out.join("projector").join("metadata.tsv").is_file());
}

#[test]
fn kmeans_from_the_clusters_tab_colours_the_map_and_selects_a_cluster() {
    let mut h = harness();
    wait_for_sample(&mut h);
    run_kmeans(&mut h);
    let app = h.state();
    let (result, _) = app.clusters.result.as_ref().unwrap();
    assert_eq!(result.assignments.len(), MAP_ITEMS);
    assert_eq!(result.k, app.settings.kmeans_k);
    assert_eq!(app.settings.color_by, pretext::app::settings::ColorBy::Cluster);
    let members: Vec<usize> = (0..MAP_ITEMS).filter(|&r| result.assignments[r] == 0).collect();
    h.get_by_label_contains("NMI ");
    h.get_by_label("Cluster 0").click();
    h.step();
    let selected: Vec<usize> = (0..MAP_ITEMS).filter(|&r| h.state().selection.rows[r]).collect();
    assert_eq!(selected, members);
}

#[test]
fn a_saved_run_reopens_with_its_embeddings_on_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut h = harness();
    wait_for_sample(&mut h);
    h.get_by_label("Train").click();
    step_until(&mut h, "training to finish", |a| a.training.log.status == pretext::app::state::TrainStatus::Finished && !a.busy());
    let trained = h.state().space.as_ref().unwrap().clone();
    h.state_mut().settings.run_dir = run.display().to_string();
    h.get_by_label("Save run").click();
    step_until(&mut h, "the run to be saved", |a| a.shell.status.starts_with("run saved"));
    h.get_by_label("Reset model").click();
    // One frame applies the reset, the next lays the panel out without the model's note.
    h.step();
    h.step();
    assert!(h.state().training.trainer.is_none());
    h.get_by_label("Open run").click();
    step_until(&mut h, "the run to reopen", |a| a.training.trainer.is_some() && a.shell.status.starts_with("run opened") && !a.busy());
    let reopened = h.state().space.as_ref().unwrap();
    assert_eq!(reopened.step, trained.step, "the map shows the saved step");
    assert_eq!(reopened.matrix.rows, trained.matrix.rows);
    let max_diff = reopened.matrix.data.iter().zip(&trained.matrix.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(max_diff < 1e-4, "saved embeddings differ from the trained ones by {max_diff}");
    assert!(h.state().shell.errors.is_empty(), "errors: {:?}", h.state().shell.errors);
}

/// Queries by `file` through the Neighbours panel; the nearest map row found.
fn query_by_file(h: &mut Harness<'static, PretextApp>, file: &std::path::Path) -> pretext::analysis::neighbors::Neighbor {
    h.get_by_label("Query by file").click();
    h.step();
    h.state_mut().neighbours.query_input = file.display().to_string();
    h.get_by_label("Find neighbours").click();
    step_until(h, "the query's neighbours", |a| a.neighbours.query.as_ref().is_some_and(|q| q.neighbours.is_some()) && !a.busy());
    h.state().neighbours.query.as_ref().and_then(|q| q.neighbours.as_ref()).map(|n| n[0]).expect("neighbours of the query")
}

#[test]
fn query_by_image_file_finds_the_item_the_file_was_made_from() {
    let mut h = harness();
    wait_for_sample(&mut h);
    // Write map row 7's image to a PNG; the sample's pixels are bytes, so it round-trips exactly.
    let (item, pixels) = {
        let d = h.state().data.as_ref().unwrap();
        let item = d.map_indices[7];
        (item, d.dataset.global_item(item).to_vec())
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("query.png");
    let bytes: Vec<u8> = pixels.iter().map(|v| (v * 255.0).round() as u8).collect();
    image::GrayImage::from_raw(28, 28, bytes).unwrap().save(&file).unwrap();
    let first = query_by_file(&mut h, &file);
    assert_eq!(h.state().item_of_row(first.index), Some(item));
    assert!(first.distance() < 1e-5);
    h.get_by_label(&format!("1. #{item}"));
}

#[test]
fn switching_the_projection_to_umap_relays_out_the_same_points() {
    let mut h = harness();
    wait_for_sample(&mut h);
    let pca = h.state().map.view.target().to_vec();
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Projection").click();
    h.run_steps(3);
    h.get_by_label("UMAP").click();
    h.step();
    step_until(&mut h, "the UMAP layout", |a| !a.busy() && !a.map.view.is_animating() && a.map.view.target() != pca.as_slice());
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    assert_eq!(app.settings.projection, pretext::app::settings::Projection::Umap);
    assert_eq!(app.map.view.len(), MAP_ITEMS);
    assert!(app.map.view.target().iter().all(|p| p[0].is_finite() && p[1].is_finite()));
    h.get_by_label_contains("UMAP of raw features");
}

#[test]
fn hdbscan_from_the_clusters_tab_assigns_every_point() {
    let mut h = harness();
    wait_for_sample(&mut h);
    h.get_by_label("Clusters").click();
    h.step();
    h.get_by_label("HDBSCAN").click();
    h.step();
    h.get_by_label("Run HDBSCAN").click();
    step_until(&mut h, "HDBSCAN", |a| a.clusters.result.is_some() && !a.busy());
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    let (c, _) = app.clusters.result.as_ref().unwrap();
    assert_eq!(c.assignments.len(), MAP_ITEMS);
    assert!(c.assignments.iter().all(|&a| a < c.k));
    assert_eq!(c.summaries.iter().map(|s| s.size).sum::<usize>(), MAP_ITEMS);
    if c.noise {
        h.get_by_role_and_label(egui::accesskit::Role::Button, "Noise");
    }
}

/// A run made by `pretext train` on the bundled sample.
fn cli_run(dir: &std::path::Path, name: &str, map_items: usize, seed: u64) -> std::path::PathBuf {
    let out = dir.join(name);
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_pretext"))
        .args(["train", "--epochs", "0.004", "--batch", "32", "--width", "8", "--eval-every", "1000", "--threads", "1"])
        .args(["--map-items", &map_items.to_string(), "--seed", &seed.to_string(), "--out", out.to_str().unwrap()])
        .output()
        .expect("run pretext train");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    out
}

#[test]
fn a_cli_run_with_more_map_items_opens_with_its_own_rows_and_joins_the_runs_table() {
    let dir = tempfile::tempdir().unwrap();
    // More map rows than the window's own subset (MAP_ITEMS), as `pretext train` makes by default.
    let big = cli_run(dir.path(), "big", MAP_ITEMS * 2, 0);
    let small = cli_run(dir.path(), "small", MAP_ITEMS / 2, 1);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .with_max_steps(50_000)
        .build_eframe(|cc| PretextApp::with_run(cc.egui_ctx.clone(), tiny_settings(), big.clone()).unwrap());
    step_until(&mut h, "the run to open", |a| a.training.trainer.is_some() && a.map.view.len() == MAP_ITEMS * 2 && !a.busy());
    let saved = pretext::ssl::run::load(&big).unwrap();
    let app = h.state();
    let data = app.data.as_ref().unwrap();
    assert_eq!(data.map_indices.as_slice(), saved.indices.as_slice(), "the map shows the run's own rows");
    assert_eq!(data.labels.as_ref(), saved.labels.as_ref(), "and their labels");
    assert_eq!(app.space.as_ref().unwrap().matrix.rows, MAP_ITEMS * 2);
    // Hovering the last row shows its item (thumbnail and label), past the window's own subset.
    let last = MAP_ITEMS * 2 - 1;
    let pos = h.state().map_point_screen_pos(last).expect("the last row is drawn");
    h.ctx.all_styles_mut(|s| {
        s.interaction.tooltip_delay = 0.0;
        s.interaction.show_tooltips_only_when_still = false;
    });
    h.hover_at(pos);
    h.step();
    h.step();
    assert!(h.state().shell.errors.is_empty(), "errors: {:?}", h.state().shell.errors);
    // The tooltip names where the item came from (its file and row).
    let source = h.state().data.as_ref().unwrap().dataset.item_source(saved.indices[last]);
    assert!(source.contains(":row:"), "an IDX item names its file and row: {source}");
    assert!(h.query_by_label(&format!("#{}", saved.indices[last])).is_some(), "the tooltip shows the item");
    assert!(h.query_by_label(&source).is_some(), "the tooltip shows {source}");
    assert_eq!(h.state().runs.entries.len(), 1, "the opened run is in the runs table");

    h.state_mut().command(pretext::app::state::Command::AddRun(small.clone()));
    step_until(&mut h, "the second run in the table", |a| a.runs.entries.len() == 2 && !a.busy());
    // Two rows in the runs table (the charts' legend names the runs too: not counted).
    assert_eq!(table_rows(&h, "big (current)"), 1);
    assert_eq!(table_rows(&h, "small"), 1);
    h.get_all_by_label("small").find(|n| n.accesskit_node().role() != egui::accesskit::Role::CheckBox).unwrap().click();
    step_until(&mut h, "the second run's map", |a| a.map.view.len() == MAP_ITEMS / 2 && !a.busy());
    let second = pretext::ssl::run::load(&small).unwrap();
    let app = h.state();
    let data = app.data.as_ref().unwrap();
    assert_eq!(data.map_indices.as_slice(), second.indices.as_slice());
    assert_eq!(data.labels.as_ref(), second.labels.as_ref());
    assert!(app.runs.entries.iter().all(|e| e.summary.knn_accuracy.is_some() && e.summary.probe_1pct.is_some()), "both rows are measured");
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
}

/// Rows of the runs table named `name`.
fn table_rows(h: &Harness<'static, PretextApp>, name: &str) -> usize {
    h.get_all_by_label(name).filter(|n| n.accesskit_node().role() != egui::accesskit::Role::CheckBox).count()
}

#[test]
fn the_series_sample_trains_and_shows_neighbours_views_and_a_query_by_csv() {
    let gunpoint = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/gunpoint");
    let mut settings = tiny_settings();
    // 50 train series, batch 25: two steps per epoch, four steps in all.
    settings.train.batch_size = 25;
    settings.train.epochs = 2.0;
    let mut h = harness_on(settings, Some(gunpoint));
    step_until(&mut h, "GunPoint to load", |a| a.data.is_some() && a.map.view.len() == 200 && !a.busy());
    h.get_by_label("Dataset").click();
    h.step();
    h.get_by_label("time series, univariate, length 150");
    let raw_layout = h.state().map.view.target().to_vec();
    h.get_by_label("Train").click();
    // The query by file embeds with the final model: wait for the last snapshot to settle.
    step_until(&mut h, "training to finish and the map to settle", |a| {
        a.training.log.status == pretext::app::state::TrainStatus::Finished
            && a.space.as_ref().is_some_and(|s| s.step == Some(a.training.log.step))
            && !a.busy()
            && !a.map.view.is_animating()
    });
    assert!(h.state().shell.errors.is_empty(), "errors: {:?}", h.state().shell.errors);
    assert_ne!(h.state().map.view.target(), raw_layout.as_slice(), "the map shows the embedding");
    // Neighbours of a map row (focused as a click on its point does; clicking is covered by
    // the image tests), drawn as sparkline buttons named by rank and item.
    let row = 17;
    h.state_mut().command(pretext::app::state::Command::Focus(Some(row)));
    step_until(&mut h, "neighbours of the focused series", |a| a.neighbours.list.as_ref().is_some_and(|(_, r, _)| *r == row) && !a.busy());
    let item = h.state().item_of_row(row).unwrap();
    h.get_by_label(&format!("Selected #{item}"));
    let first = h.state().neighbours.list.as_ref().unwrap().2[0].index;
    h.get_by_label(&format!("1. #{}", h.state().item_of_row(first).unwrap()));
    h.get_by_label("Show augmented views").click();
    h.step();
    let views = h.state().neighbours.views.as_ref().map(|(r, v)| (*r, v.len(), v[0].len()));
    assert_eq!(views, Some((row, 8, 150)), "eight views of the series, each 150 steps");
    // Query by a CSV holding that series: its nearest item is the series itself.
    let values = h.state().data.as_ref().unwrap().dataset.global_item(item).to_vec();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("query.csv");
    std::fs::write(&file, values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",")).unwrap();
    let nearest = query_by_file(&mut h, &file);
    assert_eq!(h.state().item_of_row(nearest.index), Some(item));
    assert!(h.state().shell.errors.is_empty(), "errors: {:?}", h.state().shell.errors);
}

#[test]
fn a_generative_run_shows_reconstructions_and_a_teacher_run_charts_its_momentum() {
    // Masked autoencoder: the focused item, damaged and reconstructed by the model.
    let mut h = harness();
    wait_for_sample(&mut h);
    h.state_mut().settings.train.objective = pretext::ssl::ObjectiveKind::Mae;
    h.get_by_label("Train").click();
    step_until(&mut h, "a snapshot", |a| a.training.log.snapshots >= 1 && !a.busy());
    h.state_mut().command(pretext::app::state::Command::Focus(Some(3)));
    step_until(&mut h, "the focus", |a| a.neighbours.focus == Some(3));
    h.get_by_label("Show reconstructions").click();
    step_until(&mut h, "reconstructions", |a| !a.neighbours.reconstructions.pairs.is_empty());
    let app = h.state();
    assert_eq!(app.neighbours.reconstructions.pairs.len(), pretext::app::reconstructions::DRAWS);
    let item_len = app.data.as_ref().unwrap().dataset.item_len();
    assert!(app.neighbours.reconstructions.pairs.iter().all(|(i, o)| i.len() == item_len && o.len() == item_len));
    h.get_by_label_contains("its reconstruction");
    // BYOL: the teacher's momentum gets a chart of its own.
    let mut h = harness();
    wait_for_sample(&mut h);
    h.state_mut().settings.train.objective = pretext::ssl::ObjectiveKind::Byol;
    h.get_by_label("Train").click();
    step_until(&mut h, "a snapshot", |a| a.training.log.snapshots >= 1 && !a.busy());
    assert!(!h.state().training.log.teacher_momentum.is_empty());
    h.get_by_label_contains("Teacher momentum 0.");
}

#[test]
fn colour_settings_show_for_a_colour_folder_and_not_for_greyscale() {
    // A small colour image folder: two classes of flat-coloured 8×8 PNGs.
    let dir = tempfile::tempdir().unwrap();
    for (c, class) in ["warm", "cool"].iter().enumerate() {
        let sub = dir.path().join(class);
        std::fs::create_dir(&sub).unwrap();
        for i in 0..12u8 {
            let px = [200 - 10 * i, 40 + 10 * i, if c == 0 { 30 } else { 220 }];
            let rgb: Vec<u8> = (0..64).flat_map(|_| px).collect();
            image::save_buffer(sub.join(format!("{i}.png")), &rgb, 8, 8, image::ColorType::Rgb8).unwrap();
        }
    }
    let mut h = harness();
    wait_for_sample(&mut h);
    h.state_mut().settings.left_tab = pretext::app::settings::LeftTab::Training;
    h.step();
    assert!(h.query_by_label("Colour distortion").is_none(), "the greyscale sample has no colour settings");
    assert!(h.query_all_by_label("Brightness").next().is_some(), "greyscale images keep the plain jitter");
    h.get_by_label("Dataset").click();
    h.step();
    h.state_mut().dataset.path_input = dir.path().display().to_string();
    // One more frame so the panel is laid out with the typed path before the click lands.
    h.step();
    h.get_by_label("Open").click();
    step_until(&mut h, "the colour folder", |a| {
        a.data.as_ref().is_some_and(|d| matches!(d.dataset.modality, pretext::data::Modality::Image { channels: 3, .. })) && !a.busy()
    });
    h.state_mut().settings.left_tab = pretext::app::settings::LeftTab::Training;
    h.step();
    h.get_by_label("Colour distortion");
    // The colour jitter replaces the plain brightness slider while it is on.
    assert!(h.query_all_by_label("Brightness").next().is_none());
    // The augmented views are colour views of the item, with its colours distorted.
    h.state_mut().command(pretext::app::state::Command::ShowViews(0));
    h.step();
    let (source, views) = {
        let a = h.state();
        let d = a.data.as_ref().unwrap();
        (d.dataset.global_item(d.map_indices[0]).to_vec(), a.neighbours.views.as_ref().unwrap().1.clone())
    };
    let plane = source.len() / 3;
    let mean = |img: &[f32], c: usize| img[c * plane..(c + 1) * plane].iter().sum::<f32>() / plane as f32;
    let ratio = |img: &[f32]| mean(img, 0) / mean(img, 2).max(1e-3);
    assert!(views.iter().all(|v| v.len() == source.len()));
    assert!(views.iter().any(|v| (ratio(v) - ratio(&source)).abs() > 0.2 * ratio(&source)), "some view's colour balance moved");
}

#[test]
fn text_sample_trains_shows_texts_as_neighbours_and_answers_a_text_search() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/fortunes/fortunes.tsv");
    let mut settings = tiny_settings();
    // 1,169 train texts / 32 = 36 steps per epoch: 0.2 epochs is 7 steps.
    settings.train.epochs = 0.2;
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .with_max_steps(50_000)
        .build_eframe(move |cc| PretextApp::with_settings(cc.egui_ctx.clone(), settings.clone(), Some(sample.clone())));
    step_until(&mut h, "the text sample to load", |a| {
        a.data.as_ref().is_some_and(|d| d.dataset.name == "fortunes") && a.map.view.len() == MAP_ITEMS && !a.busy()
    });
    h.get_by_label_contains("fortunes · 1461 items");
    let raw_layout = h.state().map.view.target().to_vec();
    h.get_by_label("Train").click();
    // The search embeds with the model as it is now: wait for the final snapshot.
    step_until(&mut h, "training to finish", |a| {
        a.training.log.status == pretext::app::state::TrainStatus::Finished && a.space.as_ref().is_some_and(|s| s.step.is_some()) && !a.busy()
    });
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    assert!(app.training.log.loss.iter().all(|p| p[1].is_finite()), "finite losses");
    assert_ne!(app.map.view.target(), raw_layout.as_slice(), "the map shows the embedding");
    // Neighbours of a map row: the panel lists them with their texts.
    h.state_mut().command(pretext::app::state::Command::Focus(Some(3)));
    step_until(&mut h, "neighbours of row 3", |a| a.neighbours.list.as_ref().is_some_and(|(_, r, _)| *r == 3));
    let (first, text) = {
        let app = h.state();
        let n = &app.neighbours.list.as_ref().unwrap().2;
        let item = app.item_of_row(n[0].index).unwrap();
        (item, app.data.as_ref().unwrap().dataset.global_text(item).unwrap().to_string())
    };
    h.get_by_label(&format!("1. #{first}"));
    let start: String = text.chars().take(30).collect();
    assert!(h.query_all_by_label_contains(&start).count() >= 1, "the neighbour's text '{start}…' is shown");
    // Search by text: an item's own text finds that item first (distance 0).
    let item = h.state().item_of_row(11).unwrap();
    let query = h.state().data.as_ref().unwrap().dataset.global_text(item).unwrap().to_string();
    h.get_by_label("Search by text").click();
    h.step();
    h.state_mut().neighbours.query_input = query;
    h.get_by_label("Find similar texts").click();
    step_until(&mut h, "the text search's neighbours", |a| a.neighbours.query.as_ref().is_some_and(|q| q.neighbours.is_some()) && !a.busy());
    let app = h.state();
    let best = app.neighbours.query.as_ref().unwrap().neighbours.as_ref().unwrap()[0];
    let found = app.item_of_row(best.index).unwrap();
    // That item, or another with the very same text.
    assert_eq!(app.data.as_ref().unwrap().dataset.global_text(found), app.data.as_ref().unwrap().dataset.global_text(item), "item {found} for {item}");
    assert!(best.distance() < 1e-4, "distance {}", best.distance());
}

#[test]
fn csv_read_options_open_a_text_column_and_series_rows() {
    let dir = tempfile::tempdir().unwrap();
    let texts = dir.path().join("notes.csv");
    let mut csv = String::from("id,label,body\n");
    for i in 0..40 {
        csv += &format!("{i},{},\"{} item number {i}\"\n", ["fruit", "tool"][i % 2], ["apple pear plum", "hammer saw drill"][i % 2]);
    }
    std::fs::write(&texts, csv).unwrap();
    let series = dir.path().join("waves.csv");
    let rows: Vec<String> = (0..30).map(|i| (0..24).map(|t| format!("{:.3}", ((t * (1 + i % 3)) as f32 * 0.3).sin())).collect::<Vec<_>>().join(",")).collect();
    std::fs::write(&series, rows.join("\n")).unwrap();

    let mut h = harness();
    wait_for_sample(&mut h);
    h.get_by_label("Dataset").click();
    h.step();
    h.get_by_label("How to read CSV / NPY / Parquet").click();
    h.step();
    h.get_by_label("Text column").click();
    h.step();
    h.get_by_label("Text column").type_text("body");
    h.step();
    assert_eq!(h.state().dataset.read_options.text_column, "body", "typed into the field");
    h.state_mut().dataset.path_input = texts.display().to_string();
    h.step();
    h.get_by_label("Open").click();
    step_until(&mut h, "the CSV of texts", |a| a.data.as_ref().is_some_and(|d| d.dataset.name.starts_with("notes")) && !a.busy());
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    let ds = &app.data.as_ref().unwrap().dataset;
    assert!(matches!(ds.modality, pretext::data::Modality::Text { .. }), "{:?}", ds.modality);
    assert_eq!((ds.len(), ds.class_names.len()), (40, 2));

    h.state_mut().dataset.read_options.text_column.clear();
    h.get_by_label("Rows are time series").click();
    h.step();
    h.state_mut().dataset.path_input = series.display().to_string();
    h.step();
    h.get_by_label("Open").click();
    step_until(&mut h, "the CSV of series", |a| a.data.as_ref().is_some_and(|d| d.dataset.name.starts_with("waves")) && !a.busy());
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    let ds = &app.data.as_ref().unwrap().dataset;
    assert_eq!(ds.modality, pretext::data::Modality::Series { channels: 1, length: 24 });
    assert_eq!(ds.len(), 30);
}

#[test]
fn the_timeline_slider_shows_an_earlier_snapshot_and_a_saved_run_keeps_its_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut settings = tiny_settings();
    settings.train.epochs = 0.05; // 13 steps, a snapshot asked for every 2
    let mut h = harness_on(settings, None);
    wait_for_sample(&mut h);
    h.get_by_label("Train").click();
    step_until(&mut h, "training to finish with two laid-out snapshots", |a| {
        a.training.log.status == pretext::app::state::TrainStatus::Finished && !a.busy() && a.timeline.frames().len() >= 2 && !a.map.view.is_animating()
    });
    let frames = h.state().timeline.frames().to_vec();
    let latest = h.state().map.view.target().to_vec();
    assert_eq!(latest.as_slice(), frames.last().unwrap().layout.as_slice(), "live: the map shows the newest frame");
    assert_ne!(frames[0].layout, frames.last().unwrap().layout);

    h.get_by_label_contains("Timeline: step").set_value_accesskit(0.0);
    step_until(&mut h, "the map to go back", |a| a.timeline.position == Some(0));
    assert_eq!(h.state().map.view.target(), frames[0].layout.as_slice(), "the map shows the first snapshot");
    h.get_by_label_contains(&format!("Timeline: step {}", frames[0].step));
    h.get_by_label("Live").click();
    step_until(&mut h, "live again", |a| a.timeline.position.is_none());
    assert_eq!(h.state().map.view.target(), latest.as_slice());

    h.state_mut().settings.run_dir = run.display().to_string();
    h.get_by_label("Save run").click();
    step_until(&mut h, "the run to be saved", |a| a.shell.status.starts_with("run saved"));
    assert!(run.join("timeline.npy").is_file());
    h.get_by_label("Reset model").click();
    h.step();
    h.step();
    assert!(h.state().timeline.frames().is_empty(), "a reset model has no history");
    h.get_by_label("Open run").click();
    step_until(&mut h, "the run to reopen", |a| a.training.trainer.is_some() && a.shell.status.starts_with("run opened") && !a.busy());
    let reopened: Vec<usize> = h.state().timeline.frames().iter().map(|f| f.step).collect();
    assert!(reopened.len() >= frames.len(), "the saved frames come back: {reopened:?}");
    assert!(frames.iter().all(|f| reopened.contains(&f.step)));
    assert!(h.state().shell.errors.is_empty(), "errors: {:?}", h.state().shell.errors);
}
