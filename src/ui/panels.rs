//! The panels around the views: menu bar, series browser, window/level,
//! view options, probe and study information, DICOM tags, exports,
//! histogram and the status bar. Widgets only push commands or flip display
//! toggles; loading and exporting happen in `App::logic`.

use egui::{Color32, RichText};

use super::app::App;
use super::command::Command;
use crate::mpr::ViewAxis;
use crate::volume::resample::Interpolation;
use crate::volume::window;

/// File menu.
pub fn menu_bar(app: &mut App, ui: &mut egui::Ui) {
    egui::Panel::top("menu").show(ui, |ui| {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open folder…").clicked() {
                    app.push(Command::PickFolder);
                    ui.close();
                }
                if ui.button("Demo study").clicked() {
                    app.push(Command::OpenDemo);
                    ui.close();
                }
                if ui
                    .add_enabled(app.study.is_some(), egui::Button::new("Open segmentation…"))
                    .clicked()
                {
                    app.push(Command::PickSegmentation);
                    ui.close();
                }
                ui.menu_button("Recent", |ui| {
                    if app.recent.paths.is_empty() {
                        ui.label("(none yet)");
                    }
                    for p in app.recent.paths.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            app.push(Command::OpenPath(p));
                            ui.close();
                        }
                    }
                });
                ui.separator();
                for axis in [ViewAxis::Axial, ViewAxis::Coronal, ViewAxis::Sagittal] {
                    if ui
                        .button(format!("Save {} view as PNG…", axis.name()))
                        .clicked()
                    {
                        app.ask_save(&format!("{}.png", axis.name()), move |p| {
                            Command::SaveView(axis, p)
                        });
                        ui.close();
                    }
                }
                if ui
                    .add_enabled(
                        app.study.is_some(),
                        egui::Button::new("Export rotating MIP GIF…"),
                    )
                    .clicked()
                {
                    app.show_gif_window = true;
                    ui.close();
                }
                if ui
                    .add_enabled(
                        app.study.is_some(),
                        egui::Button::new("Export surface mesh…"),
                    )
                    .clicked()
                {
                    app.show_mesh_window = true;
                    ui.close();
                }
                super::seg_panel::export_menu(app, ui);
                if ui.button("Export montage PNG…").clicked() {
                    app.ask_save("montage.png", Command::ExportMontage);
                    ui.close();
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("View", |ui| {
                if ui.button("Survey…").clicked() {
                    app.show_survey = true;
                    ui.close();
                }
                if ui.button("Registration…").clicked() {
                    app.registration.open = true;
                    ui.close();
                }
                ui.checkbox(&mut app.state.show_crosshair, "Crosshair");
                ui.checkbox(&mut app.state.show_info_overlay, "Patient/study overlay");
                ui.checkbox(&mut app.state.show_labels, "Segmentation overlay");
                if ui.button("Reset (Home)").clicked() {
                    app.push(Command::Reset);
                    ui.close();
                }
            });
            if let Some(s) = &app.study {
                ui.separator();
                ui.label(RichText::new(&s.name).strong());
            }
        });
    });
}

/// Progress, messages and the HU probe.
pub fn status_bar(app: &mut App, ui: &mut egui::Ui) {
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal(|ui| {
            let job = app
                .load_job
                .as_ref()
                .map(|j| (j.name.clone(), j.fraction(), j.note()))
                .or_else(|| {
                    app.scan_job
                        .as_ref()
                        .map(|j| (j.name.clone(), j.fraction(), j.note()))
                })
                .or_else(|| {
                    app.task_job
                        .as_ref()
                        .map(|j| (j.name.clone(), j.fraction(), j.note()))
                });
            if let Some((name, fraction, note)) = job {
                ui.spinner();
                ui.label(format!("{name} — {note}"));
                if let Some(f) = fraction {
                    ui.add(
                        egui::ProgressBar::new(f)
                            .desired_width(160.0)
                            .show_percentage(),
                    );
                }
                if ui.button("Cancel").clicked() {
                    app.push(Command::CancelJob);
                }
                ui.separator();
            }
            match &app.probe {
                Some(p) => {
                    ui.monospace(format!(
                        "HU {:>7.1}   voxel [z {} row {} col {}]   LPS ({:.1}, {:.1}, {:.1}) mm",
                        p.hu,
                        p.index[0],
                        p.index[1],
                        p.index[2],
                        p.point_mm.x,
                        p.point_mm.y,
                        p.point_mm.z
                    ));
                }
                None => {
                    ui.monospace("HU —");
                }
            }
            if let Some(m) = &app.message {
                ui.separator();
                let colour = if m.is_error {
                    Color32::from_rgb(255, 110, 110)
                } else {
                    ui.visuals().text_color()
                };
                ui.colored_label(colour, &m.text);
            }
        });
    });
}

/// Series browser, window/level, options, information, tags.
pub fn side_panel(app: &mut App, ui: &mut egui::Ui) {
    egui::Panel::left("side")
        .resizable(true)
        .default_size(330.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                super::browser::series_browser(app, ui);
                ui.separator();
                window_controls(app, ui);
                ui.separator();
                view_options(app, ui);
                ui.separator();
                super::seg_panel::section(app, ui);
                ui.separator();
                study_info(app, ui);
                tag_browser(app, ui);
            });
        });
}

fn window_controls(app: &mut App, ui: &mut egui::Ui) {
    ui.heading("Window");
    ui.horizontal_wrapped(|ui| {
        for p in window::presets() {
            let selected = app.state.preset.as_deref() == Some(p.name.as_str());
            if ui
                .selectable_label(selected, &p.name)
                .on_hover_text(format!(
                    "centre {} HU, width {} HU",
                    p.centre_hu, p.width_hu
                ))
                .clicked()
            {
                app.push(Command::Preset(p.name.clone()));
            }
        }
        if ui
            .button("Auto")
            .on_hover_text("1st–99th percentile")
            .clicked()
        {
            app.push(Command::AutoWindow);
        }
    });
    let (mut c, mut w) = (app.state.window_centre_hu, app.state.window_width_hu);
    let changed_c = ui
        .add(egui::Slider::new(&mut c, -1200.0..=3000.0).text("centre (HU)"))
        .changed();
    let changed_w = ui
        .add(
            egui::Slider::new(&mut w, 1.0..=4000.0)
                .logarithmic(true)
                .text("width (HU)"),
        )
        .changed();
    if changed_c || changed_w {
        app.push(Command::SetWindow(c, w));
    }
}

fn view_options(app: &mut App, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.checkbox(&mut app.state.show_crosshair, "crosshair");
        ui.checkbox(&mut app.state.show_info_overlay, "info overlay");
    });
    for (k, axis) in super::state::AXES.into_iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!("{:<8}", axis.name()));
            for mode in super::state::ViewMode::ALL {
                ui.selectable_value(&mut app.state.views[k].mode, mode, mode.name());
            }
        });
    }
    let label = ui.label("slab (mm, 0 = whole volume)");
    ui.add(egui::Slider::new(&mut app.state.slab_mm, 0.0..=200.0).step_by(1.0))
        .labelled_by(label.id);
    ui.horizontal(|ui| {
        ui.radio_value(
            &mut app.state.interpolation,
            Interpolation::Nearest,
            "nearest",
        );
        ui.radio_value(
            &mut app.state.interpolation,
            Interpolation::Linear,
            "linear",
        );
        if ui.button("Reset").clicked() {
            app.push(Command::Reset);
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("montage every");
        ui.add(egui::DragValue::new(&mut app.montage_every).range(1..=50))
            .labelled_by(label.id);
        if ui.button("Export montage…").clicked() {
            app.ask_save("montage.png", Command::ExportMontage);
        }
    });
}

fn study_info(app: &mut App, ui: &mut egui::Ui) {
    let Some(s) = &app.study else { return };
    egui::CollapsingHeader::new("Study")
        .default_open(true)
        .show(ui, |ui| {
            let g = &s.volume.geometry;
            let [nz, ny, nx] = s.volume.shape();
            let sp = g.spacing_zyx_mm();
            ui.label(format!(
                "{nx} × {ny} × {nz} voxels, orientation {}",
                g.orientation_code()
            ));
            ui.label(format!(
                "voxel {:.3} × {:.3} × {:.3} mm",
                sp[2], sp[1], sp[0]
            ));
            let c = app.state.crosshair_mm;
            ui.label(format!(
                "crosshair LPS ({:.1}, {:.1}, {:.1}) mm",
                c.x, c.y, c.z
            ));
            if let Some(m) = &s.metadata {
                if app.state.show_info_overlay {
                    ui.label(format!(
                        "patient {}",
                        m.patient_name.as_deref().unwrap_or("-")
                    ));
                    ui.label(format!("ID {}", m.patient_id.as_deref().unwrap_or("-")));
                }
                ui.label(format!(
                    "{} · {} · {}",
                    m.modality.as_deref().unwrap_or("-"),
                    m.study_date.as_deref().unwrap_or("-"),
                    m.manufacturer.as_deref().unwrap_or("-")
                ));
            }
            if let Some(r) = &s.report {
                for i in &r.issues {
                    ui.label(RichText::new(format!("[{:?}] {}", i.severity, i.message)).small());
                }
            }
        });
}

fn tag_browser(app: &mut App, ui: &mut egui::Ui) {
    egui::CollapsingHeader::new("DICOM tags (current axial slice)")
        .default_open(false)
        .show(ui, |ui| {
            app.refresh_tags();
            let Some((path, rows)) = app.tags() else {
                ui.label("(no DICOM file behind this slice)");
                return;
            };
            ui.label(RichText::new(path.display().to_string()).small());
            match rows {
                Err(e) => {
                    ui.colored_label(Color32::from_rgb(255, 110, 110), e);
                }
                Ok(rows) => {
                    egui::Grid::new("tags").striped(true).show(ui, |ui| {
                        for r in rows {
                            let indent = "  ".repeat(r.depth);
                            ui.monospace(format!("{indent}{}", r.tag));
                            ui.monospace(&r.vr);
                            ui.label(&r.keyword);
                            let hidden = r.identifying && !app.state.show_info_overlay;
                            ui.label(if hidden { "<hidden>" } else { r.value.as_str() });
                            ui.end_row();
                        }
                    });
                }
            }
        });
}

/// HU histogram with the window range shaded; log or linear counts.
pub fn histogram(app: &mut App, ui: &mut egui::Ui) {
    let Some(s) = &app.study else { return };
    let mut to_3d = false;
    ui.horizontal(|ui| {
        ui.strong("HU histogram");
        ui.checkbox(&mut app.state.histogram_log, "log");
        to_3d = ui.button("3D view").clicked();
    });
    if to_3d {
        app.commands.push(Command::Toggle3d);
    }
    let h = &s.histogram;
    let rect = ui.available_rect_before_wrap();
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(20));
    let n = h.counts.len().max(1);
    let max = h.counts.iter().copied().max().unwrap_or(1).max(1) as f32;
    let log = app.state.histogram_log;
    let scale = |c: u64| -> f32 {
        if log {
            if c == 0 {
                0.0
            } else {
                (1.0 + (c as f32).ln()) / (1.0 + max.ln())
            }
        } else {
            c as f32 / max
        }
    };
    let lo = h.min_hu as f32;
    let hi = lo + h.bin_width_hu as f32 * n as f32;
    let x_of = |hu: f32| rect.left() + (hu - lo) / (hi - lo) * rect.width();
    let (wl, wh) = (
        app.state.window_centre_hu - app.state.window_width_hu / 2.0,
        app.state.window_centre_hu + app.state.window_width_hu / 2.0,
    );
    let band = egui::Rect::from_x_y_ranges(
        x_of(wl).max(rect.left())..=x_of(wh).min(rect.right()),
        rect.y_range(),
    );
    if band.width() > 0.0 {
        painter.rect_filled(
            band,
            0.0,
            Color32::from_rgba_unmultiplied(255, 255, 255, 24),
        );
    }
    let bar_w = rect.width() / n as f32;
    for (i, &c) in h.counts.iter().enumerate() {
        let x = rect.left() + i as f32 * bar_w;
        let top = rect.bottom() - scale(c) * (rect.height() - 14.0);
        painter.rect_filled(
            egui::Rect::from_min_max(
                egui::pos2(x, top),
                egui::pos2(x + bar_w.max(1.0), rect.bottom()),
            ),
            0.0,
            Color32::from_rgb(70, 140, 220),
        );
    }
    for t in [-1000.0f32, 0.0, 1000.0, 2000.0] {
        if t >= lo && t < hi {
            painter.text(
                egui::pos2(x_of(t), rect.bottom() - 2.0),
                if x_of(t) - rect.left() < 20.0 {
                    egui::Align2::LEFT_BOTTOM
                } else {
                    egui::Align2::CENTER_BOTTOM
                },
                format!("{t:.0}"),
                egui::FontId::proportional(11.0),
                Color32::from_gray(200),
            );
        }
    }
}

/// The tag browser's state: the table of the current slice's file.
impl App {
    /// Ask for the tag table of the current slice's file: one header read
    /// in the background when that file changed, only while the tag panel
    /// is open. The last table read stays shown until the new one is ready.
    pub fn refresh_tags(&mut self) {
        let Some(current) = self.current_slice_file() else {
            self.tags = super::background::Keyed::default();
            return;
        };
        let p = current.clone();
        self.tags.get(&current, self.waker(), move || {
            crate::dicom::tags::dump_tags(&p, 96).map_err(|e| crate::jobs::error_chain(&e))
        });
    }

    /// The tag table on screen: its file and rows (or why they could not
    /// be read); `None` before the first one is read or without a file.
    pub fn tags(
        &self,
    ) -> Option<(
        &std::path::PathBuf,
        &Result<Vec<crate::dicom::tags::TagRow>, String>,
    )> {
        self.tags.shown().map(|(p, rows)| (p, rows.as_ref()))
    }

    /// The file behind the current axial slice, if any.
    pub fn current_slice_file(&self) -> Option<std::path::PathBuf> {
        let s = self.study.as_ref()?;
        let v = s.volume.geometry.voxel_of_world(self.state.crosshair_mm);
        let z = v.z.round();
        if z < 0.0 {
            return None;
        }
        s.slice_files.get(z as usize).cloned().flatten()
    }
}
