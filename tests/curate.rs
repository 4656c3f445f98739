//! The curation loop on the command line: a planted duplicate row and a flipped label in a
//! CSV come out of `pretext scores` under their CSV row numbers, and `pretext curate` writes
//! a new CSV without the duplicate (exactly the other rows), a relabelled CSV with its
//! corrections file, and copies of selected image files; the user's files are never written.

use std::path::Path;
use std::process::Command;

fn pretext(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pretext")).args(args).output().expect("run pretext");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn p(path: &Path) -> &str {
    path.to_str().expect("a path")
}

/// 60 rows of two well-apart classes; row 17 repeats row 5 exactly, row 30 (class a by its
/// values) is labelled b.
fn planted_csv(path: &Path) -> Vec<String> {
    let mut lines = vec!["f0,f1,f2,f3,label".to_string()];
    for r in 0..60usize {
        let class = if r % 2 == 0 { "a" } else { "b" };
        let centre = if class == "a" { -3.0 } else { 3.0 };
        let wiggle = |j: usize| (((r * 31 + j * 17) % 23) as f32 / 23.0 - 0.5) * 1.5;
        let values: Vec<String> = (0..4).map(|j| format!("{:.3}", centre + wiggle(j))).collect();
        lines.push(format!("{},{class}", values.join(",")));
    }
    lines[18] = lines[6].clone(); // data row 17 = data row 5 (line 0 is the header)
    lines[31] = lines[31].replace(",a", ",b"); // row 30: class a's values, label b
    std::fs::write(path, lines.join("\n") + "\n").expect("csv");
    lines
}

#[test]
fn scores_name_csv_rows_and_curate_writes_new_files() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let csv = dir.path().join("table.csv");
    let lines = planted_csv(&csv);
    let run = dir.path().join("run");
    let (ok, err) = pretext(&["train", "--data", p(&csv), "--objective", "simclr", "--epochs", "20", "--batch", "16", "--out", p(&run)]);
    assert!(ok, "{err}");
    let scores = dir.path().join("scores.csv");
    let (ok, err) = pretext(&["scores", "--run", p(&run), "--csv", p(&scores)]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&scores).expect("scores");
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().expect("a header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} in {header:?}"));
    let (source, group, label_error) = (col("source"), col("duplicate_group"), col("label_error"));
    let rows: Vec<Vec<String>> = rows.map(|l| l.split(',').map(String::from).collect()).collect();
    let by_source = |s: &str| rows.iter().find(|r| r[source] == s).unwrap_or_else(|| panic!("no row {s}"));
    assert!(!by_source("row:5")[group].is_empty(), "the duplicate is in a group");
    assert_eq!(by_source("row:5")[group], by_source("row:17")[group], "rows 5 and 17 are one duplicate group");
    let mut ranked: Vec<(f32, String)> = rows.iter().map(|r| (r[label_error].parse().unwrap_or(0.0), r[source].clone())).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top: Vec<&str> = ranked.iter().take(3).map(|(_, s)| s.as_str()).collect();
    assert!(top.contains(&"row:30"), "the flipped label ranks among the 3 likeliest label errors: {top:?}");

    // A new CSV without the duplicate: exactly the other rows, in order, header kept.
    let without = dir.path().join("without.csv");
    let (ok, err) = pretext(&["curate", "--run", p(&run), "--items", "row:17", "--without", p(&without)]);
    assert!(ok, "{err}");
    let written = std::fs::read_to_string(&without).expect("the new CSV");
    let expected: Vec<&String> = lines.iter().enumerate().filter(|(i, _)| *i != 18).map(|(_, l)| l).collect();
    assert_eq!(written.lines().collect::<Vec<_>>(), expected.iter().map(|s| s.as_str()).collect::<Vec<_>>());

    // The flipped label set back, and the change listed.
    let fixed = dir.path().join("fixed.csv");
    let (ok, err) = pretext(&["curate", "--run", p(&run), "--items", "row:30,row:32", "--relabel", "a", "--relabelled", p(&fixed)]);
    assert!(ok, "{err}");
    let fixed_lines: Vec<String> = std::fs::read_to_string(&fixed).expect("fixed").lines().map(String::from).collect();
    assert_eq!(fixed_lines[31], lines[31].replace(",b", ",a"));
    for (i, (a, b)) in fixed_lines.iter().zip(&lines).enumerate() {
        if i != 31 {
            assert_eq!(a, b, "line {i} unchanged (row 32 was already a)");
        }
    }
    let corrections = std::fs::read_to_string(dir.path().join("fixed-corrections.csv")).expect("corrections");
    assert_eq!(corrections.lines().collect::<Vec<_>>(), ["source,old_label,new_label", "row:30,b,a"]);

    // Never over the user's file.
    let before = std::fs::read_to_string(&csv).expect("csv");
    let (ok, err) = pretext(&["curate", "--run", p(&run), "--items", "row:1", "--without", p(&csv)]);
    assert!(!ok && err.contains("exists already"), "{err}");
    assert_eq!(std::fs::read_to_string(&csv).expect("csv"), before);
}

#[test]
fn selected_image_files_are_listed_and_copied_with_their_class_folders() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let images = dir.path().join("images");
    for (class, level) in [("cat", 30u8), ("dog", 220u8)] {
        std::fs::create_dir_all(images.join(class)).expect("a folder");
        for i in 0..4 {
            let pixels: Vec<u8> = (0..64).map(|q| level.wrapping_add((q * (i + 1)) as u8)).collect();
            image::save_buffer(images.join(class).join(format!("{i}.png")), &pixels, 8, 8, image::ColorType::L8).expect("png");
        }
    }
    let list = dir.path().join("picked.txt");
    let out = dir.path().join("picked");
    let (ok, err) = pretext(&["curate", "--data", p(&images), "--items", "cat/1.png,dog/3.png", "--list", p(&list), "--copy-to", p(&out)]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read_to_string(&list).expect("list").lines().collect::<std::collections::BTreeSet<_>>(), ["cat/1.png", "dog/3.png"].into());
    for f in ["cat/1.png", "dog/3.png"] {
        assert_eq!(std::fs::read(out.join(f)).expect("a copy"), std::fs::read(images.join(f)).expect("the file"), "{f}");
    }
    assert_eq!(std::fs::read_dir(out.join("cat")).expect("cat").count(), 1, "only the selected files");
    // The list reads back as the same selection.
    let again = dir.path().join("again");
    let (ok, err) = pretext(&["curate", "--data", p(&images), "--from", p(&list), "--copy-to", p(&again), "--link"]);
    assert!(ok, "{err}");
    assert!(again.join("dog/3.png").is_file());
}
