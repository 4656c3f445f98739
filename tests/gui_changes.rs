//! GUI test of "what changed" between two timeline snapshots: the neighbour lists the
//! timeline keeps are those of the snapshot's embedding, the map is coloured by the change
//! they give, and the most changed items can be selected.

mod gui_support;

use egui_kittest::kittest::Queryable;
use gui_support::*;
use pretext::analysis::quality::neighbourhood_change;
use pretext::analysis::scores::neighbour_graph;
use pretext::app::map::colors;
use pretext::app::settings::ColorBy;
use pretext::app::state::TrainStatus;
use pretext::app::timeline::NEIGHBOURS;

#[test]
fn after_two_scored_snapshots_the_map_is_coloured_by_neighbourhood_change() {
    let mut settings = tiny_settings();
    settings.train.epochs = 0.05; // 13 steps, a snapshot asked for every 2
    let mut h = harness_on(settings, None);
    wait_for_sample(&mut h);
    h.get_by_label("Changes").click();
    h.step();
    h.get_by_label_contains("Needs two snapshots");
    h.get_by_label("Train").click();
    step_until(&mut h, "training to finish with two snapshots whose neighbours are known", |a| {
        a.training.log.status == TrainStatus::Finished && !a.busy() && a.timeline.comparable().len() >= 2
    });
    h.step();

    // The newest frame's neighbours are the embedding's own (the snapshot on the map).
    let app = h.state();
    let frames = app.timeline.frames().to_vec();
    let last = frames.last().unwrap();
    let space = app.space.clone().unwrap();
    assert_eq!(space.step, Some(last.step));
    let graph = neighbour_graph(&space.matrix, NEIGHBOURS).unwrap();
    let expected: Vec<u32> = graph.iter().flat_map(|n| n.iter().map(|p| p.0 as u32)).collect();
    assert_eq!(last.neighbours.as_deref(), Some(&expected), "the timeline keeps the snapshot's neighbours");

    h.get_by_label("Colour the map by change").click();
    h.step();
    h.step();
    let app = h.state();
    assert_eq!(app.settings.color_by, ColorBy::Change);
    // The colours are the change between the two latest scored frames, as the core computes it.
    let known = app.timeline.comparable();
    let (a, b) = (&frames[known[known.len() - 2]], &frames[known[known.len() - 1]]);
    let change = neighbourhood_change(a.neighbours.as_ref().unwrap(), b.neighbours.as_ref().unwrap(), NEIGHBOURS).unwrap();
    assert!(change.iter().any(|&c| c > 0.0), "training moved some neighbourhoods");
    for row in 0..MAP_ITEMS {
        assert_eq!(app.point_color(row), Some(colors::ramp(change[row])), "row {row}");
    }
    h.get_by_label("From step");
    // The map shows the frame the comparison ends at, so colours and trails meet its points.
    assert_eq!(app.map.view.target(), b.layout.as_slice());

    // Select top 100: the 100 most changed items.
    h.get_by_label("Select top 100").click();
    h.step();
    h.step();
    let app = h.state();
    assert_eq!(app.selection.count, 100);
    let lowest_in = (0..MAP_ITEMS).filter(|&r| app.selection.rows[r]).map(|r| change[r]).fold(f32::MAX, f32::min);
    let highest_out = (0..MAP_ITEMS).filter(|&r| !app.selection.rows[r]).map(|r| change[r]).fold(f32::MIN, f32::max);
    assert!(lowest_in >= highest_out, "a selected item changed {lowest_in}, one left out {highest_out}");
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
}
