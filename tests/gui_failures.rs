//! GUI test: a training failure reaches the window — the top bar's error and status line and
//! the training panel — instead of a run that seems to go on or to have completed.

use egui_kittest::kittest::Queryable;
use pretext::app::settings::LeftTab;
use pretext::app::state::TrainStatus;
use pretext::ssl::fault::Fault;

mod gui_support;
use gui_support::*;

#[test]
fn a_trainer_that_panics_ends_the_run_as_failed_in_the_status_line_and_the_training_panel() {
    let mut settings = tiny_settings();
    settings.train.fault = Some(Fault::TrainerStep(2));
    settings.left_tab = LeftTab::Training;
    let mut h = harness_on(settings, None);
    wait_for_sample(&mut h);
    h.get_by_label("Train").click();
    step_until(&mut h, "the failed run to finish", |a| a.training.log.status == TrainStatus::Finished);
    let app = h.state();
    let failure = app.training.log.failure.clone().expect("the training log keeps why the run failed");
    assert!(failure.contains("injected failure"), "the panic's message is kept: {failure}");
    assert!(app.shell.status.starts_with("training failed"), "status line: {}", app.shell.status);
    assert!(app.shell.errors.iter().any(|e| e.contains("injected failure")), "errors: {:?}", app.shell.errors);
    h.get_by_label_contains("Training failed at step");
}
