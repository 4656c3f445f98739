//! GUI test: a saved run in the runs table is written as a PyTorch project from the window.

use egui_kittest::kittest::Queryable;
use pretext::app::state::{Command, TrainStatus};

mod gui_support;
use gui_support::*;

#[test]
fn a_saved_run_is_exported_as_a_pytorch_project_from_the_runs_table() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let project = dir.path().join("project");
    let mut h = harness();
    wait_for_sample(&mut h);
    h.get_by_label("Train").click();
    step_until(&mut h, "training to finish", |a| a.training.log.status == TrainStatus::Finished && !a.busy());
    h.state_mut().settings.run_dir = run.display().to_string();
    h.get_by_label("Save run").click();
    step_until(&mut h, "the run in the runs table", |a| a.runs.entries.len() == 1 && !a.busy());
    // The row's button opens a folder dialog; the test answers it with `project`.
    h.get_by_label("PyTorch…");
    h.state_mut().command(Command::ExportTorch { run: run.clone(), out: project.clone() });
    step_until(&mut h, "the project to be written", |a| a.shell.status.starts_with("PyTorch project written") || !a.shell.errors.is_empty());
    assert!(h.state().shell.errors.is_empty(), "errors: {:?}", h.state().shell.errors);
    for file in ["train.py", "requirements.txt", "README.md", "pretext_run.json", "weights/start.safetensors"] {
        assert!(project.join(file).is_file(), "{file} is written");
    }
    let recipe = std::fs::read_to_string(project.join("pretext_run.json")).unwrap();
    let saved = std::fs::read_to_string(run.join("config.json")).unwrap();
    let objective = |json: &str| serde_json::from_str::<serde_json::Value>(json).unwrap()["train"]["objective"].clone();
    assert_eq!(objective(&recipe), objective(&saved), "the project carries the run's objective");
    // A second export into the same folder is refused with words, not written over.
    h.state_mut().command(Command::ExportTorch { run, out: project });
    step_until(&mut h, "the refusal", |a| !a.shell.errors.is_empty());
    assert!(h.state().shell.errors[0].contains("not empty"), "errors: {:?}", h.state().shell.errors);
}
