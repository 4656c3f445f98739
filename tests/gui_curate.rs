//! GUI test of the curation buttons: points selected on the map of a CSV become a new CSV
//! without them (exactly the other rows), a list of their sources, and a relabelled CSV
//! with its corrections file, all in the export folder; the user's CSV is untouched.

mod gui_support;

use egui_kittest::kittest::Queryable;
use gui_support::*;
use pretext::app::settings::RightTab;
use pretext::app::state::Command;

#[test]
fn selected_rows_leave_a_new_csv_and_are_listed_by_source() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("table.csv");
    let mut lines = vec!["a,b,label".to_string()];
    lines.extend((0..40).map(|r| format!("{},{},{}", r, (r * 3) % 7, if r % 2 == 0 { "even" } else { "odd" })));
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let mut settings = tiny_settings();
    settings.export_dir = dir.path().join("out").display().to_string();
    let mut h = harness_on(settings, Some(csv.clone()));
    step_until(&mut h, "the CSV to load", |a| a.data.as_ref().is_some_and(|d| d.dataset.name == "table") && !a.busy() && !a.map.view.is_empty());
    let rows: Vec<usize> = (0..h.state().map.view.len()).filter(|r| r % 5 == 1).collect();
    let ds = h.state().data.as_ref().unwrap().dataset.clone();
    let sources: Vec<String> = rows.iter().map(|&r| ds.item_source(h.state().item_of_row(r).unwrap())).collect();
    let dropped: Vec<usize> = sources.iter().map(|s| s.strip_prefix("row:").unwrap().parse().unwrap()).collect();
    h.state_mut().command(Command::Select(rows));
    h.state_mut().settings.right_tab = RightTab::Selection;
    h.step();
    h.step();

    h.get_by_label("New file without them").click();
    step_until(&mut h, "the new CSV", |a| !a.busy() && a.shell.status.starts_with("wrote"));
    assert!(h.state().shell.errors.is_empty(), "errors: {:?}", h.state().shell.errors);
    let written = std::fs::read_to_string(dir.path().join("out").join("table-without-selection.csv")).unwrap();
    let expected: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i == 0 || !dropped.contains(&(i - 1))).map(|(_, l)| l.as_str()).collect();
    assert_eq!(written.lines().collect::<Vec<_>>(), expected);

    h.get_by_label("List sources").click();
    step_until(&mut h, "the list of sources", |a| !a.busy() && a.shell.status.contains("sources"));
    let listed = std::fs::read_to_string(dir.path().join("out").join("selection-sources.txt")).unwrap();
    let mut want = sources.clone();
    want.sort();
    let mut got: Vec<String> = listed.lines().map(String::from).collect();
    got.sort();
    assert_eq!(got, want);

    h.get_by_label("Relabel in a new CSV").click();
    step_until(&mut h, "the relabelled CSV", |a| !a.busy() && a.shell.status.contains("labels set to"));
    let corrections = std::fs::read_to_string(dir.path().join("out").join("table-relabelled-corrections.csv")).unwrap();
    // The class list starts with "even"; the odd rows among the selection change.
    let changed = dropped.iter().filter(|&&r| r % 2 == 1).count();
    assert_eq!(corrections.lines().count(), 1 + changed, "{corrections}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), lines.join("\n") + "\n", "the user's CSV is untouched");
}

#[test]
fn selecting_diverse_items_picks_that_many_covering_the_map_better_than_chance() {
    let mut h = harness();
    wait_for_sample(&mut h);
    h.state_mut().settings.right_tab = RightTab::Selection;
    h.state_mut().selection.diverse.n = 12;
    h.step();
    h.get_by_label("Select").click();
    step_until(&mut h, "the diverse pick", |a| a.selection.count > 0 && !a.busy());
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    assert_eq!(app.selection.count, 12, "exactly the asked number of map rows is selected");
    let report = app.selection.diverse.last.expect("the panel reports the pick");
    assert!(report.radius < report.random_radius, "k-center covers the map better than a random pick: {} vs {}", report.radius, report.random_radius);
    h.get_by_label_contains("every map item is within");
}

#[test]
fn an_id_column_names_each_row_and_is_written_with_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("keyed.csv");
    let mut lines = vec!["key,a,b,label".to_string()];
    lines.extend((0..40).map(|r| format!("K-{r:03},{},{},{}", r, (r * 3) % 7, if r % 2 == 0 { "even" } else { "odd" })));
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let mut h = harness();
    wait_for_sample(&mut h);
    h.state_mut().dataset.read_options.id_column = "key".into();
    h.state_mut().command(Command::OpenDataset(csv));
    step_until(&mut h, "the CSV to load", |a| a.data.as_ref().is_some_and(|d| d.dataset.name == "keyed") && !a.busy() && !a.map.view.is_empty());
    let ds = h.state().data.as_ref().unwrap().dataset.clone();
    assert_eq!(ds.modality, pretext::data::Modality::Table { columns: vec!["a".into(), "b".into()] }, "the id column is not a feature");
    let item = h.state().item_of_row(0).unwrap();
    let row: usize = ds.item_source(item).strip_prefix("row:").unwrap().parse().unwrap();
    // Tooltips and the neighbours list name an item by this.
    assert_eq!(ds.item_name(item), format!("row:{row} · id:K-{row:03}"));

    let out = dir.path().join("export");
    h.state_mut().command(Command::Export(out.clone()));
    step_until(&mut h, "the export", |a| !a.busy() && a.shell.status.starts_with("exported"));
    let written = std::fs::read_to_string(out.join("embeddings.csv")).unwrap();
    let header: Vec<&str> = written.lines().next().unwrap().split(',').collect();
    let id_at = header.iter().position(|c| *c == "id").expect("the export has an id column");
    let source_at = header.iter().position(|c| *c == "source").expect("the export has a source column");
    for line in written.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let row: usize = cells[source_at].strip_prefix("row:").unwrap().parse().unwrap();
        assert_eq!(cells[id_at], format!("K-{row:03}"), "each exported row keeps its own id");
    }
    let meta = std::fs::read_to_string(out.join("projector").join("metadata.tsv")).unwrap();
    assert!(meta.lines().next().unwrap().split('\t').any(|c| c == "id"), "the projector's metadata has an id column");
}
