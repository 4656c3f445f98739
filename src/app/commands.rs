//! Applying the commands panels emit (end of each frame): training control, opening and
//! saving, clustering, queries and exports. Heavy work goes to jobs or the trainer thread.

use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::Matrix;
use crate::app::jobs::{DialogPurpose, JobKind, JobResult, Jobs};
use crate::app::settings::ClusterMethod;
use crate::app::rooms::Lifecycle;
use crate::app::state::{Command, Snapshot, TrainStatus};
use crate::app::neighbours::FileQuery;
use crate::app::{work, PretextApp};
use crate::ssl::{TrainCommand, Trainer};

impl PretextApp {
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
                self.broadcast(Lifecycle::ModelReset);
                self.shell.status = "model reset; the next Train starts from scratch".into();
            }
            Command::SaveRun(dir) => match &self.training.trainer {
                Some(t) => {
                    t.send(TrainCommand::Save(dir));
                    self.shell.status = "saving the run…".into();
                }
                None => self.error("there is no model to save yet: press Train first"),
            },
            Command::OpenRun(dir) => self.open_run(dir),
            Command::EmbedOnly(dir) => self.embed_only(dir),
            Command::AddRun(dir) => self.add_run(dir),
            Command::RemoveRun(dir) => {
                if self.runs.is_current(&dir) {
                    self.runs.current_dir = None;
                }
                self.runs.remove(&dir);
            }
            Command::ShowRun(dir) => self.show_run(dir),
            Command::Focus(row) => {
                self.neighbours.focus = row;
                self.neighbours.list = None;
                self.neighbours.views = None;
                self.neighbours.reconstructions.close();
                if let Some(r) = row {
                    self.request_neighbours(r);
                }
            }
            Command::ShowNeighboursOf(row) => {
                self.apply(Command::Focus(Some(row)));
                self.settings.right_tab = crate::app::settings::RightTab::Neighbours;
            }
            Command::ColorBy(c) => {
                self.settings.color_by = c;
                self.map.restyle();
            }
            Command::ToggleRunsTable => self.runs.open = !self.runs.open,
            Command::RefreshNeighbours => {
                if let Some(r) = self.neighbours.focus {
                    self.request_neighbours(r);
                }
            }
            Command::Select(rows) => {
                self.selection.set(rows);
                self.map.restyle();
                if self.selection.count > 0 {
                    self.settings.right_tab = crate::app::settings::RightTab::Selection;
                }
            }
            Command::ClearSelection => {
                self.selection.clear();
                self.map.restyle();
            }
            Command::ToggleClass(c) => {
                if !self.map.hidden_classes.remove(&c) {
                    self.map.hidden_classes.insert(c);
                }
                self.map.style_version += 1;
            }
            Command::RunClustering => self.run_clustering(),
            Command::PickDiverse => self.pick_diverse(),
            Command::Reproject => {
                if let (Some(space), Some(data)) = (&self.space, &self.data) {
                    let items = data.map_indices.clone();
                    self.map.pending_snapshot = Some(Snapshot { step: space.step, matrix: space.matrix.clone(), items, run: space.run.clone() });
                    self.project_pending();
                }
            }
            Command::QueryImage(path) => self.query_image(path),
            Command::QueryText(text) => self.query_text(text),
            Command::Export(dir) => self.export(dir, false),
            Command::ExportSelection(dir) => self.export(dir, true),
            Command::ExportTorch { run, out } => self.export_torch(run, out),
            Command::Curate(c) => self.curate(c),
            Command::ShowViews(row) => self.show_views(row),
            Command::ShowReconstructions(row) => {
                self.neighbours.reconstructions.row = Some(row);
                self.request_reconstructions();
            }
            Command::Tag(cmd) => self.apply_tag(cmd),
            Command::Probe(cmd) => self.run_probe(cmd),
            Command::IsolateSelection => self.isolate_selection(),
            Command::ShowAllPoints => self.show_all_points(),
            Command::DismissError(i) => {
                if i < self.shell.errors.len() {
                    self.shell.errors.remove(i);
                }
            }
        }
    }

    fn send(&self, cmd: TrainCommand) {
        self.training.send(cmd);
    }

    pub fn open_dataset(&mut self, path: PathBuf) {
        self.open_dataset_split(path, 0);
    }

    /// Opens a dataset; one without a split of its own is split with `split_seed` (a run's).
    pub(crate) fn open_dataset_split(&mut self, path: PathBuf, split_seed: u64) {
        if self.jobs.is_running(JobKind::Load) {
            self.error("a dataset is already loading; wait for it to finish");
            return;
        }
        self.shell.status = format!("opening {}…", path.display());
        self.jobs.set_progress(0.0);
        let progress = self.jobs.load_progress.clone();
        let waker = self.jobs.waker();
        let report: Arc<dyn Fn(f32) + Send + Sync> = Arc::new(move |f: f32| {
            progress.store(f.to_bits(), std::sync::atomic::Ordering::Relaxed);
            waker();
        });
        let (map_items, seed, method) = (self.settings.map_items(), self.settings.train.seed, self.settings.projection);
        let read = self.dataset.read_options.clone();
        // A run's image size and text length apply to reading its own data, not later files.
        self.dataset.read_options.run_sizes = None;
        self.jobs.spawn(JobKind::Load, move || JobResult::Loaded(work::load(&path, &read, split_seed, map_items, seed, method, report).map(Box::new)));
    }

    fn train(&mut self) {
        let Some(data) = &self.data else {
            self.error("open a dataset first");
            return;
        };
        if self.training.trainer.is_none() {
            let waker_ctx = self.shell.ctx.clone();
            let mut config = self.settings.train.clone();
            // The trainer snapshots the rows the map shows (chosen at load time, or a run's).
            config.map_items = data.map_indices.len();
            // The window always paces its snapshots (settings saved before the choice have none).
            config.live_map.get_or_insert_with(Default::default);
            let rows = data.map_indices.to_vec();
            match Trainer::spawn_with_rows(data.dataset.clone(), config, rows, Some(Arc::new(move || waker_ctx.request_repaint()))) {
                Ok(t) => {
                    self.runs.current_dir = None;
                    self.training.trainer = Some(t);
                }
                Err(e) => {
                    self.error(format!("cannot start training: {e}"));
                    return;
                }
            }
        }
        // Training shows the current model again.
        if self.runs.shown.is_some() {
            self.runs.shown = None;
            if self.runs.live.is_some() {
                self.show_run(None);
            }
        }
        match self.training.log.status {
            TrainStatus::Paused => self.send(TrainCommand::Resume),
            TrainStatus::Running => {}
            TrainStatus::Idle | TrainStatus::Finished => self.send(TrainCommand::Start),
        }
        self.shell.status = "starting training…".into();
    }

    fn open_run(&mut self, dir: PathBuf) {
        let Some(data) = &self.data else {
            self.error("open the run's dataset first, then the run");
            return;
        };
        let ds = data.dataset.clone();
        let ctx = self.shell.ctx.clone();
        let live_map = self.settings.train.live_map.unwrap_or_default();
        self.jobs.spawn(JobKind::OpenRun, move || {
            // A run trained on the command line continues here with the window's pacing.
            let opened = crate::ssl::run::load_config(&dir)
                .and_then(|saved| {
                    let mut config = saved.train;
                    config.live_map.get_or_insert(live_map);
                    Trainer::open_run(&dir, ds, Some(config), Some(Arc::new(move || ctx.request_repaint())))
                })
                .and_then(|t| Ok((t, Box::new(crate::ssl::run::load(&dir)?))));
            JobResult::RunOpened(opened.map_err(|e| e.to_string()))
        });
    }

    fn run_clustering(&mut self) {
        let Some(space) = self.space.clone() else { return };
        let labels = self.data.as_ref().and_then(|d| d.labels.clone());
        let k = self.settings.kmeans_k.clamp(1, space.matrix.rows.max(1));
        let (seed, min_size) = (self.settings.train.seed, self.settings.hdbscan_min_size);
        let method = self.settings.cluster_method;
        self.jobs.spawn(JobKind::Clustering, move || JobResult::Clustered {
            generation: space.generation,
            result: match method {
                ClusterMethod::Kmeans => work::cluster(&space.matrix, labels.as_deref(), k, seed),
                ClusterMethod::Hdbscan => work::cluster_hdbscan(&space.matrix, labels.as_deref(), min_size),
            },
        });
    }

    fn query_image(&mut self, path: PathBuf) {
        let Some(data) = &self.data else { return };
        let read = match data.dataset.modality {
            crate::data::Modality::Image { channels, height, .. } => {
                crate::data::image_folder::decode_image(&path, height, channels)
            }
            crate::data::Modality::Series { channels, length } => crate::data::series::read_query(&path, channels, length),
            crate::data::Modality::Table { .. } | crate::data::Modality::Text { .. } | crate::data::Modality::Embedding { .. } => {
                self.error("query by file needs an image or time series dataset (for texts, use Search by text)");
                return;
            }
        };
        let pixels = match read {
            Ok(p) => p,
            Err(e) => {
                self.error(e.to_string());
                return;
            }
        };
        let request = self.shell.request();
        self.thumbs.forget_named("query");
        self.neighbours.query = Some(FileQuery { path: path.clone(), text: None, pixels: pixels.clone(), request, neighbours: None });
        self.settings.right_tab = crate::app::settings::RightTab::Neighbours;
        match (&self.training.trainer, self.space.as_ref().and_then(|s| s.step)) {
            // A trained model embeds the file the same way as the dataset.
            (Some(t), Some(_)) => t.send(TrainCommand::Embed { request, items: pixels }),
            // The map shows a model that has been reset: nothing can embed the file like it.
            (None, Some(_)) => self.error("the model behind this map was reset; press Train (or open a run) to query by file"),
            // Before training the map is raw pixels: the file's pixels are its vector.
            _ => {
                let n = pixels.len();
                self.on_embedded(request, Matrix::new(pixels, 1, n));
            }
        }
    }

    fn query_text(&mut self, text: String) {
        let Some(data) = &self.data else { return };
        let crate::data::Modality::Text { max_len } = data.dataset.modality else {
            self.error("query by text needs a text dataset");
            return;
        };
        if text.trim().is_empty() {
            self.error("type some text to search for");
            return;
        }
        let mut codes = vec![0.0; max_len];
        crate::data::text::encode(&text, &mut codes);
        let request = self.shell.request();
        self.neighbours.query = Some(FileQuery { path: PathBuf::new(), text: Some(text.clone()), pixels: codes.clone(), request, neighbours: None });
        self.settings.right_tab = crate::app::settings::RightTab::Neighbours;
        match (&self.training.trainer, self.space.as_ref().and_then(|s| s.step)) {
            // A trained model embeds the text the same way as the dataset.
            (Some(t), Some(_)) => t.send(TrainCommand::Embed { request, items: codes }),
            (None, Some(_)) => self.error("the model behind this map was reset; press Train (or open a run) to search by text"),
            // Before training the map is TF-IDF vectors: the text's own is its vector.
            _ => {
                let (ds, indices) = (data.dataset.clone(), data.map_indices.clone());
                let Some(space) = self.space.clone() else { return };
                let k = self.settings.neighbours_k.max(1);
                self.jobs.spawn(JobKind::Query, move || {
                    let tfidf = crate::analysis::baseline::text_tfidf(&ds, &indices);
                    JobResult::QueryNeighbours {
                        generation: space.generation,
                        request,
                        result: work::nearest(&space.matrix, &tfidf.transform(&[text]), k),
                    }
                });
            }
        }
    }

    fn export(&mut self, dir: PathBuf, only_selection: bool) {
        let (Some(data), Some(space)) = (&self.data, &self.space) else { return };
        let rows: Vec<usize> = if only_selection {
            self.selection.selected()
        } else {
            (0..space.matrix.rows).collect()
        };
        if rows.is_empty() {
            self.error("nothing to export: the selection is empty");
            return;
        }
        let clusters = self.clusters.result.as_ref().map(|(c, _)| c.assignments.clone());
        let tags = self.tags.clone();
        let (ds, indices, matrix) = (data.dataset.clone(), data.map_indices.clone(), space.matrix.clone());
        let layout = self.map.view.target().to_vec();
        self.shell.status = format!("exporting {} rows…", rows.len());
        self.jobs.spawn(JobKind::Export, move || {
            let export = work::export_rows(&ds, &indices, &matrix, &rows, clusters.as_deref(), &tags, Some(&layout));
            JobResult::Done(work::export_all(&dir, &export).map(|_| format!("exported {} rows to {}", rows.len(), dir.display())))
        });
    }

    /// Asks the trainer to reconstruct the shown item again (also after each snapshot, so
    /// the reconstructions follow training).
    pub(crate) fn request_reconstructions(&mut self) {
        let (Some(row), Some(data), Some(trainer)) = (self.neighbours.reconstructions.row, &self.data, &self.training.trainer) else { return };
        let Some(&item) = data.map_indices.get(row) else { return };
        let request = self.shell.request();
        self.neighbours.reconstructions.request = request;
        trainer.send(TrainCommand::Reconstruct { request, items: vec![item; crate::app::reconstructions::DRAWS] });
    }

    fn show_views(&mut self, row: usize) {
        let Some(data) = &self.data else { return };
        let Some(&item) = data.map_indices.get(row) else { return };
        self.thumbs.forget_named("view");
        let seed = self.shell.request();
        self.neighbours.views = Some((row, work::augmented_views(&data.dataset, item, &self.settings.train.augment, 8, seed)));
    }
}

impl PretextApp {
    /// "Embed only": the run folder is written in the background, then opened like any run.
    fn embed_only(&mut self, dir: PathBuf) {
        let Some(data) = &self.data else { return self.error("open a dataset first") };
        if self.jobs.is_running(JobKind::Embed) {
            return self.error("an embedding pass is already running");
        }
        let (ds, cfg) = (data.dataset.clone(), self.settings.train.clone());
        self.shell.status = format!("embedding {} items with {}…", ds.len(), cfg.encoder.label());
        self.jobs.spawn(JobKind::Embed, move || {
            JobResult::Embedded(crate::ssl::embed_run::embed_to_run(&ds, &cfg, &dir).map(|_| dir).map_err(|e| e.to_string()))
        });
    }
}

/// Native dialogs block their thread, so they run as a job; the window keeps drawing.
fn open_dialog(jobs: &mut Jobs, purpose: DialogPurpose) {
    jobs.spawn(JobKind::Dialog, move || {
        let d = rfd::FileDialog::new();
        let path = match purpose {
            DialogPurpose::OpenDatasetFile => d.add_filter("datasets", &["csv", "npy", "parquet", "arrow", "feather", "ipc", "ts", "tsv", "txt", "gz", "ubyte"]).pick_file(),
            DialogPurpose::OpenDatasetFolder | DialogPurpose::OpenRun | DialogPurpose::AddRun => d.pick_folder(),
            DialogPurpose::QueryImage => d
                .add_filter("images", &["png", "jpg", "jpeg", "bmp", "gif", "webp"])
                .add_filter("one time series", &["csv", "txt", "tsv", "npy"])
                .pick_file(),
            DialogPurpose::SaveRun | DialogPurpose::ExportDir | DialogPurpose::ExportSelection | DialogPurpose::ExportTorch => d.pick_folder(),
            DialogPurpose::StartFrom => d.add_filter("weights", &["safetensors", "pt", "pth", "bin", "ckpt"]).pick_file(),
        };
        JobResult::Dialog { purpose, path }
    });
}
