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
fn compare_puts_runs_side_by_side_and_measures_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path());
    let (a, b) = (dir.path().join("run-a"), dir.path().join("run-b"));
    for (run, seed, lr) in [(&a, "0", "0.002"), (&b, "1", "0.01")] {
        let (ok, _, err) = pretext(&["train", "--data", &data, "--objective", "simclr", "--epochs", "2", "--batch", "32", "--seed", seed, "--lr", lr, "--out", run.to_str().unwrap()]);
        assert!(ok, "{err}");
    }
    // Run b lost its evaluation: compare measures it again and says so.
    std::fs::remove_file(b.join("evaluation.json")).unwrap();
    let (ok, out, err) = pretext(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    assert!(err.contains("run-b") && err.contains("measuring"), "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).expect("--json prints JSON");
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "run-a");
    assert_eq!(rows[1]["name"], "run-b");
    assert_eq!(rows[0]["evaluation"], "saved");
    assert_eq!(rows[1]["evaluation"], "computed");
    assert!(b.join("evaluation.json").is_file(), "the measured evaluation is kept beside the run");
    for (row, seed, lr) in [(&rows[0], 0, 0.002), (&rows[1], 1, 0.01)] {
        assert_eq!(row["objective"], "simclr");
        assert_eq!(row["batch"], 32);
        assert_eq!(row["seed"], seed);
        assert!((row["learning_rate"].as_f64().unwrap() - lr).abs() < 1e-12);
        assert_eq!(row["steps"], 6, "96 train items in batches of 32 for 2 epochs");
        assert!(row["train_minutes"].as_f64().unwrap() > 0.0, "training time is recorded");
        for metric in ["knn_accuracy", "probe_1pct", "probe_100pct", "kmeans_nmi", "kmeans_ari", "effective_rank"] {
            let v = row[metric].as_f64().unwrap_or_else(|| panic!("{metric} missing: {row}"));
            assert!((0.0..=128.0).contains(&v), "{metric} = {v}");
        }
        assert!(row["probe_100pct"].as_f64().unwrap() > 0.9, "a linear probe separates two far-apart groups");
    }
    // The same measurement as `pretext eval`.
    let (ok, out, err) = pretext(&["eval", "--run", b.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let eval: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(eval["knn_accuracy"], rows[1]["knn_accuracy"]);
    assert_eq!(eval["probe_100pct"], rows[1]["probe_100pct"]);

    let (ok, out, err) = pretext(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("run") && lines[0].contains("probe 1%") && lines[0].contains("train min"), "{out}");
    assert!(lines[1].starts_with("run-a") && lines[2].starts_with("run-b"), "{out}");
    let (ok, out, err) = pretext(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--csv"]);
    assert!(ok, "{err}");
    let mut csv = csv::Reader::from_reader(out.as_bytes());
    assert!(csv.headers().unwrap().iter().any(|h| h == "knn_accuracy"));
    assert_eq!(csv.records().count(), 2);

    // A run of another dataset gets its own table; a folder that is no run is refused.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let other_data = write_table(&other);
    std::fs::write(&other_data, std::fs::read_to_string(&other_data).unwrap() + "9,9,9,left\n").unwrap();
    let c = dir.path().join("run-c");
    let (ok, _, err) = pretext(&["train", "--data", &other_data, "--epochs", "1", "--batch", "32", "--out", c.to_str().unwrap()]);
    assert!(ok, "{err}");
    let (ok, out, err) = pretext(&["compare", a.to_str().unwrap(), c.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().filter(|l| l.starts_with("dataset ")).count(), 2, "{out}");
    let (ok, _, err) = pretext(&["compare", a.to_str().unwrap(), dir.path().to_str().unwrap()]);
    assert!(!ok && err.contains("not a pretext run folder"), "{err}");
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

#[test]
fn scores_writes_one_row_per_item() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path());
    let run = dir.path().join("run");
    let (ok, _, err) = pretext(&["train", "--data", &data, "--epochs", "2", "--batch", "32", "--out", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    let csv = dir.path().join("scores.csv");
    let (ok, _, err) = pretext(&["scores", "--run", run.to_str().unwrap(), "--csv", csv.to_str().unwrap()]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("item,label,uniqueness,duplicate_group,label_error,representativeness,map_disagreement,source"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 120);
    // Each item names its CSV row (0-based below the header), every row once.
    let mut named: Vec<usize> = rows.iter().map(|r| r[7].strip_prefix("row:").and_then(|n| n.parse().ok()).expect("a row:N source")).collect();
    named.sort_unstable();
    assert_eq!(named, (0..120).collect::<Vec<_>>());
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), 8);
        assert_eq!(r[0], i.to_string());
        assert!(r[1] == "left" || r[1] == "right");
        for col in [2, 4, 5, 6] {
            let v: f32 = r[col].parse().unwrap();
            assert!((0.0..=1.0).contains(&v), "row {i} column {col}: {v}");
        }
    }
}

#[test]
fn tables_train_with_the_masked_autoencoder_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path());
    for (flags, expected) in [(vec![], "mae"), (vec!["--objective", "vicreg"], "vicreg")] {
        let run = dir.path().join(format!("run-{expected}"));
        let mut args = vec!["train", "--data", &data, "--epochs", "1", "--batch", "32", "--out", run.to_str().unwrap()];
        args.extend(flags);
        let (ok, _, err) = pretext(&args);
        assert!(ok, "{err}");
        let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
        assert_eq!(config["train"]["objective"], expected);
    }
}

#[test]
fn a_run_on_a_csv_text_column_reopens_without_naming_the_column_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("notes.csv");
    let mut csv = String::from("kind,body,id\n");
    for i in 0..60 {
        csv += &format!("{},\"{} number {i}\",{i}\n", ["fruit", "tool"][i % 2], ["apple pear plum fig", "hammer saw drill wrench"][i % 2]);
    }
    std::fs::write(&data, csv).unwrap();
    let run = dir.path().join("run");
    let (ok, out, err) = pretext(&[
        "train", "--data", data.to_str().unwrap(), "--text-column", "body", "--label-column", "kind",
        "--epochs", "2", "--batch", "16", "--out", run.to_str().unwrap(), "--json",
    ]);
    assert!(ok, "{err}");
    let trained: serde_json::Value = serde_json::from_str(&out).unwrap();
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["dataset"]["columns"]["text_column"], "body");
    std::fs::remove_file(run.join("evaluation.json")).unwrap();
    let (ok, out, err) = pretext(&["eval", "--run", run.to_str().unwrap(), "--json"]);
    assert!(ok, "eval reads the CSV as texts again: {err}");
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["knn_accuracy"], trained["knn_accuracy"], "measured on the same texts and labels");
}

#[test]
fn probe_reports_accuracy_per_label_budget_with_a_confusion_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path());
    let run = dir.path().join("run");
    let (ok, _, err) = pretext(&["train", "--data", &data, "--epochs", "2", "--batch", "32", "--out", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    let (ok, out, err) = pretext(&["probe", "--run", run.to_str().unwrap(), "--labels", "1-per-class,50%,100%", "--json"]);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let probes = r["probes"].as_array().unwrap();
    assert_eq!(probes.iter().map(|p| p["labels"].as_str().unwrap()).collect::<Vec<_>>(), ["1-per-class", "50%", "100%"]);
    let classes = r["classes"].as_array().unwrap().len();
    assert_eq!(probes[0]["train_items"], classes, "one labelled item per class");
    for p in probes {
        let confusion: Vec<Vec<u64>> = serde_json::from_value(p["confusion"].clone()).unwrap();
        let total: u64 = confusion.iter().flatten().sum();
        let diagonal: u64 = (0..confusion.len()).map(|i| confusion[i][i]).sum();
        assert_eq!(total, r["test_items"].as_u64().unwrap());
        assert!((p["test_accuracy"].as_f64().unwrap() - diagonal as f64 / total as f64).abs() < 1e-9, "accuracy is the confusion's diagonal");
    }
    assert!(probes[2]["test_accuracy"].as_f64().unwrap() > 0.9, "two far-apart groups");
    let (ok, _, err) = pretext(&["probe", "--run", run.to_str().unwrap(), "--labels", "150%"]);
    assert!(!ok && err.contains("150%"), "{err}");
}
