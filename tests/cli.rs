//! The `pretext` binary as a user runs it: exit codes, one-line errors, run folders.

use std::path::Path;
use std::process::Command;

fn pretext(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pretext")).args(args).output().expect("run pretext");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A labelled CSV of two well separated groups.
fn write_table(dir: &Path) -> String {
    let mut text = String::from("x,y,z,label\n");
    for i in 0..120 {
        let c = i % 2;
        let off = if c == 0 { -3.0 } else { 3.0 };
        let j = (i * 37 % 17) as f32 / 17.0;
        text += &format!("{},{},{},{}\n", off + j, -off + 0.5 * j, j, if c == 0 { "left" } else { "right" });
    }
    let p = dir.join("table.csv");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn bad_paths_and_files_fail_with_one_line() {
    let (ok, _, err) = pretext(&["baseline", "--data", "/no/such/dataset"]);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("/no/such/dataset") && err.contains("no such file"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n1,x\n").unwrap();
    let (ok, _, err) = pretext(&["train", "--data", bad.to_str().unwrap(), "--out", dir.path().join("r").to_str().unwrap()]);
    assert!(!ok);
    assert!(err.lines().last().unwrap().contains("row 1, column 'b'"), "{err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    let (ok, _, err) = pretext(&["eval", "--run", dir.path().to_str().unwrap()]);
    assert!(!ok && err.contains("not a pretext run folder"), "{err}");
}

#[test]
fn train_eval_neighbors_round_trip_on_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path());
    let run = dir.path().join("run");
    let (ok, out, err) = pretext(&["train", "--data", &data, "--epochs", "5", "--batch", "32", "--out", run.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let metrics: serde_json::Value = serde_json::from_str(&out).expect("--json prints JSON");
    let acc = metrics["knn_accuracy"].as_f64().unwrap();
    assert!(acc > 0.9, "two separated groups are easy: {acc}");
    for f in ["config.json", "checkpoint.safetensors", "embeddings.npy", "indices.npy", "labels.npy", "metrics.json", "evaluation.json"] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let (ok, out, err) = pretext(&["eval", "--run", run.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["knn_accuracy"], metrics["knn_accuracy"], "eval of the saved run repeats the training's numbers");

    let (ok, out, err) = pretext(&["neighbors", "--run", run.to_str().unwrap(), "--item", "3", "-k", "5", "--json"]);
    assert!(ok, "{err}");
    let nn: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = nn["neighbors"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r["item"] != 3), "the query is not its own neighbour");
    let d: Vec<f64> = rows.iter().map(|r| r["distance"].as_f64().unwrap()).collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "sorted by distance: {d:?}");
    let (ok, _, err) = pretext(&["neighbors", "--run", run.to_str().unwrap(), "--item", "100000"]);
    assert!(!ok && err.contains("not among"), "{err}");
}

#[test]
fn baseline_reports_raw_and_pca_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path());
    let (ok, out, err) = pretext(&["baseline", "--data", &data, "--pca-dim", "2", "--json"]);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["pca_dim"], 2);
    assert_eq!(r["raw_knn_accuracy"].as_f64().unwrap(), 1.0);
    assert_eq!(r["test_items"], 24);
    assert!(r["untrained_knn_accuracy"].as_f64().unwrap() > 0.9, "a random MLP keeps two far-apart groups apart");
}

#[test]
fn every_flag_of_every_command_has_help_text() {
    use clap::CommandFactory;
    fn check(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id != "help" && id != "version" && arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} --{id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            check(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    check(&pretext::cli::Cli::command(), "pretext", &mut missing);
    assert!(missing.is_empty(), "flags without help: {missing:?}");
    // `train --help` names every objective.
    let (ok, help, _) = pretext(&["train", "--help"]);
    assert!(ok);
    for o in pretext::ssl::ObjectiveKind::ALL {
        assert!(help.contains(o.key()), "train --help does not name {}", o.key());
    }
}
