//! `pretext export-torch`: a trained run written as a PyTorch Lightning project. Checked
//! without PyTorch: the files, every training setting carried into `RECIPE` with its value
//! (or named in the project's README as not reproduced), pretext's items in `split/`, the
//! start weights, and the Python parsing (`python3 -m py_compile`, when python3 is there).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const PYTHON_FILES: [&str; 7] = ["train.py", "data.py", "augment.py", "models.py", "objectives.py", "evaluate.py", "takeback.py"];

fn pretext(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pretext")).args(args).output().expect("run pretext");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// An MNIST-style folder of 12×12 images in three classes (a bright bar whose row depends on
/// the class, plus a little per-item texture): train and t10k files.
fn write_images(dir: &Path) {
    std::fs::create_dir_all(dir).expect("a folder");
    for (prefix, n) in [("train", 48usize), ("t10k", 18)] {
        let mut pixels = Vec::with_capacity(n * 144);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let class = i % 3;
            for p in 0..144 {
                let row = p / 12;
                let bar = if row / 4 == class { 200 } else { 20 };
                pixels.push((bar + (i * 7 + p * 13) % 40) as u8);
            }
            labels.push(class as u8);
        }
        pretext::data::idx::write_idx(&dir.join(format!("{prefix}-images-idx3-ubyte")), &[n, 12, 12], &pixels, false).expect("idx images");
        pretext::data::idx::write_idx(&dir.join(format!("{prefix}-labels-idx1-ubyte")), &[n], &labels, false).expect("idx labels");
    }
}

/// A labelled CSV of two groups (one pool: pretext splits it 80/20 with a seed).
fn write_table(path: &Path) {
    let mut text = String::from("a,b,c,d,label\n");
    for i in 0..60 {
        let off = if i % 2 == 0 { -2.0 } else { 2.0 };
        let j = (i * 37 % 17) as f32 / 17.0;
        text += &format!("{},{},{},{},{}\n", off + j, -off + 0.5 * j, j, 1.0 - j, if i % 2 == 0 { "left" } else { "right" });
    }
    std::fs::write(path, text).expect("a table");
}

/// Every leaf of a JSON object by dotted key (arrays are leaves), written independently of
/// the exporter's own walk.
fn leaves(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            leaves(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, v, out);
        }
    } else {
        out.insert(prefix.to_string(), value.clone());
    }
}

/// `RECIPE` of train.py, one `"key": literal,` line per setting, read back as JSON.
fn recipe_of(train_py: &str) -> BTreeMap<String, Value> {
    let start = train_py.find("RECIPE = {\n").expect("train.py defines RECIPE") + "RECIPE = {\n".len();
    let end = start + train_py[start..].find("\n}\n").expect("RECIPE ends");
    train_py[start..end]
        .lines()
        .map(|line| {
            let line = line.trim().strip_suffix(',').unwrap_or_else(|| panic!("a RECIPE line ends with a comma: {line}"));
            let (key, literal) = line.split_once(": ").unwrap_or_else(|| panic!("a RECIPE line is key: value: {line}"));
            let key: String = serde_json::from_str(key).expect("a quoted key");
            // Python's spellings of JSON's constants, outside strings (keys and values here hold none of these words).
            let json = literal.replace("True", "true").replace("False", "false").replace("None", "null");
            let value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{key}: {literal} is not a literal ({e})"));
            (key, value)
        })
        .collect()
}

fn same_number(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn values_match(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_match(p, q)),
        _ => same_number(a, b),
    }
}

/// Checks an exported project against the run it came from; returns the README.
fn check_project(run: &Path, project: &Path) -> String {
    for f in PYTHON_FILES.iter().chain(&["requirements.txt", "README.md", "pretext_run.json", "weights/start.safetensors"]) {
        assert!(project.join(f).is_file(), "{f} was not written");
    }
    for f in ["train", "test", "eval_train", "eval_test", "map"] {
        assert!(project.join("split").join(format!("{f}.npy")).is_file(), "split/{f}.npy was not written");
    }
    let requirements = std::fs::read_to_string(project.join("requirements.txt")).expect("requirements");
    for line in requirements.lines() {
        let (name, version) = line.split_once("==").unwrap_or_else(|| panic!("a pinned requirement: {line}"));
        assert!(!name.is_empty() && version.split('.').all(|p| p.parse::<u32>().is_ok()), "{line}");
    }
    for needed in ["torch==", "lightning==", "lightly==", "torchvision==", "safetensors=="] {
        assert!(requirements.contains(needed), "{needed} missing from requirements.txt:\n{requirements}");
    }

    let config: Value = serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).expect("config")).expect("json");
    let mut settings = BTreeMap::new();
    leaves("", &config["train"], &mut settings);
    let train_py = std::fs::read_to_string(project.join("train.py")).expect("train.py");
    let recipe = recipe_of(&train_py);
    assert_eq!(recipe.keys().collect::<Vec<_>>(), settings.keys().collect::<Vec<_>>(), "RECIPE holds every training setting");
    for (key, value) in &settings {
        assert!(values_match(&recipe[key], value), "{key}: RECIPE has {} but the run has {value}", recipe[key]);
    }

    let readme = std::fs::read_to_string(project.join("README.md")).expect("README");
    let sources: Vec<String> = PYTHON_FILES.iter().map(|f| std::fs::read_to_string(project.join(f)).expect("a module")).collect();
    for key in settings.keys() {
        let read = sources.iter().any(|s| s.contains(&format!("[\"{key}\"]")));
        let listed = readme.contains(&format!("`{key}`"));
        assert!(read || listed, "{key} is neither read by the program nor listed in its README");
    }
    assert!(readme.contains("## What this project does not reproduce exactly"), "{readme}");

    let dataset = &config["dataset"];
    let n = |v: &Value| v.as_u64().expect("a count") as usize;
    let ints = |f: &str| pretext::export::read_npy_ints(&project.join("split").join(f)).expect("an index file");
    let (train, test) = (ints("train.npy"), ints("test.npy"));
    assert_eq!((train.len(), test.len()), (n(&dataset["train_items"]), n(&dataset["test_items"])));
    let mut all: Vec<i64> = train.iter().chain(&test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..(train.len() + test.len()) as i64).collect::<Vec<_>>(), "every source item is in exactly one split");
    let map = pretext::export::read_npy_ints(&run.join("indices.npy")).expect("the run's indices");
    assert_eq!(ints("map.npy"), map, "the map's items are the run's");

    let carried: Value = serde_json::from_str(&std::fs::read_to_string(project.join("pretext_run.json")).expect("run json")).expect("json");
    assert_eq!(carried["train"], config["train"]);
    assert_eq!(carried["dataset"], config["dataset"]);

    py_compile(project);
    readme
}

/// `python3 -m py_compile` on every module (skipped, with a note, where python3 is missing).
fn py_compile(project: &Path) {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 is not installed: the project's parsing is not checked here");
        return;
    }
    for f in PYTHON_FILES {
        let out = Command::new("python3").args(["-m", "py_compile", f]).current_dir(project).output().expect("python3");
        assert!(out.status.success(), "{f} does not parse: {}", String::from_utf8_lossy(&out.stderr));
    }
}

fn tensor_names(path: &Path) -> Vec<String> {
    let mut names: Vec<String> = candle_core::safetensors::load(path, &candle_core::Device::Cpu).expect("weights").into_keys().collect();
    names.sort();
    names
}

#[test]
fn an_image_run_becomes_a_project_that_carries_every_setting() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("idx");
    write_images(&data);
    let run = dir.path().join("run");
    let p = |x: &Path| x.to_str().expect("a path").to_string();
    // Settings away from their defaults, so a value lost on the way would show.
    let (ok, _, err) = pretext(&[
        "train", "--data", &p(&data), "--objective", "byol", "--epochs", "2", "--batch", "16", "--seed", "7", "--lr", "0.003",
        "--momentum", "0.95", "--crop-min-scale", "0.6", "--width", "8", "--eval-every", "5", "--out", &p(&run),
    ]);
    assert!(ok, "{err}");

    let project = dir.path().join("project");
    let (ok, _, err) = pretext(&["export-torch", &p(&run), "--out", &p(&project)]);
    assert!(ok, "{err}");
    assert!(err.contains("PyTorch Lightning project written"), "{err}");
    let readme = check_project(&run, &project);
    assert!(readme.contains("BYOL"), "{readme}");
    // A trained run starts from its trained weights, and BYOL's teacher goes with it.
    assert_eq!(std::fs::read(project.join("weights/start.safetensors")).expect("start"), std::fs::read(run.join("checkpoint.safetensors")).expect("run"));
    assert_eq!(std::fs::read(project.join("weights/teacher.safetensors")).expect("teacher"), std::fs::read(run.join("teacher.safetensors")).expect("run"));
    let train_py = std::fs::read_to_string(project.join("train.py")).expect("train.py");
    assert!(train_py.contains(&format!("\"source\": {}", Value::String(p(&data)))), "the data's path is carried");

    // A folder with files in it is not overwritten without --force.
    let (ok, _, err) = pretext(&["export-torch", &p(&run), "--out", &p(&project)]);
    assert!(!ok && err.contains("not empty") && err.contains("--force"), "{err}");
    // From the start: the recipe's seeded weights (same names, other values), no teacher.
    let (ok, _, err) = pretext(&["export-torch", &p(&run), "--out", &p(&project), "--force", "--from-start"]);
    assert!(ok, "{err}");
    let start = project.join("weights/start.safetensors");
    assert_eq!(tensor_names(&start), tensor_names(&run.join("checkpoint.safetensors")));
    assert_ne!(std::fs::read(&start).expect("start"), std::fs::read(run.join("checkpoint.safetensors")).expect("run"), "the trained weights were written");
    assert!(!project.join("weights/teacher.safetensors").exists(), "a stale teacher was left behind");
    check_project(&run, &project);
}

#[test]
fn a_table_run_becomes_a_project_and_a_text_run_is_refused() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("table.csv");
    write_table(&data);
    let run = dir.path().join("run");
    let p = |x: &Path| x.to_str().expect("a path").to_string();
    let (ok, _, err) = pretext(&["train", "--data", &p(&data), "--epochs", "2", "--batch", "16", "--seed", "3", "--split-seed", "5", "--out", &p(&run)]);
    assert!(ok, "{err}");
    let project = dir.path().join("project");
    let (ok, _, err) = pretext(&["export-torch", &p(&run), "--out", &p(&project)]);
    assert!(ok, "{err}");
    let readme = check_project(&run, &project);
    assert!(readme.contains("Masked autoencoder"), "tables start with the masked autoencoder: {readme}");
    let train_py = std::fs::read_to_string(project.join("train.py")).expect("train.py");
    assert!(train_py.contains("\"split_seed\": 5"), "the split's seed is carried");
    // The seeded 80/20 split: not the first 48 rows.
    let train = pretext::export::read_npy_ints(&project.join("split/train.npy")).expect("train items");
    assert_ne!(train, (0..train.len() as i64).collect::<Vec<_>>(), "a seeded split is shuffled");

    let text = dir.path().join("lines.txt");
    std::fs::write(&text, (0..40).map(|i| format!("line number {i} about {}\n", if i % 2 == 0 { "cats" } else { "boats" })).collect::<String>()).expect("texts");
    let text_run = dir.path().join("text-run");
    let (ok, _, err) = pretext(&["train", "--data", &p(&text), "--epochs", "1", "--batch", "8", "--out", &p(&text_run)]);
    assert!(ok, "{err}");
    let (ok, _, err) = pretext(&["export-torch", &p(&text_run), "--out", &p(&dir.path().join("text-project"))]);
    assert!(!ok, "a text run was exported");
    assert!(err.contains("image and table runs"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
