//! What the app does with trainer events and background-job results (start of each frame).

use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::Matrix;
use crate::app::jobs::{DialogPurpose, JobKind, JobResult};
use crate::app::live_projection::{self, LayoutJob, LayoutOutcome};
use crate::app::rooms::{Lifecycle, OpenedRun};
use crate::app::state::{Command, Snapshot, Space};
use crate::app::{work, Loaded, PretextApp};
use crate::ssl::{FinishReason, TrainEvent};

impl PretextApp {
    /// Drains the trainer's events and the jobs' results (start of every frame).
    pub(crate) fn drain(&mut self) {
        while let Some(ev) = self.training.trainer.as_ref().and_then(|t| t.try_recv()) {
            self.on_train_event(ev);
        }
        while let Some(result) = self.jobs.poll() {
            self.on_job(result);
        }
        self.show_streamed_frame();
    }

    pub(crate) fn take_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.into_iter().next() {
            let is_image = crate::data::image_folder::is_image_file(&path);
            // A single image dropped on a trained map is a query; anything else is a dataset.
            if is_image && self.data.is_some() {
                self.shell.commands.push(Command::QueryImage(path));
            } else {
                self.shell.commands.push(Command::OpenDataset(path));
            }
        }
    }

    pub(crate) fn error(&mut self, msg: impl Into<String>) {
        self.shell.error(msg);
    }

    fn on_train_event(&mut self, ev: TrainEvent) {
        self.training.log.record(&ev);
        match ev {
            TrainEvent::Snapshot { step, embeddings } => {
                let Some(items) = self.training.trainer.as_ref().map(|t| t.map_indices()) else { return };
                let snapshot = Snapshot { step: Some(step), matrix: embeddings, items, run: None };
                self.runs.live = Some(snapshot.clone());
                // While another run is on the map, the live snapshot waits for its row's click.
                if self.runs.shown.is_none() {
                    self.map.pending_snapshot = Some(self.isolation.view_of(snapshot));
                    self.project_pending();
                }
                self.request_reconstructions();
            }
            TrainEvent::Reconstructed { request, pairs } => {
                self.thumbs.forget_named("recon-");
                self.neighbours.reconstructions.receive(request, pairs, self.training.log.step);
            }
            TrainEvent::Started { .. } => self.shell.status = "training".into(),
            TrainEvent::Finished { step, reason: FinishReason::Failed } => self.shell.status = format!("training failed at step {step}"),
            TrainEvent::Finished { step, reason } => self.shell.status = format!("training ended at step {step} ({reason:?})").to_lowercase(),
            TrainEvent::Saved(dir) => {
                self.shell.status = format!("run saved to {}", dir.display());
                self.broadcast(Lifecycle::RunSaved(&dir));
                self.current_run_is(dir);
            }
            TrainEvent::Embedded { request, embeddings } => self.on_embedded(request, embeddings),
            TrainEvent::Error(msg) => self.error(msg),
            _ => {}
        }
    }

    /// Starts laying out the newest snapshot. A layout already running is told to stop (it
    /// is of an older snapshot); the newest is started when it has.
    pub(crate) fn project_pending(&mut self) {
        if let Some(running) = self.map.projection.running {
            if self.map.pending_snapshot.is_some() {
                // The snapshot waiting gets the next generation, newer than the one running.
                debug_assert!(self.shell.next_generation > running);
                let next = self.shell.next_generation;
                self.map.projection.supersede(next);
            }
            return;
        }
        let Some(snapshot) = self.map.pending_snapshot.take() else { return };
        let Some(shown_items) = self.data.as_ref().map(|d| d.map_indices.clone()) else { return };
        let generation = self.shell.generation();
        self.isolation.note_generation(generation);
        let matrix = snapshot.matrix.clone();
        let space = Space { matrix: matrix.clone(), step: snapshot.step, generation, run: snapshot.run };
        self.map.projection.running = Some(generation);
        let reference = self.map.view.target().to_vec();
        let method = self.settings.projection;
        let items = snapshot.items;
        let same_rows = items == shown_items;
        let job = LayoutJob {
            warm: self.map.projection.warm_for(method, &items),
            reference: (reference.len() == shown_items.len()).then_some((reference, shown_items)),
            matrix,
            items: items.clone(),
            method,
        };
        let mut sink = self.map.projection.channel(generation, self.jobs.waker());
        self.jobs.spawn(JobKind::Projection, move || JobResult::Projected { generation, outcome: live_projection::run(job, &mut sink) });
        if same_rows {
            self.space = Some(space);
            self.on_space_changed();
        } else {
            self.map.incoming_rows = Some((generation, space, items));
        }
    }

    /// Shows the frame the running layout streamed last (not while the timeline shows an
    /// earlier step, nor for a layout of other rows).
    pub(crate) fn show_streamed_frame(&mut self) {
        let Some((generation, frame)) = self.map.projection.take_frame() else { return };
        let current = self.space.as_ref().is_some_and(|s| s.generation == generation);
        if current && self.map.projection.running == Some(generation) && self.timeline.position.is_none() && frame.len() == self.map.view.len() {
            self.map.view.stream_layout(frame);
        }
    }

    /// Keeps the layout of a live snapshot (not another run's map) on the timeline.
    fn record_frame(&mut self, space: &Space, layout: &[[f32; 2]]) {
        if self.isolation.is_isolated_generation(space.generation) {
            return;
        }
        if let (Some(step), None) = (space.step, &space.run) {
            self.timeline.record(step, layout);
        }
    }

    /// The map shows other items (another run's subset): labels, selection and results
    /// that name rows belong to the old rows and are dropped.
    fn set_map_rows(&mut self, items: Arc<Vec<usize>>) {
        let Some(data) = self.data.as_mut() else { return };
        if data.map_indices == items {
            return;
        }
        data.labels = work::map_labels(&data.dataset, &items);
        let rows = items.len();
        data.map_indices = items;
        self.broadcast(Lifecycle::MapRowsChanged { rows });
    }

    /// A new embedding: results that depend on it are recomputed or marked stale.
    fn on_space_changed(&mut self) {
        if let Some(space) = self.space.clone() {
            self.broadcast(Lifecycle::NewSpace(space));
        }
    }

    /// A finished layout of `generation`: onto the map (with its rows, when they differ).
    fn on_laid_out(&mut self, generation: u64, layout: Vec<[f32; 2]>) {
        if let Some((_, space, items)) = self.map.incoming_rows.take_if(|(g, _, _)| *g == generation) {
            // Other rows: no point-for-point animation is possible.
            self.set_map_rows(items);
            self.record_frame(&space, &layout);
            self.space = Some(space);
            self.request_scores(generation, &layout);
            self.map.view.set_layout(layout, false, 0.0);
            self.on_space_changed();
        } else if let Some(space) = self.space.clone().filter(|s| s.generation == generation) {
            self.record_frame(&space, &layout);
            self.request_scores(generation, &layout);
            // While the timeline shows an earlier step, new frames are only recorded.
            if self.timeline.position.is_none() {
                let now = self.shell.ctx.input(|i| i.time);
                self.map.view.set_layout(layout, self.settings.animate, now);
            }
        }
    }

    fn on_job(&mut self, result: JobResult) {
        match result {
            JobResult::Loaded(Ok(data)) => self.on_loaded(*data),
            JobResult::Loaded(Err(e)) => {
                self.shell.status = "could not open the dataset".into();
                self.error(e);
            }
            JobResult::Projected { generation, outcome } => {
                if self.map.projection.running == Some(generation) {
                    self.map.projection.running = None;
                }
                match outcome {
                    Ok(LayoutOutcome::Done { layout, warm }) => {
                        if warm.is_some() {
                            self.map.projection.warm = warm;
                        }
                        self.on_laid_out(generation, layout);
                    }
                    // A layout of other rows that never lands: the map keeps its rows.
                    Ok(LayoutOutcome::Superseded) => drop(self.map.incoming_rows.take_if(|(g, _, _)| *g == generation)),
                    Err(e) => {
                        self.map.incoming_rows.take_if(|(g, _, _)| *g == generation);
                        self.error(format!("projection failed: {e}"));
                    }
                }
                self.project_pending();
            }
            // Results of an older embedding than the map's are dropped: the rows they name
            // may have moved. The clustering and the probe the user asked for run again on
            // the current one.
            JobResult::Clustered { generation, .. } if !self.is_current(generation) => self.shell.commands.push(Command::RunClustering),
            JobResult::Clustered { generation: _, result } => match result {
                Ok(c) => {
                    let step = self.space.as_ref().and_then(|s| s.step);
                    self.settings.color_by = crate::app::settings::ColorBy::Cluster;
                    self.clusters.result = Some((c, step));
                    self.map.style_version += 1;
                }
                Err(e) => self.error(format!("clustering failed: {e}")),
            },
            JobResult::Picked { generation, .. } if !self.is_current(generation) => self.shell.commands.push(Command::PickDiverse),
            JobResult::Picked { generation: _, result } => match result {
                Ok((rows, report)) => {
                    self.selection.diverse.last = Some(report);
                    self.shell.status = format!("selected {} diverse items ({})", report.picked, report.method.label());
                    self.shell.commands.push(Command::Select(rows));
                }
                Err(e) => self.error(format!("could not pick diverse items: {e}")),
            },
            JobResult::Neighbours { generation, row, .. } if !self.is_current(generation) || self.neighbours.focus != Some(row) => {}
            JobResult::Neighbours { generation, row, result } => match result {
                Ok(n) => self.neighbours.list = Some((generation, row, n)),
                Err(e) => self.error(format!("neighbour search failed: {e}")),
            },
            JobResult::QueryNeighbours { generation, .. } if !self.is_current(generation) => {}
            JobResult::QueryNeighbours { generation: _, request, result } => match result {
                Ok(n) => {
                    if let Some(q) = self.neighbours.query.as_mut().filter(|q| q.request == request) {
                        q.neighbours = Some(n);
                    }
                }
                Err(e) => self.error(format!("query failed: {e}")),
            },
            JobResult::KnnCorrect { generation, correct } => {
                if self.space.as_ref().is_some_and(|s| s.generation == generation) {
                    self.map.knn_correct = Some((generation, correct));
                    self.map.style_version += 1;
                }
            }
            JobResult::Scored(result) => self.on_scored(result),
            JobResult::Probed(generation, _) if !self.is_current(generation) => {
                if let Some(cmd) = self.probe.last_request {
                    self.shell.commands.push(Command::Probe(cmd));
                }
            }
            JobResult::Probed(generation, result) => self.on_probed(generation, result),
            JobResult::RunOpened(Ok((trainer, saved))) => {
                // The run's own map rows (its subset may differ from the window's default).
                let snapshot = Snapshot { step: Some(saved.config.step), matrix: Arc::new(saved.embeddings.clone()), items: trainer.map_indices(), run: None };
                self.training.replace_trainer(trainer);
                self.shell.status = "run opened; press Train to continue it".into();
                self.broadcast(Lifecycle::RunOpened(OpenedRun { saved: &saved, snapshot: &snapshot }));
                self.map.pending_snapshot = Some(snapshot);
                self.project_pending();
                self.current_run_is(saved.dir.clone());
            }
            JobResult::RunAdded(Ok((saved, evaluation))) => self.on_run_added(*saved, evaluation),
            JobResult::RunAdded(Err(e)) => self.error(format!("could not add the run: {e}")),
            JobResult::RunMeasured { dir, result } => self.on_run_measured(dir, result),
            JobResult::RunOpened(Err(e)) => self.error(format!("could not open the run: {e}")),
            JobResult::Embedded(Ok(dir)) => {
                self.shell.status = format!("embedded into {}; opening it", dir.display());
                self.shell.commands.push(Command::OpenRun(dir));
            }
            JobResult::Embedded(Err(e)) => self.error(format!("could not embed: {e}")),
            JobResult::Done(Ok(msg)) => self.shell.status = msg,
            JobResult::Done(Err(e)) => self.error(e),
            JobResult::Dialog { purpose, path: Some(path) } => self.on_dialog(purpose, path),
            JobResult::Dialog { path: None, .. } => {}
        }
    }

    /// Whether `generation` is the embedding the map shows now.
    fn is_current(&self, generation: u64) -> bool {
        self.space.as_ref().is_some_and(|s| s.generation == generation)
    }

    fn on_dialog(&mut self, purpose: DialogPurpose, path: PathBuf) {
        let cmd = match purpose {
            DialogPurpose::OpenDatasetFile | DialogPurpose::OpenDatasetFolder => Command::OpenDataset(path),
            DialogPurpose::QueryImage => Command::QueryImage(path),
            DialogPurpose::SaveRun => {
                self.settings.run_dir = path.display().to_string();
                Command::SaveRun(path)
            }
            DialogPurpose::OpenRun => {
                self.settings.run_dir = path.display().to_string();
                Command::OpenRun(path)
            }
            DialogPurpose::AddRun => Command::AddRun(path),
            DialogPurpose::ExportDir => {
                self.settings.export_dir = path.display().to_string();
                Command::Export(path)
            }
            DialogPurpose::ExportSelection => Command::ExportSelection(path),
            DialogPurpose::ExportTorch => match self.runs.torch_from.take() {
                Some(run) => Command::ExportTorch { run, out: path },
                None => return,
            },
            DialogPurpose::StartFrom => {
                let train = &mut self.settings.train;
                // A checkpoint is adapted, not overwritten: a lower learning rate unless the
                // user chose one.
                let modality_default = self.data.as_ref().map_or_else(crate::ssl::TrainConfig::default, |d| crate::ssl::TrainConfig::for_modality(&d.dataset.modality));
                if train.init.is_none() && train.learning_rate == modality_default.learning_rate {
                    train.learning_rate = modality_default.finetune_learning_rate();
                }
                train.init = Some(path);
                return;
            }
        };
        self.shell.commands.push(cmd);
    }

    fn on_loaded(&mut self, data: crate::app::jobs::LoadedData) {
        let previous = self.data.as_ref().map(|d| d.dataset.modality.clone());
        self.settings.train.follow_modality(previous.as_ref(), &data.dataset.modality);
        let labels = work::map_labels(&data.dataset, &data.map_indices);
        self.settings.remember(data.path.clone());
        self.shell.status = format!("opened {} ({} items)", data.dataset.name, data.dataset.len());
        for note in &data.dataset.notes {
            self.shell.status.push_str(&format!("; {note}"));
        }
        self.broadcast(Lifecycle::DatasetLoaded { path: &data.path, rows: data.map_indices.len() });
        self.thumbs.clear();
        let generation = self.shell.generation();
        self.space = Some(Space { matrix: data.raw.clone(), step: None, generation, run: None });
        self.map.view.set_layout(data.layout, false, 0.0);
        self.data = Some(Loaded {
            path: data.path,
            dataset: data.dataset,
            map_indices: data.map_indices,
            labels,
            raw: data.raw,
            baseline_knn: data.baseline_knn,
        });
        let layout = self.map.view.target().to_vec();
        self.request_scores(generation, &layout);
        if let Some((dir, _)) = self.shell.initial_run.take() {
            self.shell.commands.push(Command::OpenRun(dir));
        }
    }

    pub(crate) fn request_neighbours(&mut self, row: usize) {
        let Some(space) = self.space.clone() else { return };
        if row >= space.matrix.rows {
            return;
        }
        let k = self.settings.neighbours_k.max(1);
        self.jobs.spawn(JobKind::Neighbours, move || JobResult::Neighbours {
            generation: space.generation,
            row,
            result: crate::analysis::neighbors::neighbors_of(&space.matrix, row, k).map_err(|e| e.to_string()),
        });
    }

    pub(crate) fn request_knn_correct(&mut self) {
        let (Some(space), Some(labels)) = (self.space.clone(), self.data.as_ref().and_then(|d| d.labels.clone())) else { return };
        if self.jobs.is_running(JobKind::Knn) || self.map.knn_correct.as_ref().is_some_and(|(g, _)| *g == space.generation) {
            return;
        }
        let seed = self.settings.train.seed;
        self.jobs.spawn(JobKind::Knn, move || match work::knn_correct(&space.matrix, &labels, seed) {
            Ok(correct) => JobResult::KnnCorrect { generation: space.generation, correct },
            Err(e) => JobResult::Done(Err(format!("kNN colouring failed: {e}"))),
        });
    }

    pub(crate) fn on_embedded(&mut self, request: u64, embeddings: Matrix) {
        if !self.neighbours.query.as_ref().is_some_and(|q| q.request == request) {
            return;
        }
        let Some(space) = self.space.clone() else { return };
        let k = self.settings.neighbours_k.max(1);
        self.jobs.spawn(JobKind::Query, move || JobResult::QueryNeighbours {
            generation: space.generation,
            request,
            result: work::nearest(&space.matrix, &embeddings, k),
        });
    }
}
