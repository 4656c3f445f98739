//! The centre: map toolbar, the map itself, its legend and the hover tooltip.

use crate::app::jobs::JobKind;
use egui::{Color32, UiBuilder};

use crate::app::map::{colors, MapStyle};
use crate::app::settings::{ColorBy, MapTool, Projection};
use crate::app::state::Command;
use crate::app::tags::Tags;
use crate::app::ui::widgets::{feature_summary, label_text, swatch};
use crate::app::PretextApp;
use crate::app::ui::widgets::slider;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    toolbar(app, ui);
    crate::app::ui::timeline::show(app, ui);
    if app.data.is_none() || app.map.view.is_empty() {
        ui.centered_and_justified(|ui| {
            if app.jobs.is_running(JobKind::Load) {
                ui.spinner();
            } else {
                ui.label("Open a dataset to see its map.");
            }
        });
        return;
    }
    if app.settings.color_by == ColorBy::KnnCorrect {
        app.request_knn_correct();
    }
    refresh_style(app);
    let marked: Vec<usize> = match (&app.neighbours.list, app.neighbours.focus) {
        (Some((_, row, n)), Some(f)) if *row == f => n.iter().map(|n| n.index).collect(),
        _ => Vec::new(),
    };
    let style = MapStyle {
        colors: &app.map.colors,
        visible: &app.map.visible,
        selected: &app.selection.rows,
        any_selected: app.selection.count > 0,
        focus: app.neighbours.focus,
        marked: &marked,
        point_size: app.settings.point_size,
        version: app.map.style_version,
    };
    let out = app.map.view.show(ui, &style, app.settings.tool);
    let Some(response) = out.response else { return };
    let response = response.on_hover_cursor(if app.settings.tool == MapTool::Pan { egui::CursorIcon::Grab } else { egui::CursorIcon::Crosshair });
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Embedding map"));
    let rect = response.rect;
    if let Some(row) = out.hovered {
        if out.selected.is_none() {
            response.clone().on_hover_ui_at_pointer(|ui| tooltip(app, ui, row));
        }
    }
    if let Some(clicked) = out.clicked {
        app.command(match clicked {
            Some(row) => Command::ShowNeighboursOf(row),
            None => Command::Focus(None),
        });
    }
    if let Some(rows) = out.selected {
        app.command(Command::Select(rows));
    }
    if app.settings.density_contours {
        crate::app::ui::contours::show(app, ui, rect);
    }
    if app.settings.cluster_labels {
        crate::app::ui::cluster_labels::show(app, ui, rect);
    }
    if app.change.trails {
        crate::app::ui::changes::trails(app, ui, rect);
    }
    legend(app, ui, rect);
}

fn toolbar(app: &mut PretextApp, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        egui::ComboBox::from_label("Colour by").selected_text(app.settings.color_by.label()).show_ui(ui, |ui| {
            for c in ColorBy::ALL {
                ui.selectable_value(&mut app.settings.color_by, c, c.label());
            }
        });
        let before = app.settings.projection;
        egui::ComboBox::from_label("Projection").selected_text(before.label()).show_ui(ui, |ui| {
            for p in Projection::ALL {
                ui.selectable_value(&mut app.settings.projection, p, p.label());
            }
        });
        if app.settings.projection != before {
            app.command(Command::Reproject);
        }
        ui.separator();
        ui.selectable_value(&mut app.settings.tool, MapTool::Pan, "Pan").on_hover_text("Drag to pan, scroll to zoom, click a point to see its neighbours. Shift-drag: box select.");
        ui.selectable_value(&mut app.settings.tool, MapTool::Box, "Box").on_hover_text("Drag a rectangle to select the points inside (right-drag pans)");
        ui.selectable_value(&mut app.settings.tool, MapTool::Lasso, "Lasso").on_hover_text("Draw around points to select them (right-drag pans)");
        if ui.button("Reset view").on_hover_text("Fit all points (or double-click the map)").clicked() {
            app.map.view.reset_view();
        }
        ui.add(slider(&mut app.settings.point_size, 1.0..=8.0).text("Point size"));
        ui.checkbox(&mut app.settings.density_contours, "Density").on_hover_text("Draw density contours over the map (at 8 %, 25 % and 60 % of the peak density)");
        if app.clusters.result.is_some() {
            ui.checkbox(&mut app.settings.cluster_labels, "Cluster labels").on_hover_text("Write each cluster's majority label at its centre");
        }
        ui.checkbox(&mut app.settings.animate, "Animate").on_hover_text("Move points smoothly to each new snapshot's layout");
        if app.selection.count > 0 && ui.button("Clear selection").clicked() {
            app.command(Command::ClearSelection);
        }
        if let Some(iso) = &app.isolation.active {
            ui.label(format!("Isolated: {} of {} points", iso.rows.len(), iso.full.items.len()));
            if ui.button("Show all points").clicked() {
                app.command(Command::ShowAllPoints);
            }
        }
        if let Some(s) = &app.space {
            let mut text = format!("{} of {}", app.settings.projection.label(), s.describe());
            if let Some(age) = map_age(app, s) {
                text.push_str(&age);
            }
            if app.map.projection.running.is_some() {
                text.push_str(" · projecting…");
            }
            ui.label(egui::RichText::new(text).weak());
            let trust = app.scores.result.as_ref().filter(|r| r.generation == s.generation).and_then(|r| r.trustworthiness);
            if let Some(t) = trust {
                ui.label(egui::RichText::new(format!("trustworthiness {t:.3}")).weak())
                    .on_hover_text("How many of each point's 10 map neighbours are also near it in the embedding (1 = all; measured on up to 1,000 points)");
            }
        }
    });
}

/// How far the map is behind training: ", 14 s ago (training at step 160)" while the current
/// model trains, nothing for raw features, saved runs or a finished training.
fn map_age(app: &PretextApp, space: &crate::app::state::Space) -> Option<String> {
    let log = &app.training.log;
    if space.run.is_some() || log.status != crate::app::state::TrainStatus::Running {
        return None;
    }
    let trained = log.stepped_at(space.step?)?;
    // Repaint once a second so the age counts up between steps too.
    app.shell.ctx.request_repaint_after(std::time::Duration::from_secs(1));
    Some(format!(", {:.0} s ago (training at step {})", trained.elapsed().as_secs_f32(), log.step))
}

/// Recomputes point colours and visibility when what they depend on changed.
fn refresh_style(app: &mut PretextApp) {
    if app.settings.color_by == ColorBy::Change {
        // The comparison follows the timeline (a newly scored snapshot), whichever tab is open.
        let before = app.change.version();
        app.change.current(&app.timeline);
        app.map.style_version += u64::from(app.change.version() != before);
    }
    let key = (app.map.style_version, app.settings.color_by);
    if app.map.colors_key == Some(key) && app.map.colors.len() == app.map.view.len() {
        return;
    }
    let n = app.map.view.len();
    let labels = app.data.as_ref().and_then(|d| d.labels.as_deref());
    let clusters = app.clusters.result.as_ref().map(|(c, _)| c.assignments.as_slice()).filter(|a| a.len() == n);
    let noise_cluster = app.clusters.result.as_ref().filter(|(c, _)| c.noise).map(|(c, _)| c.k - 1);
    let knn = app.map.knn_correct.as_ref().map(|(_, k)| k.as_slice()).filter(|k| k.len() == n);
    let data = app.data.as_ref();
    let predictions = app.probe.tag_predictions(n);
    app.map.colors = (0..n)
        .map(|r| match app.settings.color_by {
            ColorBy::Label => labels.map_or(colors::UNKNOWN, |l| colors::category(l[r] as usize)),
            ColorBy::Cluster => clusters.map_or(colors::UNKNOWN, |c| if Some(c[r]) == noise_cluster { colors::UNKNOWN } else { colors::category(c[r]) }),
            ColorBy::KnnCorrect => match knn.and_then(|k| k[r]) {
                Some(true) => colors::CORRECT,
                Some(false) => colors::WRONG,
                None => colors::UNKNOWN,
            },
            ColorBy::Split => match data.map(|d| d.dataset.is_test(d.map_indices[r])) {
                Some(true) => colors::TEST,
                _ => colors::TRAIN,
            },
            ColorBy::Score(kind) => app.scores.values_for(kind, n).map_or(colors::UNKNOWN, |v| colors::ramp(v[r])),
            ColorBy::Tag => data.and_then(|d| app.tags.first_of(d.map_indices[r])).map_or(colors::UNKNOWN, Tags::colour),
            ColorBy::Predicted => predictions.map_or(colors::UNKNOWN, |p| Tags::colour(p.predicted[r] as usize)),
            ColorBy::Confidence => predictions.map_or(colors::UNKNOWN, |p| colors::ramp(p.confidence[r])),
            ColorBy::Change => app.change.values_for(n).map_or(colors::UNKNOWN, |v| colors::ramp(v[r])),
        })
        .collect();
    let item = |r: usize| data.map(|d| d.map_indices[r]);
    app.map.visible = (0..n)
        .map(|r| labels.is_none_or(|l| !app.map.hidden_classes.contains(&l[r])) && item(r).is_none_or(|i| !app.tags.hides(i)))
        .collect();
    app.map.colors_key = Some(key);
}

fn tooltip(app: &mut PretextApp, ui: &mut egui::Ui, row: usize) {
    let Some(item) = app.item_of_row(row) else { return };
    let ds = app.data.as_ref().map(|d| d.dataset.clone());
    ui.horizontal(|ui| {
        if let Some(t) = ds.as_ref().and_then(|ds| app.thumbs.item(ui.ctx(), ds, item)) {
            ui.add(egui::Image::new(&t).fit_to_exact_size(egui::vec2(84.0, 84.0)));
        }
        ui.vertical(|ui| {
            ui.strong(format!("#{item}"));
            if let Some(ds) = &ds {
                ui.label(egui::RichText::new(ds.item_name(item)).monospace());
            }
            ui.label(label_text(app, item));
            if let Some((c, _)) = &app.clusters.result {
                if let Some(k) = c.assignments.get(row) {
                    ui.label(format!("cluster {k}"));
                }
            }
            if let Some(ds) = &ds {
                ui.label(if ds.is_test(item) { "test split" } else { "train split" });
            }
            let features = feature_summary(app, item, 8);
            if !features.is_empty() {
                ui.label(egui::RichText::new(features).monospace().small());
            }
        });
    });
}

fn legend(app: &mut PretextApp, ui: &mut egui::Ui, map_rect: egui::Rect) {
    let entries: Vec<(String, Color32, Option<u32>)> = match app.settings.color_by {
        ColorBy::Label => app
            .data
            .as_ref()
            .map(|d| d.dataset.class_names.iter().enumerate().map(|(i, n)| (n.clone(), colors::category(i), Some(i as u32))).collect())
            .unwrap_or_default(),
        ColorBy::Cluster => match &app.clusters.result {
            Some((c, _)) => (0..c.k)
                .map(|i| if c.noise && i + 1 == c.k { ("noise".into(), colors::UNKNOWN, None) } else { (format!("cluster {i}"), colors::category(i), None) })
                .collect(),
            None => vec![("run k-means (Clusters tab)".into(), colors::UNKNOWN, None)],
        },
        ColorBy::KnnCorrect => {
            let mut v = vec![("kNN vote = label".into(), colors::CORRECT, None), ("kNN vote differs from label".into(), colors::WRONG, None)];
            if app.map.knn_correct.is_none() {
                v.push(("computing…".into(), colors::UNKNOWN, None));
            }
            v
        }
        ColorBy::Split => vec![("train".into(), colors::TRAIN, None), ("test".into(), colors::TEST, None)],
        ColorBy::Score(kind) => match app.scores.values_for(kind, app.map.view.len()) {
            Some(_) => vec![(format!("high {}", kind.label().to_lowercase()), colors::ramp(1.0), None), ("middle".into(), colors::ramp(0.5), None), ("low".into(), colors::ramp(0.0), None)],
            None => vec![("no scores yet (Scores tab)".into(), colors::UNKNOWN, None)],
        },
        ColorBy::Tag => {
            let mut v: Vec<(String, Color32, Option<u32>)> = app.tags.list.iter().enumerate().map(|(i, t)| (t.name.clone(), Tags::colour(i), None)).collect();
            v.push((if v.is_empty() { "no tags yet (Tags tab)" } else { "untagged" }.into(), colors::UNKNOWN, None));
            v
        }
        ColorBy::Predicted => match app.probe.tag_predictions(app.map.view.len()) {
            Some(p) => p.tag_names.iter().enumerate().map(|(i, t)| (format!("predicted {t}"), Tags::colour(i), None)).collect(),
            None => vec![("fit a probe on tags (Probe tab)".into(), colors::UNKNOWN, None)],
        },
        ColorBy::Confidence => match app.probe.tag_predictions(app.map.view.len()) {
            Some(_) => vec![("sure".into(), colors::ramp(1.0), None), ("unsure".into(), colors::ramp(0.0), None)],
            None => vec![("fit a probe on tags (Probe tab)".into(), colors::UNKNOWN, None)],
        },
        ColorBy::Change => match app.change.values_for(app.map.view.len()) {
            Some(_) => vec![("all neighbours new".into(), colors::ramp(1.0), None), ("half".into(), colors::ramp(0.5), None), ("same neighbours".into(), colors::ramp(0.0), None)],
            None => vec![("needs two scored snapshots (Changes tab)".into(), colors::UNKNOWN, None)],
        },
    };
    if entries.is_empty() {
        return;
    }
    let width = 170.0;
    let rect = egui::Rect::from_min_size(map_rect.right_top() + egui::vec2(-width - 8.0, 8.0), egui::vec2(width, map_rect.height() - 16.0));
    let mut toggle = None;
    ui.scope_builder(UiBuilder::new().max_rect(rect), |ui| {
        egui::Frame::popup(ui.style()).show(ui, |ui| {
            ui.spacing_mut().item_spacing.y = 1.0;
            for (name, color, class) in &entries {
                ui.horizontal(|ui| {
                    swatch(ui, *color);
                    match class {
                        Some(c) => {
                            let shown = !app.map.hidden_classes.contains(c);
                            if ui.selectable_label(shown, name).on_hover_text("Click to show or hide this class").clicked() {
                                toggle = Some(*c);
                            }
                        }
                        None => {
                            ui.label(name);
                        }
                    }
                });
            }
        });
    });
    if let Some(c) = toggle {
        app.command(Command::ToggleClass(c));
    }
}
