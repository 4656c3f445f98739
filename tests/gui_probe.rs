//! GUI tests of the probe panel on a table of three well-separated blobs: a probe on the
//! labels scores near-perfectly; a probe on tags named after the classes predicts every
//! untagged item's class, colours the map by its prediction and lists its least sure items.

mod gui_support;

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use gui_support::*;
use pretext::app::settings::ColorBy;
use pretext::app::state::Command;
use pretext::app::tags::{TagCommand, Tags};
use pretext::app::PretextApp;

const ROWS: usize = 180;
const CLASSES: [&str; 3] = ["red", "green", "blue"];

/// Three blobs, one per class, each around its own axis of a 4-d space, with small jitter.
fn blobs(dir: &std::path::Path) -> std::path::PathBuf {
    let mut s = 12345u64;
    let mut noise = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let mut text = String::from("a,b,c,d,label\n");
    for i in 0..ROWS {
        let c = i % 3;
        let v: Vec<String> = (0..4).map(|j| format!("{:.4}", if j == c { 6.0 } else { 0.0 } + noise())).collect();
        text.push_str(&format!("{},{}\n", v.join(","), CLASSES[c]));
    }
    let path = dir.join("blobs.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn open_blobs(dir: &std::path::Path) -> Harness<'static, PretextApp> {
    let mut h = harness_on(tiny_settings(), Some(blobs(dir)));
    step_until(&mut h, "the blobs to load and be scored", |a| a.data.is_some() && a.map.view.len() == ROWS && !a.busy());
    h
}

fn class_of_row(app: &PretextApp, r: usize) -> &str {
    let d = app.data.as_ref().unwrap();
    d.dataset.class_name(d.labels.as_ref().unwrap()[r])
}

#[test]
fn a_probe_on_all_labels_of_separable_blobs_scores_near_perfectly_with_its_confusion_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_blobs(dir.path());
    h.get_by_label("Probe").click();
    h.step();
    h.get_by_label("100%").click();
    h.step();
    h.get_by_label("Fit probe on labels").click();
    step_until(&mut h, "the probe", |a| a.probe.labels.is_some() && !a.busy());
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    let (_, p) = app.probe.labels.as_ref().unwrap();
    let data = app.data.as_ref().unwrap();
    let test_rows = data.map_indices.iter().filter(|&&i| data.dataset.is_test(i)).count();
    assert!(test_rows > 0);
    assert_eq!(p.test_size, test_rows);
    assert_eq!(p.train_size, ROWS - test_rows, "100% of the train labels");
    assert!(p.accuracy > 0.95, "separable blobs, accuracy {}", p.accuracy);
    let total: usize = p.confusion.iter().flatten().sum();
    let diagonal: usize = (0..p.confusion.len()).map(|c| p.confusion[c][c]).sum();
    assert_eq!(total, test_rows);
    assert!((diagonal as f64 / total as f64 - p.accuracy).abs() < 1e-9);
    let shown = format!("Test accuracy {:.3}", p.accuracy);
    h.get_by_label(&shown);
}

#[test]
fn a_probe_on_tags_predicts_the_untagged_items_colours_the_map_and_lists_the_least_sure() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_blobs(dir.path());
    // Tag four items of each class with the class's name.
    for class in CLASSES {
        let rows: Vec<usize> = (0..ROWS).filter(|&r| class_of_row(h.state(), r) == class).take(4).collect();
        h.state_mut().command(Command::Select(rows));
        h.state_mut().command(Command::Tag(TagCommand::TagSelection(class.into())));
        h.step();
    }
    assert_eq!(h.state().tags.list.len(), 3);
    h.get_by_label("Probe").click();
    h.step();
    h.get_by_label("Fit probe on tags").click();
    step_until(&mut h, "the probe on tags", |a| a.probe.tags.is_some() && !a.busy());
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    let (_, p) = app.probe.tags.as_ref().unwrap();
    assert_eq!(p.train_size, 12);
    assert_eq!(p.uncertain.len(), ROWS - 12);
    for r in 0..ROWS {
        assert_eq!(p.tag_names[p.predicted[r] as usize], class_of_row(app, r), "row {r}");
    }
    // Tags named after the classes: the panel checks the predictions against the labels.
    let agree = p.uncertain.iter().filter(|&&r| p.tag_names[p.predicted[r] as usize] == class_of_row(app, r)).count();
    let agreement = agree as f64 / p.uncertain.len() as f64;
    assert_eq!(p.label_agreement, Some(agreement));
    let agreement_text = format!("Agrees with the dataset labels on {:.1}% of the untagged items", agreement * 100.0);
    let least = p.uncertain[0];
    let lowest = p.uncertain.iter().map(|&r| p.confidence[r]).fold(f32::MAX, f32::min);
    assert_eq!(p.confidence[least], lowest);
    let item = app.item_of_row(least).unwrap();
    let caption = format!("#{item} {} p={:.2}", p.tag_names[p.predicted[least] as usize], p.confidence[least]);
    let predicted = p.predicted.clone();
    h.get_by_label("Colour by prediction").click();
    h.step();
    h.step();
    let app = h.state();
    assert_eq!(app.settings.color_by, ColorBy::Predicted);
    for (r, &c) in predicted.iter().enumerate() {
        assert_eq!(app.point_color(r), Some(Tags::colour(c as usize)), "row {r}");
    }
    // The least sure item is first in the list to tag next.
    h.get_by_label("Probe").click();
    h.step();
    h.get_by_label(&caption);
    h.get_by_label(&agreement_text);
}
