//! Every item names where it came from: `pretext embed` writes each item's source beside its
//! embedding in `embeddings.parquet`, and the sources are the files, lines and rows the user
//! would look up.

use std::path::Path;
use std::process::Command;

use arrow_array::{Array, Int64Array, StringArray};

fn embed(data: &Path, out: &Path) {
    let out_s = out.to_str().expect("a path");
    let res = Command::new(env!("CARGO_BIN_EXE_pretext")).args(["embed", "--data", data.to_str().expect("a path"), "--out", out_s]).output().expect("run pretext");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
}

/// (index, source) of every row of a run's `embeddings.parquet`.
fn sources(run: &Path) -> Vec<(i64, String)> {
    let file = std::fs::File::open(run.join("embeddings.parquet")).expect("embeddings.parquet");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet").build().expect("reader");
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.expect("a batch");
        let index = batch.column_by_name("index").and_then(|c| c.as_any().downcast_ref::<Int64Array>().cloned()).expect("an index column");
        let source = batch.column_by_name("source").and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned()).expect("a source column");
        assert_eq!(source.null_count(), 0);
        out.extend((0..batch.num_rows()).map(|r| (index.value(r), source.value(r).to_string())));
    }
    out
}

/// `pretext neighbors --run RUN --item ITEM -k 3 --json`.
fn neighbors(run: &Path, item: &str) -> serde_json::Value {
    let res = Command::new(env!("CARGO_BIN_EXE_pretext"))
        .args(["neighbors", "--run", run.to_str().expect("a path"), "--item", item, "-k", "3", "--json"])
        .output()
        .expect("run pretext");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    serde_json::from_slice(&res.stdout).expect("JSON")
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn image_files_text_lines_and_csv_rows_are_named() {
    let dir = tempfile::tempdir().expect("a temp dir");
    // Images: class folders, sources relative to the root with '/'.
    let images = dir.path().join("images");
    let mut expected = Vec::new();
    for (class, level) in [("cat", 40u8), ("dog", 200u8)] {
        std::fs::create_dir_all(images.join(class)).expect("a folder");
        for i in 0..5 {
            let pixels: Vec<u8> = (0..64).map(|p| level.wrapping_add((p * i) as u8)).collect();
            image::save_buffer(images.join(class).join(format!("{i:03}.png")), &pixels, 8, 8, image::ColorType::L8).expect("png");
            expected.push(format!("{class}/{i:03}.png"));
        }
    }
    let run = dir.path().join("images-run");
    embed(&images, &run);
    let got = sources(&run);
    assert_eq!(got.len(), 10);
    assert_eq!(sorted(got.iter().map(|(_, s)| s.clone()).collect()), sorted(expected));
    // Asked for by its file, an item is found and every neighbour is named by its file.
    let found = neighbors(&run, "dog/003.png");
    assert_eq!(found["source"], "dog/003.png");
    let index = found["query"].as_u64().expect("the query's index");
    let by_index = neighbors(&run, &index.to_string());
    assert_eq!(by_index["neighbors"], found["neighbors"], "the same item by index and by file");
    for n in found["neighbors"].as_array().expect("neighbours") {
        let source = n["source"].as_str().expect("a source");
        assert!(source.starts_with("cat/") || source.starts_with("dog/"), "{source}");
        assert_ne!(source, "dog/003.png", "the query is not its own neighbour");
    }

    // Text lines: 1-based, blank lines counted as the editor shows them.
    let texts = dir.path().join("texts.txt");
    let lines = ["a\tthe first text", "", "b\tthe second one", "a\tthird", "", "b\tfourth text here", "a\tfifth", "b\tsixth"];
    std::fs::write(&texts, lines.join("\n")).expect("texts");
    let run = dir.path().join("texts-run");
    embed(&texts, &run);
    let got = sources(&run);
    let expected: Vec<String> = lines.iter().enumerate().filter(|(_, l)| !l.is_empty()).map(|(i, _)| format!("line:{}", i + 1)).collect();
    assert_eq!(sorted(got.iter().map(|(_, s)| s.clone()).collect()), sorted(expected));
    assert_eq!(neighbors(&run, "line:4")["source"], "line:4");

    // CSV rows: 0-based below the header; the first column equals the row, so each source
    // can be checked against its own item.
    let csv = dir.path().join("table.csv");
    let mut rows = vec!["id,x,label".to_string()];
    rows.extend((0..12).map(|r| format!("{r},{},{}", (r * 7) % 5, r % 2)));
    std::fs::write(&csv, rows.join("\n")).expect("csv");
    let run = dir.path().join("csv-run");
    embed(&csv, &run);
    let opts = pretext::ssl::run::load_config(&run).expect("the run's config").load_options();
    let ds = pretext::data::load_dataset(&csv, &opts).expect("the table, read as the run read it");
    let got = sources(&run);
    assert_eq!(got.len(), 12);
    let mut seen = std::collections::BTreeSet::new();
    for (index, source) in got {
        let row: usize = source.strip_prefix("row:").and_then(|r| r.parse().ok()).unwrap_or_else(|| panic!("a row source, not {source}"));
        assert!(seen.insert(row), "row {row} twice");
        assert_eq!(ds.item_source(index as usize), source);
        // Standardised values keep the order of the first column: item `index` is row `row`
        // exactly when its id rank among all items is `row`.
        let ids: Vec<f32> = (0..ds.len()).map(|i| ds.global_item(i)[0]).collect();
        let rank = ids.iter().filter(|&&v| v < ids[index as usize]).count();
        assert_eq!(rank, row, "item {index} is named row {row}");
    }
}
