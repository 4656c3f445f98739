//! GUI tests of two map tools: cluster labels at the clusters' centres, and isolating the
//! selection (the map re-laid out from the selected points alone, then all points again).

mod gui_support;

use egui_kittest::kittest::Queryable;
use gui_support::*;
use pretext::app::state::Command;

#[test]
fn cluster_labels_name_each_cluster_by_its_majority_at_its_centre() {
    let mut h = harness();
    wait_for_sample(&mut h);
    run_kmeans(&mut h);
    h.get_by_label("Cluster labels").click();
    h.step();
    h.step();
    assert!(h.state().settings.cluster_labels);
    let app = h.state();
    let (c, _) = app.clusters.result.as_ref().unwrap();
    let ds = app.data.as_ref().unwrap().dataset.clone();
    let mut checked = 0;
    for s in &c.summaries {
        let members: Vec<egui::Pos2> = (0..MAP_ITEMS).filter(|&r| c.assignments[r] == s.cluster).map(|r| app.map_point_screen_pos(r).unwrap()).collect();
        let centre = members.iter().fold(egui::Vec2::ZERO, |a, p| a + p.to_vec2()) / members.len() as f32;
        let name = format!("C{} {}", s.cluster, ds.class_name(s.majority.unwrap()));
        let label = h.get_by_label(&name);
        let drawn = label.rect().center();
        assert!((drawn.to_vec2() - centre).length() < 2.0, "{name} drawn at {drawn:?}, its points' centre is {centre:?}");
        checked += 1;
    }
    assert_eq!(checked, c.k);
}

#[test]
fn isolating_the_selection_lays_out_only_those_points_and_show_all_brings_the_rest_back() {
    let mut h = harness();
    wait_for_sample(&mut h);
    let app = h.state();
    let all_items = app.data.as_ref().unwrap().map_indices.clone();
    let full = app.space.as_ref().unwrap().matrix.clone();
    let rows: Vec<usize> = (0..MAP_ITEMS).filter(|r| r % 5 == 1).collect();
    h.state_mut().command(Command::Select(rows.clone()));
    h.step();
    h.step();
    h.get_by_label("Isolate selection").click();
    step_until(&mut h, "the isolated layout", |a| a.map.view.len() == rows.len() && !a.busy());
    let app = h.state();
    let items: Vec<usize> = rows.iter().map(|&r| all_items[r]).collect();
    assert_eq!(app.data.as_ref().unwrap().map_indices.as_slice(), items.as_slice(), "the map holds the selected items only");
    let space = app.space.as_ref().unwrap();
    assert_eq!(space.matrix.rows, rows.len());
    for (i, &r) in rows.iter().enumerate() {
        assert_eq!(space.matrix.row(i), full.row(r), "row {i} is the embedding of selected row {r}");
    }
    assert!(app.timeline.frames().is_empty() || app.timeline.frames()[0].layout.len() == MAP_ITEMS, "isolated layouts stay off the timeline");
    h.get_by_label(&format!("Isolated: {} of {MAP_ITEMS} points", rows.len()));
    h.get_by_label("Show all points").click();
    step_until(&mut h, "every point again", |a| a.map.view.len() == MAP_ITEMS && !a.busy());
    let app = h.state();
    assert_eq!(app.data.as_ref().unwrap().map_indices, all_items);
    assert!(app.isolation.active.is_none());
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
}

#[test]
fn density_contours_are_traced_from_the_map_and_follow_a_new_layout() {
    let mut h = harness();
    wait_for_sample(&mut h);
    assert!(h.state().map.contours.contours.segments.is_empty(), "nothing traced while the contours are off");
    h.get_by_label("Density").click();
    h.step();
    h.step();
    assert!(h.state().settings.density_contours);
    let expected = pretext::analysis::density::density_contours(h.state().map.view.target(), &Default::default());
    assert!(!expected.segments[0].is_empty());
    assert_eq!(h.state().map.contours.contours, expected, "the drawn contours are those of the map's layout");
    // A new layout (the map moved to the right) moves the contours with it.
    let shifted: Vec<[f32; 2]> = h.state().map.view.target().iter().map(|p| [p[0] + 100.0, p[1]]).collect();
    h.state_mut().map.view.set_layout(shifted.clone(), false, 0.0);
    h.step();
    h.step();
    assert_eq!(h.state().map.contours.contours, pretext::analysis::density::density_contours(&shifted, &Default::default()));
}
