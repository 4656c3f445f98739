//! Texts end to end: the loaders on good and malformed files, the byte codes, the views,
//! TF-IDF on a case checked by hand, and a few training steps of each text encoder.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pretext::analysis::tfidf::Tfidf;
use pretext::data::augment_text::{text_view, TextAugment};
use pretext::data::text::{decode, encode, MASK, PAD};
use pretext::data::{load_dataset, Dataset, LoadOptions, Modality};
use pretext::ssl::{ObjectiveKind, TextEncoder, TrainCommand, TrainConfig, TrainEvent, Trainer};
use rand::SeedableRng;

fn load(path: &Path) -> pretext::Result<Dataset> {
    load_dataset(path, &LoadOptions::default())
}

fn err_text(r: pretext::Result<Dataset>) -> String {
    match r {
        Ok(ds) => panic!("expected an error, loaded {} items", ds.len()),
        Err(e) => e.to_string(),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Every item's text, train then test.
fn all_texts(ds: &Dataset) -> Vec<String> {
    (0..ds.len()).map(|i| ds.global_text(i).unwrap().to_string()).collect()
}

#[test]
fn labelled_lines_keep_texts_labels_and_codes_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.tsv", b"pos\tgood film\nneg\tbad  film\r\n\npos\tgreat\tfun\nneg\tawful\n");
    let ds = load(&path).unwrap();
    assert_eq!(ds.len(), 4);
    assert_eq!(ds.class_names, vec!["neg", "pos"]);
    // Whitespace runs (the tab after "great" too) become one space; the blank line is counted.
    let mut texts = all_texts(&ds);
    texts.sort();
    assert_eq!(texts, vec!["awful", "bad film", "good film", "great fun"]);
    assert!(ds.notes.iter().any(|n| n.contains("skipped 1 empty")), "{:?}", ds.notes);
    let Modality::Text { max_len } = ds.modality else { panic!("{:?}", ds.modality) };
    assert_eq!(max_len, 16, "the longest text (9 bytes) rounded up to 16");
    for i in 0..ds.len() {
        let text = ds.global_text(i).unwrap();
        assert_eq!(decode(&ds.global_item(i)), text, "codes of item {i}");
        let label = ds.class_name(ds.global_label(i).unwrap());
        assert_eq!(label == "pos", text.starts_with('g'), "{text} labelled {label}");
    }
}

#[test]
fn unlabelled_lines_and_max_len_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.txt", "héllo world\nsecond line here\nthird\n".as_bytes());
    let opts = LoadOptions { text_max_len: Some(4), ..LoadOptions::default() };
    let ds = load_dataset(&path, &opts).unwrap();
    assert!(!ds.has_labels());
    assert_eq!(ds.modality, Modality::Text { max_len: 4 });
    assert!(ds.notes.iter().any(|n| n.contains("3 lines are longer than 4 bytes")), "{:?}", ds.notes);
    // The strings stay whole for display; the codes hold the first 4 bytes.
    let i = all_texts(&ds).iter().position(|t| t == "second line here").unwrap();
    assert_eq!(decode(&ds.global_item(i)), "seco");
}

#[test]
fn non_utf8_bytes_are_kept_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.txt", b"caf\xe9 au lait\nplain tea\n");
    let ds = load(&path).unwrap();
    assert_eq!(ds.len(), 2);
    assert!(all_texts(&ds).contains(&"caf\u{fffd} au lait".to_string()));
    assert!(ds.notes.iter().any(|n| n.contains("1 lines are not valid UTF-8")), "{:?}", ds.notes);
    // The model sees what is shown: the replacement character's bytes, EF BF BD.
    let i = all_texts(&ds).iter().position(|t| t.starts_with("caf")).unwrap();
    assert_eq!(&ds.global_item(i)[3..6], &[0xEF as f32 + 1.0, 0xBF as f32 + 1.0, 0xBD as f32 + 1.0]);
}

#[test]
fn label_with_tab_but_no_text_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.tsv", b"a\tone\nb\t   \na\ttwo\nb\tthree\n");
    let ds = load(&path).unwrap();
    assert_eq!(ds.len(), 3);
    assert!(ds.notes.iter().any(|n| n.contains("skipped 1 empty")), "{:?}", ds.notes);
}

#[test]
fn malformed_text_files_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.txt", b"");
    let msg = err_text(load(&empty));
    assert!(msg.contains("empty.txt") && msg.contains("empty"), "{msg}");
    let blank = write(dir.path(), "blank.txt", b"\n  \n\n");
    let msg = err_text(load(&blank));
    assert!(msg.contains("blank.txt") && msg.contains("0 non-empty lines"), "{msg}");
    let one = write(dir.path(), "one.txt", b"just one\n");
    assert!(err_text(load(&one)).contains("at least 2"));
    let mixed = write(dir.path(), "mixed.tsv", b"a\tone\nno tab here\n");
    let msg = err_text(load(&mixed));
    assert!(msg.contains("mixed.tsv") && msg.contains("line 2: no tab"), "{msg}");
    let nolabel = write(dir.path(), "nolabel.tsv", b"a\tone\n\ttwo\n");
    assert!(err_text(load(&nolabel)).contains("line 2: empty label"));
    for msg in [err_text(load(&empty)), err_text(load(&mixed))] {
        assert_eq!(msg.lines().count(), 1, "one line: {msg}");
    }
}

#[test]
fn csv_text_column_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "reviews.csv", b"id,review,stars\n1,\"good, really good\",5\n2,bad,1\n3,,3\n4,fine,3\n");
    let opts = LoadOptions { text_column: Some("review".into()), label_column: Some("stars".into()), ..LoadOptions::default() };
    let ds = load_dataset(&path, &opts).unwrap();
    assert_eq!(ds.len(), 3, "the row with an empty review is skipped");
    assert!(ds.notes.iter().any(|n| n.contains("skipped 1 empty rows")), "{:?}", ds.notes);
    assert_eq!(ds.class_names, vec!["1", "3", "5"]);
    let i = all_texts(&ds).iter().position(|t| t == "good, really good").unwrap();
    assert_eq!(ds.class_name(ds.global_label(i).unwrap()), "5");
    // A column that does not exist: one line naming the file and the columns there are.
    let missing = LoadOptions { text_column: Some("body".into()), ..LoadOptions::default() };
    let msg = err_text(load_dataset(&path, &missing));
    assert!(msg.contains("reviews.csv") && msg.contains("no column named 'body'") && msg.contains("review"), "{msg}");
    let bad_label = LoadOptions { text_column: Some("review".into()), label_column: Some("nope".into()), ..LoadOptions::default() };
    assert!(err_text(load_dataset(&path, &bad_label)).contains("no column named 'nope'"));
    // Without --text-column the same file is a numeric table, and says so.
    assert!(err_text(load(&path)).contains("is not a number"));
}

#[test]
fn folder_of_txt_files_by_class() {
    let dir = tempfile::tempdir().unwrap();
    for (class, texts) in [("ham", ["see you at lunch", "meeting moved"]), ("spam", ["win money now", "free prize"])] {
        std::fs::create_dir(dir.path().join(class)).unwrap();
        for (k, t) in texts.iter().enumerate() {
            write(&dir.path().join(class), &format!("{k}.txt"), t.as_bytes());
        }
    }
    write(&dir.path().join("spam"), "empty.txt", b"\n");
    write(&dir.path().join("spam"), "notes.md", b"not a text item");
    let ds = load(dir.path()).unwrap();
    assert_eq!(ds.len(), 4);
    assert_eq!(ds.class_names, vec!["ham", "spam"]);
    assert!(ds.notes.iter().any(|n| n.contains("skipped 1 empty files")), "{:?}", ds.notes);
    let i = all_texts(&ds).iter().position(|t| t == "free prize").unwrap();
    assert_eq!(ds.class_name(ds.global_label(i).unwrap()), "spam");
}

#[test]
fn encode_pads_and_decode_shows_masks() {
    let mut codes = [0.0; 6];
    encode("hi", &mut codes);
    assert_eq!(codes, [b'h' as f32 + 1.0, b'i' as f32 + 1.0, 0.0, 0.0, 0.0, 0.0]);
    codes[1] = MASK as f32;
    assert_eq!(decode(&codes), "h_");
    assert_eq!(PAD, 0);
}

#[test]
fn text_views_stay_within_the_text_and_simcse_keeps_it() {
    let text = "the quick brown fox jumps over the lazy dog";
    let mut src = [0.0; 64];
    encode(text, &mut src);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut out = [0.0; 64];
    let words: Vec<&str> = text.split(' ').collect();
    // Crop and word dropout only: every view is a subsequence of the words, never empty.
    let crop = TextAugment { crop_min: 0.5, word_dropout: 0.3, char_noise: 0.0, span_mask: 0.0, ..Default::default() };
    let mut changed = 0;
    for _ in 0..50 {
        text_view(&src, &crop, &mut rng, &mut out);
        let view = decode(&out);
        assert!(!view.is_empty());
        let mut rest = words.iter();
        for w in view.split(' ') {
            assert!(rest.any(|x| x == &w), "'{view}' is not a subsequence of the words");
        }
        changed += usize::from(view != text);
    }
    assert!(changed > 25, "only {changed} of 50 views differ from the text");
    // Span masking hides about the asked share of bytes, in the text, not the padding.
    let mask = TextAugment { crop_min: 1.0, word_dropout: 0.0, char_noise: 0.0, span_mask: 0.3, ..Default::default() };
    text_view(&src, &mask, &mut rng, &mut out);
    let hidden = out.iter().filter(|&&c| c == MASK as f32).count();
    assert!((4..=16).contains(&hidden), "{hidden} of {} bytes hidden", text.len());
    assert!(out[text.len()..].iter().all(|&c| c == PAD as f32));
    let simcse = TextAugment { simcse: true, ..Default::default() };
    text_view(&src, &simcse, &mut rng, &mut out);
    assert_eq!(out, src);
}

#[test]
fn tfidf_matches_a_hand_computed_case() {
    // Train: 2 documents. "cat" is in both (df 2), "dog" and "sat" in one each (df 1).
    let tfidf = Tfidf::fit(&["the cat sat", "cat dog dog"], 100);
    // "the" too (df 1); single letters would be dropped.
    assert_eq!(tfidf.dim(), 4);
    let x = tfidf.transform(&["cat dog dog a"]);
    let idf1 = (3.0f32 / 2.0).ln() + 1.0; // ln((1 + n) / (1 + df)) + 1 with n = 2, df = 1
    let idf2 = 1.0; // df = 2
    let (cat, dog) = (idf2, 2.0 * idf1);
    let norm = (cat * cat + dog * dog).sqrt();
    let row = x.row(0);
    assert!((row[tfidf.term_index("cat").unwrap()] - cat / norm).abs() < 1e-6);
    assert!((row[tfidf.term_index("dog").unwrap()] - dog / norm).abs() < 1e-6);
    assert_eq!(row[tfidf.term_index("sat").unwrap()], 0.0);
    assert!(tfidf.term_index("a").is_none());
    // The vocabulary cap keeps the terms in most documents.
    let small = Tfidf::fit(&["the cat sat", "cat dog dog"], 1);
    assert_eq!((small.dim(), small.term_index("cat")), (1, Some(0)));
}

/// Two classes with their own words, so a few steps have something to find.
fn tiny_text_dataset(dir: &Path) -> Dataset {
    let mut lines = String::new();
    for i in 0..48 {
        let (label, words) = if i % 2 == 0 { ("fruit", ["apple", "pear", "plum", "fig"]) } else { ("tool", ["hammer", "saw", "drill", "wrench"]) };
        lines += &format!("{label}\t{} and {} with {}\n", words[i % 4], words[(i / 2) % 4], words[(i / 3) % 4]);
    }
    let path = write(dir, "tiny.tsv", lines.as_bytes());
    load(&path).unwrap()
}

#[test]
fn text_encoder_trains_a_few_steps_with_finite_loss_under_every_objective() {
    let dir = tempfile::tempdir().unwrap();
    let ds = Arc::new(tiny_text_dataset(dir.path()));
    // Every objective: they all take their views from `augment::view` (or mask, or damage),
    // with each text encoder.
    for (objective, text_encoder) in ObjectiveKind::ALL.into_iter().flat_map(|o| TextEncoder::ALL.map(|e| (o, e))) {
        let cfg = TrainConfig { objective, text_encoder, width: 4, batch_size: 16, epochs: 3.0, eval_every: 1000, ..Default::default() };
        let trainer = Trainer::spawn(ds.clone(), cfg, None).unwrap();
        trainer.send(TrainCommand::Start);
        let mut losses = Vec::new();
        let mut snapshot = None;
        while let Some(ev) = trainer.recv_timeout(Duration::from_secs(120)) {
            match ev {
                TrainEvent::Step { loss, .. } => losses.push(loss),
                TrainEvent::Snapshot { embeddings, .. } => snapshot = Some(embeddings),
                TrainEvent::Error(e) => panic!("{objective:?}: {e}"),
                TrainEvent::Finished { .. } => break,
                _ => {}
            }
        }
        assert!(losses.len() >= 6, "{objective:?} {text_encoder:?}: {} steps", losses.len());
        assert!(losses.iter().all(|l| l.is_finite()), "{objective:?} {text_encoder:?}: {losses:?}");
        let emb = snapshot.expect("a snapshot at the end");
        assert_eq!((emb.rows, emb.cols), (ds.len(), 32), "8 × width channels per item");
        assert!(emb.data.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn runs_saved_before_the_encoder_choice_reopen_with_the_cnn() {
    let mut json = serde_json::to_value(TrainConfig::default()).unwrap();
    assert_eq!(json["text_encoder"], "bag", "new runs use the n-gram bag");
    json.as_object_mut().unwrap().remove("text_encoder");
    let old: TrainConfig = serde_json::from_value(json).unwrap();
    assert_eq!(old.text_encoder, TextEncoder::Cnn);
}

#[test]
fn text_defaults_follow_the_data_unless_changed() {
    let text = Modality::Text { max_len: 64 };
    let table = Modality::Table { columns: vec!["a".into()] };
    let mut cfg = TrainConfig::default();
    cfg.follow_modality(None, &text);
    assert_eq!((cfg.temperature, cfg.learning_rate), (0.1, 1e-2));
    cfg.follow_modality(Some(&text), &table);
    assert_eq!((cfg.objective, cfg.temperature), (ObjectiveKind::Mae, TrainConfig::default().temperature));
    cfg.learning_rate = 5e-4;
    cfg.follow_modality(Some(&table), &text);
    assert_eq!((cfg.objective, cfg.learning_rate), (ObjectiveKind::Simclr, 5e-4), "a rate the user set stays");
}
