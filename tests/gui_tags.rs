//! GUI test of tags: a named selection colours the map, is saved with the run, comes back
//! when the run is reopened in a new window, and is a column of every export.

mod gui_support;

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use gui_support::*;
use pretext::app::map::colors;
use pretext::app::settings::ColorBy;
use pretext::app::state::{Command, TrainStatus};
use pretext::app::tags::Tags;
use pretext::app::PretextApp;

#[test]
fn a_tag_survives_saving_and_reopening_the_run_and_is_a_column_of_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut h = harness();
    wait_for_sample(&mut h);
    h.get_by_label("Train").click();
    step_until(&mut h, "training to finish", |a| a.training.log.status == TrainStatus::Finished && !a.busy());
    // Every seventh map row, as a lasso might pick them.
    let rows: Vec<usize> = (0..MAP_ITEMS).filter(|r| r % 7 == 3).collect();
    let items: Vec<usize> = rows.iter().map(|&r| h.state().item_of_row(r).unwrap()).collect();
    h.state_mut().command(Command::Select(rows.clone()));
    h.step();
    h.get_by_label("Tags (0)").click();
    h.step();
    h.get_by_label("Tag name").click();
    h.step();
    h.get_by_label("Tag name").type_text("odd ones");
    h.step();
    h.get_by_label("Tag selection").click();
    h.step();
    h.step();
    let app = h.state();
    assert_eq!(app.tags.list.len(), 1);
    assert_eq!(app.tags.list[0].name, "odd ones");
    assert_eq!(app.tags.list[0].items.iter().copied().collect::<Vec<_>>(), sorted(&items));
    assert_eq!(app.settings.color_by, ColorBy::Tag, "tagging colours the map by tag");
    assert_eq!(app.point_color(rows[0]), Some(Tags::colour(0)));
    assert_eq!(app.point_color(rows[0] + 1), Some(colors::UNKNOWN), "untagged points are grey");
    h.get_by_label(&format!("{} items", items.len()));

    h.state_mut().settings.run_dir = run.display().to_string();
    h.get_by_label("Training").click();
    h.step();
    h.get_by_label("Save run").click();
    step_until(&mut h, "the run to be saved", |a| a.shell.status.starts_with("run saved") && !a.busy());
    assert!(run.join(pretext::app::tags::FILE).is_file());
    drop(h);

    // A new window on the saved run: the tag is read back from the run folder.
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .with_max_steps(50_000)
        .build_eframe(|cc| PretextApp::with_run(cc.egui_ctx.clone(), tiny_settings(), run.clone()).unwrap());
    step_until(&mut h, "the run to reopen and be scored", |a| {
        a.training.trainer.is_some() && a.shell.status.starts_with("run opened") && !a.busy() && a.scores.result.as_ref().is_some_and(|s| Some(s.generation) == a.space.as_ref().map(|s| s.generation))
    });
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    assert_eq!(app.tags.list.len(), 1, "the tag came back with the run");
    assert_eq!(app.tags.list[0].items.iter().copied().collect::<Vec<_>>(), sorted(&items));
    assert_eq!(app.scores.result.as_ref().unwrap().uniqueness.len(), MAP_ITEMS, "the opened run's map is scored");

    let out = dir.path().join("export");
    h.state_mut().command(Command::Export(out.clone()));
    step_until(&mut h, "the export", |a| !a.busy() && a.shell.status.starts_with("exported"));
    let app = h.state();
    let map_items: Vec<usize> = (0..MAP_ITEMS).map(|r| app.item_of_row(r).unwrap()).collect();
    let expected: Vec<bool> = map_items.iter().map(|i| items.contains(i)).collect();
    assert_eq!(expected.iter().filter(|&&t| t).count(), items.len());
    // CSV: a tag column of 1s on the tagged rows.
    let csv = std::fs::read_to_string(out.join("embeddings.csv")).unwrap();
    assert_eq!(column(&csv, ',', "tag:odd ones"), expected);
    // TensorBoard projector metadata: the same column.
    let tsv = std::fs::read_to_string(out.join("projector").join("metadata.tsv")).unwrap();
    assert_eq!(column(&tsv, '\t', "tag:odd ones"), expected);
    // Every export names each row's source, the same in both files.
    let sources: Vec<String> = map_items.iter().map(|&i| app.data.as_ref().unwrap().dataset.item_source(i)).collect();
    assert_eq!(text_column(&csv, ',', "source"), sources);
    assert_eq!(text_column(&tsv, '\t', "source"), sources);
    // NPY: one file per tag, in export row order.
    let npy = pretext::export::read_npy_ints(&out.join("tag-odd_ones.npy")).unwrap();
    assert_eq!(npy, expected.iter().map(|&t| i64::from(t)).collect::<Vec<_>>());
}

fn sorted(v: &[usize]) -> Vec<usize> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v
}

/// The values of the column `name` of a delimited file with a header (no quoted fields).
fn text_column(text: &str, sep: char, name: &str) -> Vec<String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(sep).collect();
    let at = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    lines.map(|l| l.split(sep).nth(at).unwrap().to_string()).collect()
}

/// The values of the column `name` of a delimited file with a header, as "is it 1".
fn column(text: &str, sep: char, name: &str) -> Vec<bool> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(sep).collect();
    let at = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    lines
        .map(|l| {
            let field = l.split(sep).nth(at).unwrap();
            assert!(field == "0" || field == "1", "tag field {field}");
            field == "1"
        })
        .collect()
}
