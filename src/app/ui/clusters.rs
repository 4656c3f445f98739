//! Clusters panel: k-means on the current embedding, a table against the labels, and
//! selecting a cluster's points on the map.

use crate::app::jobs::JobKind;
use crate::app::map::colors;
use crate::app::settings::ClusterMethod;
use crate::app::state::Command;
use crate::app::ui::widgets::swatch;
use crate::app::PretextApp;
use crate::app::ui::widgets::slider;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut app.settings.cluster_method, ClusterMethod::Kmeans, "k-means")
            .on_hover_text("k clusters of similar size around centroids (k-means++ start, Lloyd iterations)");
        ui.selectable_value(&mut app.settings.cluster_method, ClusterMethod::Hdbscan, "HDBSCAN")
            .on_hover_text("Density-based: finds the number of clusters itself and leaves sparse points as noise");
    });
    ui.horizontal(|ui| {
        let running = app.jobs.is_running(JobKind::Clustering);
        let run = match app.settings.cluster_method {
            ClusterMethod::Kmeans => {
                ui.add(slider(&mut app.settings.kmeans_k, 2..=50).text("k"));
                "Run k-means"
            }
            ClusterMethod::Hdbscan => {
                ui.add(slider(&mut app.settings.hdbscan_min_size, 2..=200).logarithmic(true).text("Min cluster size"));
                "Run HDBSCAN"
            }
        };
        if ui.add_enabled(!running && app.space.is_some(), egui::Button::new(run)).clicked() {
            app.command(Command::RunClustering);
        }
        if running {
            ui.spinner();
        }
    });
    if let Some(s) = &app.space {
        ui.label(egui::RichText::new(format!("Clusters the {} (all map items).", s.describe())).small().weak());
    }
    let Some((result, step)) = &app.clusters.result else {
        ui.label("No clusters yet.");
        return;
    };
    let current = app.space.as_ref().and_then(|s| s.step);
    if *step != current {
        let when = step.map_or("raw features".to_string(), |s| format!("step {s}"));
        ui.colored_label(ui.visuals().warn_fg_color, format!("Computed on {when}; the embedding has moved on. Run again to update."));
    }
    ui.horizontal(|ui| {
        if let Some(nmi) = result.nmi {
            ui.label(format!("NMI {nmi:.3}")).on_hover_text("Normalised mutual information between clusters and labels (1 = same partition)");
        }
        if let Some(ari) = result.ari {
            ui.label(format!("ARI {ari:.3}")).on_hover_text("Adjusted Rand index (0 = chance, 1 = same partition)");
        }
    });
    let summaries = result.summaries.clone();
    let assignments = result.assignments.clone();
    let noise = result.noise;
    let ds = app.data.as_ref().map(|d| d.dataset.clone());
    let mut select = None;
    egui::Grid::new("cluster-table").striped(true).num_columns(5).show(ui, |ui| {
        ui.strong("");
        ui.strong("size");
        ui.strong("majority");
        ui.strong("purity");
        ui.strong("members");
        ui.end_row();
        for s in &summaries {
            let is_noise = noise && s.cluster + 1 == summaries.len();
            ui.horizontal(|ui| {
                swatch(ui, if is_noise { colors::UNKNOWN } else { colors::category(s.cluster) });
                let name = if is_noise { "Noise".to_string() } else { format!("Cluster {}", s.cluster) };
                if ui.button(name).on_hover_text("Select these points on the map").clicked() {
                    select = Some(s.cluster);
                }
            });
            ui.label(s.size.to_string());
            ui.label(s.majority.zip(ds.as_ref()).map_or("—".into(), |(m, d)| d.class_name(m).to_string()));
            ui.label(if s.majority.is_some() { format!("{:.0}%", s.purity * 100.0) } else { "—".into() });
            ui.horizontal(|ui| {
                let members = assignments.iter().enumerate().filter(|(_, &a)| a == s.cluster).map(|(r, _)| r);
                for r in members.take(4) {
                    let item = app.item_of_row(r);
                    if let (Some(item), Some(ds)) = (item, &ds) {
                        if let Some(t) = app.thumbs.item(ui.ctx(), ds, item) {
                            ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(28.0, 28.0)));
                        }
                    }
                }
            });
            ui.end_row();
        }
    });
    if let Some(c) = select {
        let rows: Vec<usize> = assignments.iter().enumerate().filter(|(_, &a)| a == c).map(|(r, _)| r).collect();
        app.command(Command::Select(rows));
    }
}
