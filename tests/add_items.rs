//! The headless side of adding items to a map and choosing items to label: `pretext embed
//! --run R --data NEW` embeds NEW with the run's encoder and places it into the run's map as
//! the split "added" (in the run, or in a copy), and `pretext select` writes a list of
//! diverse items that `pretext curate --from` reads.

use std::path::Path;
use std::process::Command;

use pretext::export::{read_npy_ints, read_npy_matrix};

fn pretext(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pretext")).args(args).output().expect("run pretext");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn p(path: &Path) -> &str {
    path.to_str().expect("a path")
}

/// `rows` rows of two well-apart classes, a (even rows) and b (odd rows), with some wiggle.
fn two_class_csv(path: &Path, rows: usize, salt: usize) {
    let mut lines = vec!["f0,f1,f2,f3,label".to_string()];
    for r in 0..rows {
        let class = if r % 2 == 0 { "a" } else { "b" };
        let centre = if class == "a" { -3.0 } else { 3.0 };
        let wiggle = |j: usize| ((((r + salt) * 31 + j * 17) % 23) as f32 / 23.0 - 0.5) * 1.5;
        let values: Vec<String> = (0..4).map(|j| format!("{:.3}", centre + wiggle(j))).collect();
        lines.push(format!("{},{class}", values.join(",")));
    }
    std::fs::write(path, lines.join("\n") + "\n").expect("csv");
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("json")
}

/// Mean map position of the run's map items of class `label`.
fn class_centre(run: &Path, label: i64) -> [f32; 2] {
    let layout = read_npy_matrix(&run.join("layout.npy")).expect("layout");
    let labels = read_npy_ints(&run.join("labels.npy")).expect("labels");
    let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == label).collect();
    let n = rows.len() as f32;
    [rows.iter().map(|&i| layout.data[2 * i]).sum::<f32>() / n, rows.iter().map(|&i| layout.data[2 * i + 1]).sum::<f32>() / n]
}

#[test]
fn new_rows_join_the_map_beside_their_class_and_selections_feed_curate() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (table, new) = (dir.path().join("table.csv"), dir.path().join("new.csv"));
    two_class_csv(&table, 60, 0);
    two_class_csv(&new, 10, 5);
    let run = dir.path().join("run");
    let (ok, _, err) = pretext(&["embed", "--data", p(&table), "--out", p(&run)]);
    assert!(ok, "{err}");

    // Added into the run itself, placed on a PCA map saved the first time.
    let (ok, _, err) = pretext(&["embed", "--run", p(&run), "--data", p(&new)]);
    assert!(ok, "{err}");
    assert!(err.contains("added 10 items"), "{err}");
    assert_eq!(json(&run.join("layout.json"))["method"], "pca");
    assert_eq!(read_npy_matrix(&run.join("layout.npy")).expect("layout").rows, 60, "one position per map item");
    let items = json(&run.join("added/items.json"));
    assert_eq!(items["split"], "added");
    let sources: Vec<&str> = items["sources"].as_array().expect("sources").iter().filter_map(|s| s.as_str()).collect();
    let mut sorted = sources.clone();
    sorted.sort_by_key(|s| s.trim_start_matches("row:").parse::<usize>().unwrap_or(usize::MAX));
    assert_eq!(sorted, (0..10).map(|r| format!("row:{r}")).collect::<Vec<_>>(), "each added item keeps its row of new.csv");
    let positions = read_npy_matrix(&run.join("added/positions.npy")).expect("positions");
    assert_eq!((positions.rows, positions.cols), (10, 2));
    let labels: Vec<&str> = items["labels"].as_array().expect("labels").iter().filter_map(|s| s.as_str()).collect();
    let (a, b) = (class_centre(&run, 0), class_centre(&run, 1));
    let d = |p: &[f32], c: [f32; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
    for (i, label) in labels.iter().enumerate() {
        let pos = &positions.data[2 * i..2 * i + 2];
        let (own, other) = if *label == "a" { (a, b) } else { (b, a) };
        assert!(d(pos, own) < d(pos, other), "added {} ({label}) at {pos:?} is nearer the other class's centre", sources[i]);
    }

    // Into a copy, on a UMAP map: the earlier items are placed again with the new ones, and
    // the run itself is left as it was.
    let copy = dir.path().join("with-more");
    let (ok, _, err) = pretext(&["embed", "--run", p(&run), "--data", p(&new), "--projection", "umap", "--out", p(&copy)]);
    assert!(ok, "{err}");
    assert_eq!(json(&copy.join("layout.json"))["method"], "umap");
    assert_eq!(json(&copy.join("added/items.json"))["sources"].as_array().map(Vec::len), Some(20));
    assert_eq!(read_npy_matrix(&copy.join("added/positions.npy")).expect("positions").rows, 20);
    assert_eq!(json(&run.join("added/items.json"))["sources"].as_array().map(Vec::len), Some(10));
    assert_eq!(json(&run.join("layout.json"))["method"], "pca");
    // A copy never lands on a folder that holds something.
    let (ok, _, err) = pretext(&["embed", "--run", p(&run), "--data", p(&new), "--out", p(&copy)]);
    assert!(!ok && err.contains("not empty"), "{err}");

    // Items of another kind are refused in words.
    let texts = dir.path().join("notes.txt");
    std::fs::write(&texts, "one line\nanother line\na third\n").expect("txt");
    let (ok, _, err) = pretext(&["embed", "--run", p(&run), "--data", p(&texts)]);
    assert!(!ok && err.contains("encoder takes"), "{err}");

    // Diverse items to label, as a list curate reads.
    for method in ["k-center", "typical"] {
        let list = dir.path().join(format!("{method}.txt"));
        let (ok, _, err) = pretext(&["select", "--run", p(&run), "--coreset", "6", "--method", method, "--out", p(&list)]);
        assert!(ok, "{err}");
        let text = std::fs::read_to_string(&list).expect("list");
        let picked: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(picked.len(), 6, "{text}");
        assert!(picked.iter().all(|s| s.starts_with("row:")), "{text}");
        let again = dir.path().join(format!("{method}-sources.txt"));
        let (ok, _, err) = pretext(&["curate", "--run", p(&run), "--from", p(&list), "--list", p(&again)]);
        assert!(ok, "{err}");
        assert_eq!(std::fs::read_to_string(&again).expect("sources").lines().count(), 6);
        let (ok, _, err) = pretext(&["select", "--run", p(&run), "--coreset", "6", "--out", p(&list)]);
        assert!(!ok && err.contains("exists already"), "{err}");
    }
    let (ok, _, err) = pretext(&["select", "--run", p(&run), "--coreset", "61"]);
    assert!(!ok && err.contains("cannot select 61 items from 60"), "{err}");
    let (ok, out, err) = pretext(&["select", "--run", p(&run), "--coreset", "3"]);
    assert!(ok && out.lines().filter(|l| l.starts_with("row:")).count() == 3, "{out}{err}");
}
