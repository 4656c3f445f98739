//! The window on a dataset streamed from disk: "Stream from disk" in the reading options
//! opens an NPY without holding it, the dataset panel says so, and training, the map and
//! the hovered item's values work from the file.

mod gui_support;

use gui_support::{harness_on, step_until, tiny_settings, wait_for_sample};
use egui_kittest::kittest::Queryable;
use ndarray::{Array1, Array2};
use ndarray_npy::WriteNpyExt;
use pretext::app::state::TrainStatus;

#[test]
fn a_streamed_npy_opens_says_so_and_trains() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.npy");
    Array2::from_shape_fn((600, 12), |(i, j)| ((i * 5 + j * 3) % 11) as f32 + (i % 2) as f32 * 4.0)
        .write_npy(std::fs::File::create(&path).unwrap())
        .unwrap();
    Array1::from_iter((0..600).map(|i| (i % 2) as i64)).write_npy(std::fs::File::create(dir.path().join("rows_labels.npy")).unwrap()).unwrap();

    let mut settings = tiny_settings();
    settings.train.epochs = 1.0;
    let mut h = harness_on(settings, None);
    wait_for_sample(&mut h);
    h.get_by_label("Dataset").click();
    h.step();
    h.get_by_label("How to read CSV / NPY / Parquet").click();
    h.step();
    h.get_by_label("Stream from disk").click();
    h.step();
    assert!(h.state().dataset.read_options.stream, "the box is ticked");
    h.state_mut().dataset.path_input = path.display().to_string();
    h.step();
    h.get_by_label("Open").click();
    step_until(&mut h, "the streamed NPY", |a| a.data.as_ref().is_some_and(|d| d.dataset.name == "rows") && !a.busy());
    {
        let app = h.state();
        assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
        let data = app.data.as_ref().unwrap();
        assert!(data.dataset.is_streamed() && data.dataset.train.x.is_empty(), "read from disk, not held");
        assert_eq!(data.map_indices.len(), 300);
    }
    h.get_by_label("streamed from disk");

    h.get_by_label("Train").click();
    step_until(&mut h, "training on the streamed file to finish", |a| {
        a.training.log.status == TrainStatus::Finished && !a.busy() && a.space.as_ref().is_some_and(|s| s.step.is_some()) && !a.map.view.is_animating()
    });
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    assert_eq!(app.training.log.step, 15, "480 train rows / 32 per step, one epoch");
    assert!(app.training.log.loss.iter().all(|[_, l]| l.is_finite()));
    let space = app.space.as_ref().unwrap();
    assert_eq!(space.matrix.rows, 300);
    assert!(space.matrix.data.iter().all(|v| v.is_finite()), "embeddings of items read from the file");
}
