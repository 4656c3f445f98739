//! What the app does with trainer events, job results and panel commands.

use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::Matrix;
use crate::app::jobs::{DialogPurpose, JobResult, Jobs};
use crate::app::state::{Command, Space, TrainStatus, TrainingLog};
use crate::app::{work, FileQuery, Loaded, PretextApp};
use crate::ssl::{TrainCommand, TrainEvent, Trainer};

impl PretextApp {
    /// Drains the trainer's events and the jobs' results (start of every frame).
    pub(crate) fn drain(&mut self) {
        while let Some(ev) = self.trainer.as_ref().and_then(|t| t.try_recv()) {
            self.on_train_event(ev);
        }
        while let Some(result) = self.jobs.poll() {
            self.on_job(result);
        }
    }

    pub(crate) fn take_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.into_iter().next() {
            let is_image = crate::data::image_folder::is_image_file(&path);
            // A single image dropped on a trained map is a query; anything else is a dataset.
            if is_image && self.data.is_some() {
                self.commands.push(Command::QueryImage(path));
            } else {
                self.commands.push(Command::OpenDataset(path));
            }
        }
    }

    fn error(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        if !self.errors.contains(&msg) {
            self.errors.push(msg);
        }
    }

    fn on_train_event(&mut self, ev: TrainEvent) {
        self.log.record(&ev);
        match ev {
            TrainEvent::Snapshot { step, embeddings } => {
                self.pending_snapshot = Some((step, embeddings));
                self.project_pending();
            }
            TrainEvent::Started { .. } => self.status = "training".into(),
            TrainEvent::Finished { step, reason } => self.status = format!("training ended at step {step} ({reason:?})").to_lowercase(),
            TrainEvent::Saved(dir) => self.status = format!("run saved to {}", dir.display()),
            TrainEvent::Embedded { request, embeddings } => self.on_embedded(request, embeddings),
            TrainEvent::Error(msg) => self.error(msg),
            _ => {}
        }
    }

    /// Starts projecting the newest snapshot unless a projection is already running (then it
    /// is picked up when that one finishes, so fast snapshots never queue up).
    fn project_pending(&mut self) {
        if self.projecting {
            return;
        }
        let Some((step, matrix)) = self.pending_snapshot.take() else { return };
        let generation = self.next_generation;
        self.next_generation += 1;
        self.space = Some(Space { matrix: matrix.clone(), step: Some(step), generation });
        self.projecting = true;
        let reference = self.map.target().to_vec();
        self.jobs.spawn("projection", move || match work::project(&matrix, Some(&reference)) {
            Ok(layout) => JobResult::Projected { generation, layout },
            Err(e) => JobResult::Done(Err(format!("projection failed: {e}"))),
        });
        self.on_space_changed();
    }

    /// A new embedding: results that depend on it are recomputed or marked stale.
    fn on_space_changed(&mut self) {
        self.knn_correct = None;
        self.style_version += 1;
        if let Some(row) = self.focus {
            self.request_neighbours(row);
        }
        if let Some(q) = &self.query {
            let path = q.path.clone();
            self.commands.push(Command::QueryImage(path));
        }
    }

    fn on_job(&mut self, result: JobResult) {
        match result {
            JobResult::Loaded(Ok(data)) => self.on_loaded(*data),
            JobResult::Loaded(Err(e)) => {
                self.status = "could not open the dataset".into();
                self.error(e);
            }
            JobResult::Projected { generation, layout } => {
                self.projecting = false;
                if self.space.as_ref().is_some_and(|s| s.generation == generation) {
                    let now = self.ctx.input(|i| i.time);
                    self.map.set_layout(layout, self.settings.animate, now);
                }
                self.project_pending();
            }
            JobResult::Clustered { generation: _, result } => match result {
                Ok(c) => {
                    let step = self.space.as_ref().and_then(|s| s.step);
                    self.settings.color_by = crate::app::settings::ColorBy::Cluster;
                    self.clusters = Some((c, step));
                    self.style_version += 1;
                }
                Err(e) => self.error(format!("clustering failed: {e}")),
            },
            JobResult::Neighbours { generation, row, result } => match result {
                Ok(n) => self.neighbours = Some((generation, row, n)),
                Err(e) => self.error(format!("neighbour search failed: {e}")),
            },
            JobResult::QueryNeighbours { generation: _, path, result } => match result {
                Ok(n) => {
                    if let Some(q) = self.query.as_mut().filter(|q| q.path == path) {
                        q.neighbours = Some(n);
                    }
                }
                Err(e) => self.error(format!("query failed: {e}")),
            },
            JobResult::KnnCorrect { generation, correct } => {
                if self.space.as_ref().is_some_and(|s| s.generation == generation) {
                    self.knn_correct = Some((generation, correct));
                    self.style_version += 1;
                }
            }
            JobResult::RunOpened(Ok((trainer, embeddings))) => {
                if let Some(old) = self.trainer.replace(trainer) {
                    Jobs::drop_in_background(old);
                }
                self.log = TrainingLog::default();
                self.status = "run opened; press Train to continue it".into();
                if let Some(e) = embeddings {
                    let step = self.trainer.as_ref().map(|t| t.start_step()).unwrap_or(0);
                    self.pending_snapshot = Some((step, Arc::new(e)));
                    self.project_pending();
                }
            }
            JobResult::RunOpened(Err(e)) => self.error(format!("could not open the run: {e}")),
            JobResult::Done(Ok(msg)) => self.status = msg,
            JobResult::Done(Err(e)) => {
                self.projecting = self.projecting && self.jobs.is_running("projection");
                self.error(e);
            }
            JobResult::Dialog { purpose, path: Some(path) } => self.on_dialog(purpose, path),
            JobResult::Dialog { path: None, .. } => {}
        }
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
            DialogPurpose::ExportDir => {
                self.settings.export_dir = path.display().to_string();
                Command::Export(path)
            }
            DialogPurpose::ExportSelection => Command::ExportSelection(path),
        };
        self.commands.push(cmd);
    }

    fn on_loaded(&mut self, data: crate::app::jobs::LoadedData) {
        self.drop_trainer();
        let labels = work::map_labels(&data.dataset, &data.map_indices);
        self.settings.remember(data.path.clone());
        self.path_input = data.path.display().to_string();
        self.status = format!("opened {} ({} items)", data.dataset.name, data.dataset.len());
        for note in &data.dataset.notes {
            self.status.push_str(&format!("; {note}"));
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.space = Some(Space { matrix: data.raw.clone(), step: None, generation });
        self.map.clear();
        self.map.set_layout(data.layout, false, 0.0);
        self.thumbs.clear();
        self.log = TrainingLog::default();
        self.focus = None;
        self.neighbours = None;
        self.clusters = None;
        self.knn_correct = None;
        self.query = None;
        self.views = None;
        self.selection = vec![false; data.map_indices.len()];
        self.selection_count = 0;
        self.hidden_classes.clear();
        self.pending_snapshot = None;
        self.style_version += 1;
        self.data = Some(Loaded {
            path: data.path,
            dataset: data.dataset,
            map_indices: data.map_indices,
            labels,
            raw: data.raw,
            baseline_knn: data.baseline_knn,
        });
    }

    fn drop_trainer(&mut self) {
        if let Some(t) = self.trainer.take() {
            Jobs::drop_in_background(t);
        }
    }

    fn request_neighbours(&mut self, row: usize) {
        let Some(space) = self.space.clone() else { return };
        if row >= space.matrix.rows {
            return;
        }
        let k = self.settings.neighbours_k.max(1);
        self.jobs.spawn("neighbours", move || JobResult::Neighbours {
            generation: space.generation,
            row,
            result: crate::analysis::neighbors::neighbors_of(&space.matrix, row, k).map_err(|e| e.to_string()),
        });
    }

    pub(crate) fn request_knn_correct(&mut self) {
        let (Some(space), Some(labels)) = (self.space.clone(), self.data.as_ref().and_then(|d| d.labels.clone())) else { return };
        if self.jobs.is_running("knn") || self.knn_correct.as_ref().is_some_and(|(g, _)| *g == space.generation) {
            return;
        }
        let seed = self.settings.train.seed;
        self.jobs.spawn("knn", move || match work::knn_correct(&space.matrix, &labels, seed) {
            Ok(correct) => JobResult::KnnCorrect { generation: space.generation, correct },
            Err(e) => JobResult::Done(Err(format!("kNN colouring failed: {e}"))),
        });
    }

    fn on_embedded(&mut self, request: u64, embeddings: Matrix) {
        let Some(q) = self.query.as_ref().filter(|q| q.request == request) else { return };
        let Some(space) = self.space.clone() else { return };
        let path = q.path.clone();
        let k = self.settings.neighbours_k.max(1);
        self.jobs.spawn("query", move || JobResult::QueryNeighbours {
            generation: space.generation,
            path,
            result: work::nearest(&space.matrix, &embeddings, k),
        });
    }

    /// Applies one panel command (end of the frame).
    pub(crate) fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::OpenDataset(path) => self.open_dataset(path),
            Command::Dialog(purpose) => open_dialog(&mut self.jobs, purpose),
            Command::Train => self.train(),
            Command::Pause => self.send(TrainCommand::Pause),
            Command::Resume => self.send(TrainCommand::Resume),
            Command::Stop => self.send(TrainCommand::Stop),
            Command::ResetModel => {
                self.drop_trainer();
                self.log = TrainingLog::default();
                self.status = "model reset; the next Train starts from scratch".into();
            }
            Command::SaveRun(dir) => match &self.trainer {
                Some(t) => {
                    t.send(TrainCommand::Save(dir));
                    self.status = "saving the run…".into();
                }
                None => self.error("there is no model to save yet: press Train first"),
            },
            Command::OpenRun(dir) => self.open_run(dir),
            Command::Focus(row) => {
                self.focus = row;
                self.neighbours = None;
                self.views = None;
                if let Some(r) = row {
                    self.request_neighbours(r);
                }
            }
            Command::Select(rows) => {
                self.selection.iter_mut().for_each(|s| *s = false);
                for r in rows {
                    if let Some(s) = self.selection.get_mut(r) {
                        *s = true;
                    }
                }
                self.selection_count = self.selection.iter().filter(|&&s| s).count();
                self.style_version += 1;
                if self.selection_count > 0 {
                    self.settings.right_tab = crate::app::settings::RightTab::Selection;
                }
            }
            Command::ClearSelection => {
                self.selection.iter_mut().for_each(|s| *s = false);
                self.selection_count = 0;
                self.style_version += 1;
            }
            Command::ToggleClass(c) => {
                if !self.hidden_classes.remove(&c) {
                    self.hidden_classes.insert(c);
                }
                self.style_version += 1;
            }
            Command::RunKmeans => self.run_kmeans(),
            Command::QueryImage(path) => self.query_image(path),
            Command::Export(dir) => self.export(dir, false),
            Command::ExportSelection(dir) => self.export(dir, true),
            Command::ShowViews(row) => self.show_views(row),
            Command::DismissError(i) => {
                if i < self.errors.len() {
                    self.errors.remove(i);
                }
            }
        }
    }

    fn send(&self, cmd: TrainCommand) {
        if let Some(t) = &self.trainer {
            t.send(cmd);
        }
    }

    pub fn open_dataset(&mut self, path: PathBuf) {
        if self.jobs.is_running("load") {
            self.error("a dataset is already loading; wait for it to finish");
            return;
        }
        self.status = format!("opening {}…", path.display());
        self.jobs.set_progress(0.0);
        let progress = self.jobs.load_progress.clone();
        let waker = self.jobs.waker();
        let report: Arc<dyn Fn(f32) + Send + Sync> = Arc::new(move |f: f32| {
            progress.store(f.to_bits(), std::sync::atomic::Ordering::Relaxed);
            waker();
        });
        let (map_items, seed) = (self.settings.train.map_items.max(2), self.settings.train.seed);
        self.jobs.spawn("load", move || JobResult::Loaded(work::load(&path, map_items, seed, report).map(Box::new)));
    }

    fn train(&mut self) {
        let Some(data) = &self.data else {
            self.error("open a dataset first");
            return;
        };
        if self.trainer.is_none() {
            let waker_ctx = self.ctx.clone();
            let mut config = self.settings.train.clone();
            // The map rows were chosen at load time; the trainer must snapshot the same rows.
            config.map_items = data.map_indices.len();
            match Trainer::spawn(data.dataset.clone(), config, Some(Arc::new(move || waker_ctx.request_repaint()))) {
                Ok(t) => {
                    if t.map_indices().as_slice() != data.map_indices.as_slice() {
                        self.error("internal: the trainer's map rows differ from the shown ones");
                    }
                    self.trainer = Some(t);
                }
                Err(e) => {
                    self.error(format!("cannot start training: {e}"));
                    return;
                }
            }
        }
        match self.log.status {
            TrainStatus::Paused => self.send(TrainCommand::Resume),
            TrainStatus::Running => {}
            TrainStatus::Idle | TrainStatus::Finished => self.send(TrainCommand::Start),
        }
        self.status = "starting training…".into();
    }

    fn open_run(&mut self, dir: PathBuf) {
        let Some(data) = &self.data else {
            self.error("open the run's dataset first, then the run");
            return;
        };
        let ds = data.dataset.clone();
        let ctx = self.ctx.clone();
        self.jobs.spawn("open-run", move || {
            let trainer = Trainer::open_run(&dir, ds, None, Some(Arc::new(move || ctx.request_repaint())));
            JobResult::RunOpened(trainer.map_err(|e| e.to_string()).map(|t| {
                let emb = crate::export::read_npy_matrix(&dir.join(crate::ssl::run::EMBEDDINGS)).ok();
                (t, emb)
            }))
        });
    }

    fn run_kmeans(&mut self) {
        let Some(space) = self.space.clone() else { return };
        let labels = self.data.as_ref().and_then(|d| d.labels.clone());
        let k = self.settings.kmeans_k.clamp(1, space.matrix.rows.max(1));
        let seed = self.settings.train.seed;
        self.jobs.spawn("kmeans", move || JobResult::Clustered {
            generation: space.generation,
            result: work::cluster(&space.matrix, labels.as_deref(), k, seed),
        });
    }

    fn query_image(&mut self, path: PathBuf) {
        let Some(data) = &self.data else { return };
        let crate::data::Modality::Image { channels, height, .. } = data.dataset.modality else {
            self.error("query by file needs an image dataset");
            return;
        };
        let pixels = match crate::data::image_folder::decode_image(&path, height, channels) {
            Ok(p) => p,
            Err(e) => {
                self.error(e.to_string());
                return;
            }
        };
        let request = self.next_request;
        self.next_request += 1;
        self.thumbs.forget_named("query");
        self.query = Some(FileQuery { path: path.clone(), pixels: pixels.clone(), request, neighbours: None });
        self.settings.right_tab = crate::app::settings::RightTab::Neighbours;
        match (&self.trainer, self.space.as_ref().and_then(|s| s.step)) {
            // A trained model embeds the file the same way as the dataset.
            (Some(t), Some(_)) => t.send(TrainCommand::Embed { request, items: pixels }),
            // Before training the map is raw pixels: the file's pixels are its vector.
            _ => {
                let n = pixels.len();
                self.on_embedded(request, Matrix::new(pixels, 1, n));
            }
        }
    }

    fn export(&mut self, dir: PathBuf, only_selection: bool) {
        let (Some(data), Some(space)) = (&self.data, &self.space) else { return };
        let rows: Vec<usize> = if only_selection {
            (0..self.selection.len()).filter(|&r| self.selection[r]).collect()
        } else {
            (0..space.matrix.rows).collect()
        };
        if rows.is_empty() {
            self.error("nothing to export: the selection is empty");
            return;
        }
        let clusters = self.clusters.as_ref().map(|(c, _)| c.assignments.clone());
        let (ds, indices, matrix) = (data.dataset.clone(), data.map_indices.clone(), space.matrix.clone());
        self.status = format!("exporting {} rows…", rows.len());
        self.jobs.spawn("export", move || {
            let export = work::export_rows(&ds, &indices, &matrix, &rows, clusters.as_deref());
            JobResult::Done(work::export_all(&dir, &export).map(|_| format!("exported {} rows to {}", rows.len(), dir.display())))
        });
    }

    fn show_views(&mut self, row: usize) {
        let Some(data) = &self.data else { return };
        let Some(&item) = data.map_indices.get(row) else { return };
        self.thumbs.forget_named("view");
        let seed = self.next_request;
        self.next_request += 1;
        self.views = Some((row, work::augmented_views(&data.dataset, item, &self.settings.train.augment, 8, seed)));
    }
}

/// Native dialogs block their thread, so they run as a job; the window keeps drawing.
fn open_dialog(jobs: &mut Jobs, purpose: DialogPurpose) {
    jobs.spawn("dialog", move || {
        let d = rfd::FileDialog::new();
        let path = match purpose {
            DialogPurpose::OpenDatasetFile => d.add_filter("datasets", &["csv", "npy", "gz", "ubyte"]).pick_file(),
            DialogPurpose::OpenDatasetFolder | DialogPurpose::OpenRun => d.pick_folder(),
            DialogPurpose::QueryImage => d.add_filter("images", &["png", "jpg", "jpeg", "bmp", "gif", "webp"]).pick_file(),
            DialogPurpose::SaveRun | DialogPurpose::ExportDir | DialogPurpose::ExportSelection => d.pick_folder(),
        };
        JobResult::Dialog { purpose, path }
    });
}
