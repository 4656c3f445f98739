//! Every item names its source, and tables read with an id column name their id: both go
//! through a saved run (`sources.json`, the run's read options), `embeddings.parquet`, the
//! export writers (CSV, Parquet, the projector's metadata.tsv), `pretext scores` and
//! `pretext neighbors`, for every format; `--item id:VALUE` finds a row by its id.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use pretext::data::stream::StreamChoice;
use pretext::data::{load_dataset, Dataset, LoadOptions, Modality};

mod arrow_support;
use arrow_support::{batch, list_f32, strings, vector, write_ipc_file, write_parquet};

fn pretext(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pretext")).args(args).output().expect("run pretext");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The `index`, `source` and (when written) `id` columns of a Parquet file, as strings.
fn parquet_columns(path: &Path) -> HashMap<String, Vec<String>> {
    let file = std::fs::File::open(path).expect("the Parquet file");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet").build().expect("reader");
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for b in reader {
        let b: RecordBatch = b.expect("a batch");
        for name in ["index", "source", "id"] {
            let Some(col) = b.column_by_name(name) else { continue };
            let values: Vec<String> = if let Some(a) = col.as_any().downcast_ref::<StringArray>() {
                assert_eq!(a.null_count(), 0, "{name} has nulls");
                (0..a.len()).map(|r| a.value(r).to_string()).collect()
            } else {
                let a = col.as_any().downcast_ref::<Int64Array>().expect("an integer column");
                (0..a.len()).map(|r| a.value(r).to_string()).collect()
            };
            out.entry(name.to_string()).or_default().extend(values);
        }
    }
    out
}

/// The named columns of a delimited file with a header row.
fn delimited_columns(path: &Path, delimiter: u8) -> HashMap<String, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_path(path).expect("the file");
    let headers: Vec<String> = reader.headers().expect("a header").iter().map(str::to_string).collect();
    let mut out: HashMap<String, Vec<String>> = headers.iter().map(|h| (h.clone(), Vec::new())).collect();
    for record in reader.records() {
        let record = record.expect("a record");
        for (h, v) in headers.iter().zip(record.iter()) {
            out.get_mut(h).expect("a column").push(v.to_string());
        }
    }
    out
}

/// Items' sources and ids (None where the data has none) as the dataset names them.
fn named(ds: &Dataset, items: &[usize]) -> (Vec<String>, Option<Vec<String>>) {
    (items.iter().map(|&i| ds.item_source(i)).collect(), ds.ids_of(items))
}

/// `pretext embed` writes a run of `data`; the run's saved sources and ids, its
/// `embeddings.parquet`, and every export writer name each item as the dataset (read again
/// from the run's own read options) does. Returns the dataset.
fn assert_round_trip(data: &Path, extra: &[&str], dir: &Path, expect_ids: bool) -> Dataset {
    let run = dir.join(format!("run-{}", data.file_name().and_then(|n| n.to_str()).unwrap_or("data")));
    let mut args = vec!["embed", "--data", s(data), "--out", s(&run)];
    args.extend_from_slice(extra);
    let (ok, _, err) = pretext(&args);
    assert!(ok, "{}: {err}", data.display());
    let saved = pretext::ssl::run::load(&run).expect("the run");
    let ds = load_dataset(data, &saved.config.load_options()).expect("the data, read as the run read it");
    assert_eq!(ds.has_ids(), expect_ids, "{}: ids", data.display());

    // The run keeps its rows' sources and ids.
    let kept = saved.sources.clone().expect("sources saved with the run");
    let (sources, ids) = named(&ds, &saved.indices);
    assert_eq!(kept.sources, sources, "{}: saved sources", data.display());
    assert_eq!(kept.ids, ids.clone().unwrap_or_default(), "{}: saved ids", data.display());
    assert!(sources.iter().all(|s| !s.starts_with("item:")), "{}: every item has a real source: {sources:?}", data.display());
    for (j, &item) in saved.indices.iter().enumerate() {
        assert_eq!(saved.saved_source(item), Some(sources[j].as_str()));
    }

    // Every item's embedding in embeddings.parquet, with its source and id.
    let all: Vec<usize> = (0..ds.len()).collect();
    let (sources, ids) = named(&ds, &all);
    let cols = parquet_columns(&run.join("embeddings.parquet"));
    let by_index: Vec<usize> = cols["index"].iter().map(|i| i.parse().expect("an index")).collect();
    assert_eq!(cols["source"], by_index.iter().map(|&i| sources[i].clone()).collect::<Vec<_>>(), "{}: embeddings.parquet sources", data.display());
    assert_eq!(cols.get("id").cloned(), ids.as_ref().map(|ids| by_index.iter().map(|&i| ids[i].clone()).collect()), "{}: embeddings.parquet ids", data.display());

    // The export writers: CSV, Parquet and the projector's metadata.tsv.
    let m = pretext::analysis::Matrix::new(vec![0.5; all.len() * 2], all.len(), 2);
    let meta = pretext::export::RowMeta { index: &all, label: None, cluster: None, tags: &[], source: Some(&sources) };
    let out = dir.join(format!("export-{}", data.file_name().and_then(|n| n.to_str()).unwrap_or("data")));
    std::fs::create_dir_all(&out).unwrap();
    pretext::export::write_csv_with_ids(&out.join("e.csv"), &m, &meta, ids.as_deref()).unwrap();
    pretext::export::write_projector_tsv_with_ids(&out.join("projector"), &m, &meta, ids.as_deref()).unwrap();
    let extra = pretext::export::ExtraColumns { ids: ids.clone(), ..Default::default() };
    pretext::export::write_parquet(&out.join("e.parquet"), &m, &meta, &extra).unwrap();
    for cols in [delimited_columns(&out.join("e.csv"), b','), delimited_columns(&out.join("projector").join("metadata.tsv"), b'\t'), parquet_columns(&out.join("e.parquet"))] {
        assert_eq!(cols["source"], sources, "{}: exported sources", data.display());
        assert_eq!(cols.get("id"), ids.as_ref(), "{}: exported ids", data.display());
    }
    ds
}

/// The row a `row:N` source names.
fn row_of(source: &str) -> usize {
    source.rsplit("row:").next().and_then(|r| r.parse().ok()).unwrap_or_else(|| panic!("a row source, not {source}"))
}

/// A CSV whose rows have an id `k000`, `k001`, ... and a column `y` rising with the row.
fn write_keyed_csv(path: &Path, rows: usize) {
    let mut text = String::from("key,x,y,label\n");
    for r in 0..rows {
        text += &format!("k{r:03},{},{},{}\n", (r * 7) % 5, r as f32 * 0.5, if r % 2 == 0 { "even" } else { "odd" });
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_csv_id_column_is_not_a_feature_and_names_its_rows_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    write_keyed_csv(&csv, 30);
    let opts = LoadOptions { id_column: Some("key".into()), ..LoadOptions::default() };
    let ds = load_dataset(&csv, &opts).unwrap();
    assert_eq!(ds.modality, Modality::Table { columns: vec!["x".into(), "y".into()] }, "the id is not a feature");
    // Each item is the row its source names (y rises with the row), and carries that row's id.
    let ys: Vec<f32> = (0..ds.len()).map(|i| ds.global_item(i)[1]).collect();
    for i in 0..ds.len() {
        let row = row_of(&ds.item_source(i));
        assert_eq!(ys.iter().filter(|&&y| y < ys[i]).count(), row, "item {i} is row {row}");
        assert_eq!(ds.item_id(i), Some(format!("k{row:03}").as_str()));
        assert_eq!(ds.find_item(&format!("id:k{row:03}")), Some(i));
    }
    assert_eq!(ds.find_item("id:nobody"), None);
    // What a user can get wrong is said plainly.
    let err = |opts: LoadOptions, path: &Path| load_dataset(path, &opts).unwrap_err().to_string();
    assert!(err(LoadOptions { id_column: Some("nope".into()), ..LoadOptions::default() }, &csv).contains("no column named 'nope'"));
    assert!(err(LoadOptions { id_column: Some("label".into()), ..LoadOptions::default() }, &csv).contains("both the label and the id"));
    let texts = dir.path().join("notes.txt");
    std::fs::write(&texts, "a\tone text\nb\tanother text\na\tthird\n").unwrap();
    assert!(err(LoadOptions { id_column: Some("key".into()), ..LoadOptions::default() }, &texts).contains("an id column names the rows"));
    // A repeated id is allowed, and said.
    let twice = dir.path().join("twice.csv");
    std::fs::write(&twice, "key,x\na,1\nb,2\na,3\nc,4\n").unwrap();
    let ds = load_dataset(&twice, &opts).unwrap();
    assert!(ds.notes.iter().any(|n| n.contains("repeat an id")), "{:?}", ds.notes);

    // Through a run and every output.
    let ds = assert_round_trip(&csv, &["--id-column", "key"], dir.path(), true);
    let run = dir.path().join("run-people.csv");
    let config = pretext::ssl::run::load_config(&run).unwrap();
    assert_eq!(config.load_options().id_column.as_deref(), Some("key"), "the run reads its data with the same id column");

    // `--item id:VALUE`, and every neighbour's id is its own row's.
    let check_neighbors = |json: &serde_json::Value| {
        assert_eq!(json["source"], "row:5");
        assert_eq!(json["id"], "k005");
        for n in json["neighbors"].as_array().expect("neighbours") {
            let row = row_of(n["source"].as_str().expect("a source"));
            assert_eq!(n["id"], format!("k{row:03}"), "{n}");
        }
    };
    let (ok, out, err) = pretext(&["neighbors", "--run", s(&run), "--item", "id:k005", "-k", "4", "--json"]);
    assert!(ok, "{err}");
    let by_id: serde_json::Value = serde_json::from_str(&out).unwrap();
    check_neighbors(&by_id);
    let (ok, out, _) = pretext(&["neighbors", "--run", s(&run), "--item", "row:5", "-k", "4", "--json"]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), by_id, "the same item by id and by row");
    let (ok, out, _) = pretext(&["neighbors", "--run", s(&run), "--item", "id:k005", "-k", "4"]);
    assert!(ok && out.lines().next().unwrap_or_default().contains("row:5  id k005"), "{out}");
    let (ok, _, err) = pretext(&["neighbors", "--run", s(&run), "--item", "id:k999"]);
    assert!(!ok && err.contains("no item of people has the id 'id:k999'"), "{err}");

    // `pretext scores`: a source and an id column, each id its row's.
    let scores = dir.path().join("scores.csv");
    let (ok, _, err) = pretext(&["scores", "--run", s(&run), "--csv", s(&scores), "-k", "3"]);
    assert!(ok, "{err}");
    let cols = delimited_columns(&scores, b',');
    assert_eq!(cols["id"].len(), ds.len());
    for (source, id) in cols["source"].iter().zip(&cols["id"]) {
        assert_eq!(*id, format!("k{:03}", row_of(source)));
    }

    // With the data gone, the run still names its items by the sources it saved.
    std::fs::rename(&csv, dir.path().join("moved.csv")).unwrap();
    let (ok, out, err) = pretext(&["neighbors", "--run", s(&run), "--item", "id:k005", "-k", "4", "--json"]);
    assert!(ok, "{err}");
    assert!(err.contains("sources unavailable"), "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), by_id, "the saved sources and ids answer as the data did");
}

#[test]
fn parquet_and_arrow_tables_carry_their_id_column() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 24;
    let table = batch(vec![
        ("name", strings((0..rows).map(|i| format!("n{i}")))),
        ("key", std::sync::Arc::new(Int64Array::from_iter_values((0..rows).map(|i| 1000 + i as i64))) as arrow_array::ArrayRef),
        ("embedding", list_f32(rows, |_| 4)),
        ("label", strings((0..rows).map(|i| ["a", "b"][i % 2].to_string()))),
    ]);
    let parquet = dir.path().join("emb.parquet");
    let arrow = dir.path().join("emb.arrow");
    write_parquet(&parquet, &table);
    write_ipc_file(&arrow, &table);
    for path in [&parquet, &arrow] {
        for (column, id_of) in [("name", Box::new(|r: usize| format!("n{r}")) as Box<dyn Fn(usize) -> String>), ("key", Box::new(|r: usize| (1000 + r).to_string()))] {
            let ds = load_dataset(path, &LoadOptions { id_column: Some(column.into()), ..LoadOptions::default() }).unwrap();
            assert_eq!(ds.modality, Modality::Embedding { dim: 4 });
            for i in 0..ds.len() {
                let row = ds.global_item(i)[0] as usize;
                assert_eq!(ds.global_item(i), vector(row, 4).as_slice());
                assert_eq!(ds.item_source(i), format!("row:{row}"));
                assert_eq!(ds.item_id(i), Some(id_of(row).as_str()), "{}: {column}", path.display());
            }
        }
        // The table's own neighbours and scores, named by id.
        let (ok, out, err) = pretext(&["neighbors", "--data", s(path), "--id-column", "name", "--item", "id:n7", "-k", "3", "--json"]);
        assert!(ok, "{err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!((json["source"].as_str(), json["id"].as_str()), (Some("row:7"), Some("n7")));
        for n in json["neighbors"].as_array().unwrap() {
            assert_eq!(n["id"], format!("n{}", row_of(n["source"].as_str().unwrap())));
        }
        let (csv, pq) = (dir.path().join("scores.csv"), dir.path().join("scores.parquet"));
        let (ok, _, err) = pretext(&["scores", "--data", s(path), "--id-column", "name", "--csv", s(&csv), "--parquet", s(&pq), "-k", "3"]);
        assert!(ok, "{err}");
        for cols in [delimited_columns(&csv, b','), parquet_columns(&pq)] {
            assert_eq!(cols["id"].len(), rows);
            for (source, id) in cols["source"].iter().zip(&cols["id"]) {
                assert_eq!(*id, format!("n{}", row_of(source)));
            }
        }
    }
    let err = load_dataset(&parquet, &LoadOptions { id_column: Some("embedding".into()), ..LoadOptions::default() }).unwrap_err().to_string();
    assert!(err.contains("ids must be strings or integers"), "{err}");
}

/// Series `n` of the fixtures: zero but for a spike at step `n`, so the item shows which
/// series it is (z-normalising keeps the spike where it is).
fn spike(n: usize, len: usize) -> Vec<f32> {
    (0..len).map(|t| if t == n { 5.0 } else { (t % 3) as f32 * 0.1 }).collect()
}

fn spike_at(v: &[f32]) -> usize {
    (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap_or(0)
}

/// The number after the last `series:` or `row:` of a source.
fn number_of(source: &str) -> usize {
    source.rsplit(':').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("a numbered source, not {source}"))
}

#[test]
fn series_name_their_series_and_npy_rows_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let len = 12;
    // A UCR .tsv: label, then the values; each series is `series:N` of the file.
    let tsv = dir.path().join("spikes.tsv");
    let lines: Vec<String> = (0..len)
        .map(|n| format!("{}\t{}", n % 2, spike(n, len).iter().map(|v| v.to_string()).collect::<Vec<_>>().join("\t")))
        .collect();
    std::fs::write(&tsv, lines.join("\n")).unwrap();
    let ds = assert_round_trip(&tsv, &[], dir.path(), false);
    for i in 0..ds.len() {
        let source = ds.item_source(i);
        assert!(source.starts_with("series:"), "{source}");
        assert_eq!(spike_at(&ds.global_item(i)), number_of(&source), "item {i} is {source}");
    }
    assert_eq!(ds.find_item("series:3").map(|i| spike_at(&ds.global_item(i))), Some(3));

    // An archive pair (.ts): each file counts its own series, so the file is named first.
    let header = format!("@problemName Spikes\n@timeStamps false\n@univariate true\n@equalLength true\n@seriesLength {len}\n@classLabel true a b\n@data\n");
    let ts_lines = |ns: std::ops::Range<usize>| -> String {
        header.clone() + &ns.map(|n| format!("{}:{}\n", spike(n, len).iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","), ["a", "b"][n % 2])).collect::<String>()
    };
    let archive = dir.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    std::fs::write(archive.join("Spikes_TRAIN.ts"), ts_lines(0..7)).unwrap();
    std::fs::write(archive.join("Spikes_TEST.ts"), ts_lines(7..len)).unwrap();
    let ds = assert_round_trip(&archive.join("Spikes_TRAIN.ts"), &[], dir.path(), false);
    for i in 0..ds.len() {
        let source = ds.item_source(i);
        let (file, first) = if ds.is_test(i) { ("Spikes_TEST.ts:series:", 7) } else { ("Spikes_TRAIN.ts:series:", 0) };
        assert!(source.starts_with(file), "{source}");
        assert_eq!(spike_at(&ds.global_item(i)), first + number_of(&source), "item {i} is {source}");
    }

    // NPY feature rows, held and streamed: `row:N` (column 0 rises with the row).
    let npy = dir.path().join("features.npy");
    let m = pretext::analysis::Matrix::new((0..20).flat_map(|i| vector(i, 4)).collect(), 20, 4);
    pretext::export::write_npy_matrix(&npy, &m).unwrap();
    for stream in [StreamChoice::Never, StreamChoice::Always] {
        let ds = load_dataset(&npy, &LoadOptions { stream, ..LoadOptions::default() }).unwrap();
        assert_eq!(ds.is_streamed(), stream == StreamChoice::Always);
        let first: Vec<f32> = (0..ds.len()).map(|i| ds.global_item(i)[0]).collect();
        for i in 0..ds.len() {
            let row = row_of(&ds.item_source(i));
            assert_eq!(first.iter().filter(|&&v| v < first[i]).count(), row, "{stream:?}: item {i} is row {row}");
        }
    }
    assert_round_trip(&npy, &[], dir.path(), false);
}

#[test]
fn image_folders_and_text_files_round_trip_their_sources() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    for (class, level) in [("cat", 40u8), ("dog", 200u8)] {
        std::fs::create_dir_all(images.join(class)).unwrap();
        for i in 0..4 {
            let pixels: Vec<u8> = (0..64).map(|p| level.wrapping_add((p * i) as u8)).collect();
            image::save_buffer(images.join(class).join(format!("{i:03}.png")), &pixels, 8, 8, image::ColorType::L8).unwrap();
        }
    }
    let ds = assert_round_trip(&images, &[], dir.path(), false);
    assert!((0..ds.len()).all(|i| ds.item_source(i).ends_with(".png")));
    let texts = dir.path().join("texts.txt");
    std::fs::write(&texts, "a\tthe first text\n\nb\tthe second one\na\tthird\nb\tfourth text here\na\tfifth\n").unwrap();
    let ds = assert_round_trip(&texts, &[], dir.path(), false);
    assert!((0..ds.len()).all(|i| ds.item_source(i).starts_with("line:")));
}
