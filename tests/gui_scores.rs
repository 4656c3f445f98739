//! GUI tests of the scores panel: scores follow the map, colour it, select its top items and
//! group near-duplicates.

mod gui_support;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use gui_support::*;
use pretext::analysis::scores::{duplicate_groups, neighbour_graph, uniqueness};
use pretext::app::map::colors;
use pretext::app::scores::ScoreKind;
use pretext::app::settings::ColorBy;
use pretext::app::state::TrainStatus;
use pretext::app::PretextApp;

/// The scores on hand are those of the embedding on the map, and nothing is running.
fn scores_current(a: &PretextApp) -> bool {
    a.scores.result.as_ref().is_some_and(|r| a.space.as_ref().is_some_and(|s| s.generation == r.generation)) && !a.busy()
}

#[test]
fn scores_of_a_trained_map_colour_it_select_its_top_items_and_group_duplicates() {
    let mut h = harness();
    wait_for_sample(&mut h);
    step_until(&mut h, "scores of the raw-pixel map", scores_current);
    h.get_by_label("Train").click();
    step_until(&mut h, "training to finish and its map to be scored", |a| {
        a.training.log.status == TrainStatus::Finished && a.space.as_ref().is_some_and(|s| s.step.is_some()) && scores_current(a)
    });
    h.get_by_label("Scores").click();
    h.step();
    h.get_by_label("Colour the map by it").click();
    h.step();
    h.step();

    // The panel's uniqueness is the core's on the embedding on the map, recomputed here.
    let app = h.state();
    assert_eq!(app.settings.color_by, ColorBy::Score(ScoreKind::Uniqueness));
    let space = app.space.clone().unwrap();
    let expected = uniqueness(&neighbour_graph(&space.matrix, 10).unwrap());
    let shown = app.scores.result.as_ref().unwrap().uniqueness.clone();
    assert_eq!(shown.len(), MAP_ITEMS);
    assert!(shown.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-5), "panel scores differ from the core's");
    let order = |v: &[f32]| {
        let mut rows: Vec<usize> = (0..v.len()).collect();
        rows.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
        rows
    };
    let ranked = order(&expected);
    let (top, bottom) = (ranked[0], ranked[MAP_ITEMS - 1]);
    assert_eq!(app.point_color(top), Some(colors::ramp(expected[top])));
    assert_eq!(app.point_color(bottom), Some(colors::ramp(expected[bottom])));
    assert_ne!(app.point_color(top), app.point_color(bottom));

    // Select the top 25: exactly 25 rows, none scoring below a row left out.
    h.get_by_role_and_label(Role::Slider, "Top N").set_value_accesskit(25.0);
    h.step();
    h.get_by_label("Select top N").click();
    h.step();
    h.step();
    let app = h.state();
    assert_eq!(app.selection.count, 25);
    let lowest_in = (0..MAP_ITEMS).filter(|&r| app.selection.rows[r]).map(|r| expected[r]).fold(f32::MAX, f32::min);
    let highest_out = (0..MAP_ITEMS).filter(|&r| !app.selection.rows[r]).map(|r| expected[r]).fold(f32::MIN, f32::max);
    assert!(lowest_in >= highest_out, "a selected item scores {lowest_in}, one left out {highest_out}");

    // The duplicate threshold slider re-cuts the groups: at the median neighbour distance
    // there are groups, and the panel counts the core's.
    h.get_by_label("Scores").click();
    h.step();
    let graph = neighbour_graph(&h.state().space.as_ref().unwrap().matrix, 10).unwrap();
    let mut first: Vec<f32> = graph.iter().map(|n| n[0].1).collect();
    first.sort_by(f32::total_cmp);
    let threshold = first[first.len() / 2].max(1e-4);
    h.get_by_role_and_label(Role::Slider, "Duplicate distance").set_value_accesskit(threshold as f64);
    h.step();
    h.step();
    let used = h.state().scores.duplicate_distance;
    let ids = duplicate_groups(&graph, used);
    let groups = ids.iter().flatten().map(|&g| g + 1).max().unwrap_or(0);
    let members = ids.iter().flatten().count();
    assert!(groups > 0, "half the items have a neighbour within {used}");
    h.get_by_label(&format!("{groups} groups ({members} items)"));
    h.get_by_label("Select group 1").click();
    h.step();
    assert!(h.state().selection.count >= 2, "a group has at least two items");
}
