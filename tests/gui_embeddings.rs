//! GUI test of a table of embeddings made elsewhere: it opens on the map with its labels
//! and texts, is scored and clustered, refuses Train with one line while staying open, and
//! its export holds `embeddings.parquet` with the same vectors, clusters and the map's x/y.

mod arrow_support;
mod gui_support;

use arrow_support::*;
use egui_kittest::kittest::Queryable;
use gui_support::*;
use pretext::app::state::Command;
use pretext::data::Modality;

#[test]
fn a_parquet_of_embeddings_is_explored_and_exported_but_not_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("emb.parquet");
    let rows = 120;
    write_parquet(&table, &batch(vec![
        ("embedding", list_f32(rows, |_| 4)),
        ("label", strings((0..rows).map(class_of))),
        ("text", strings((0..rows).map(|i| format!("caption {i}")))),
    ]));
    let mut h = harness_on(tiny_settings(), Some(table.clone()));
    step_until(&mut h, "the table to load and be scored", |a| {
        a.data.is_some() && a.map.view.len() == rows && !a.busy() && a.scores.result.is_some()
    });
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "{:?}", app.shell.errors);
    let data = app.data.as_ref().unwrap();
    assert_eq!(data.dataset.modality, Modality::Embedding { dim: 4 });
    assert_eq!(data.dataset.class_names, vec!["bird", "cat", "dog"]);
    // The map's space is the vectors as written.
    let space = app.space.as_ref().unwrap();
    for r in 0..rows {
        let row = space.matrix.row(r)[0] as usize;
        assert_eq!(space.matrix.row(r), vector(row, 4).as_slice());
        assert_eq!(data.dataset.global_text(app.item_of_row(r).unwrap()), Some(format!("caption {row}").as_str()));
    }

    h.get_by_label("Train").click();
    h.step();
    h.step();
    let app = h.state();
    assert_eq!(app.shell.errors.len(), 1, "{:?}", app.shell.errors);
    assert!(app.shell.errors[0].contains("does not train on them") && !app.shell.errors[0].contains('\n'), "{}", app.shell.errors[0]);
    assert!(app.training.trainer.is_none());
    assert_eq!(app.data.as_ref().map(|d| d.dataset.len()), Some(rows), "the table stays open");
    h.get_by_label("Dismiss").click();
    h.step();

    h.state_mut().command(Command::RunClustering);
    step_until(&mut h, "k-means", |a| a.clusters.result.is_some() && !a.busy());
    let out = dir.path().join("export");
    h.state_mut().command(Command::Export(out.clone()));
    step_until(&mut h, "the export", |a| !a.busy() && a.shell.status.starts_with("exported"));
    let app = h.state();
    let exported = pretext::data::load_dataset(&out.join("embeddings.parquet"), &Default::default()).unwrap();
    assert_eq!(exported.modality, Modality::Embedding { dim: 4 });
    assert_eq!(exported.len(), rows);
    for i in 0..rows {
        let row = exported.global_item(i)[0] as usize;
        assert_eq!(exported.global_item(i), vector(row, 4).as_slice());
        assert_eq!(exported.class_name(exported.global_label(i).unwrap()), class_of(row));
        assert_eq!(exported.global_text(i), Some(format!("caption {row}").as_str()));
    }
    // x/y are the map's layout, row for row; cluster ids are the k-means assignments.
    let file = std::fs::File::open(out.join("embeddings.parquet")).unwrap();
    let batch = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().next().unwrap().unwrap();
    let column = |name: &str| batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    let x = column("x");
    let x = x.as_any().downcast_ref::<arrow_array::Float32Array>().unwrap();
    let cluster = column("cluster");
    let cluster = cluster.as_any().downcast_ref::<arrow_array::Int64Array>().unwrap();
    let assignments = &app.clusters.result.as_ref().unwrap().0.assignments;
    for r in 0..rows {
        assert_eq!(x.value(r), app.map.view.target()[r][0]);
        assert_eq!(cluster.value(r), assignments[r] as i64);
    }
}

/// A table naming an image file per row shows those images as its thumbnails; a row whose
/// file is missing has none (and is no error).
#[test]
fn thumbnails_of_a_table_with_image_paths_are_its_images() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("img")).unwrap();
    let rows = 12;
    for i in 0..rows - 1 {
        // Row i's picture: a 20×10 image, red in proportion to i.
        let img = image::RgbImage::from_pixel(20, 10, image::Rgb([(i * 20) as u8, 0, 255]));
        img.save(dir.path().join(format!("img/{i}.png"))).unwrap();
    }
    let table = dir.path().join("emb.parquet");
    write_parquet(&table, &batch(vec![("embedding", list_f32(rows, |_| 3)), ("image_path", strings((0..rows).map(|i| format!("img/{i}.png"))))]));
    let mut h = harness_on(tiny_settings(), Some(table));
    step_until(&mut h, "the table to load", |a| a.data.is_some() && a.map.view.len() == rows && !a.busy());
    let ctx = h.ctx.clone();
    let app = h.state_mut();
    assert!(app.shell.errors.is_empty(), "{:?}", app.shell.errors);
    let ds = app.data.as_ref().unwrap().dataset.clone();
    assert!(pretext::app::thumbs::has_thumbnails(&ds));
    for i in 0..rows {
        let row = ds.global_row(i).unwrap();
        let thumb = app.thumbs.item(&ctx, &ds, i);
        if row == rows - 1 {
            assert!(thumb.is_none(), "row {row}'s file is missing");
        } else {
            assert_eq!(thumb.expect("a thumbnail").size(), [64, 64], "row {row}");
        }
    }
    let pixels = pretext::data::image_folder::decode_image(ds.global_image(0).unwrap(), 64, 3).unwrap();
    assert!((pixels[0] - ds.global_row(0).unwrap() as f32 * 20.0 / 255.0).abs() < 0.01, "red channel of row 0's picture");
}
