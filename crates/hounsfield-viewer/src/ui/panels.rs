//! The panels around the views: menu bar, series browser, window/level,
//! view options, probe and study information, DICOM tags, exports,
//! histogram and the status bar. They read a [`ViewerContext`] and send
//! commands; loading and exporting happen in `App::logic`.

use std::path::PathBuf;

use egui::{Color32, RichText};

use super::app::Message;
use super::background::Keyed;
use super::command::{Command, DisplayEdit, FigureKind, SaveTarget, ToolWindow};
use super::context::{ViewerContext, display_checkbox};
use super::recent::Recent;
use super::views::Probe;
use crate::mpr::ViewAxis;
use crate::study::Study;
use crate::volume::resample::Interpolation;
use crate::volume::window;

/// The menu bar: File and View menus, the study name.
pub fn menu_bar(ctx: &ViewerContext, recent: &Recent, ui: &mut egui::Ui) {
    egui::Panel::top("menu").show(ui, |ui| {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open folder…").clicked() {
                    ctx.send(Command::PickFolder);
                    ui.close();
                }
                if ui.button("Demo study").clicked() {
                    ctx.send(Command::OpenDemo);
                    ui.close();
                }
                if ui
                    .add_enabled(ctx.study.is_some(), egui::Button::new("Open segmentation…"))
                    .clicked()
                {
                    ctx.send(Command::PickSegmentation);
                    ui.close();
                }
                ui.menu_button("Recent", |ui| {
                    if recent.paths.is_empty() {
                        ui.label("(none yet)");
                    }
                    for p in &recent.paths {
                        if ui.button(p.display().to_string()).clicked() {
                            ctx.send(Command::OpenPath(p.clone()));
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
                        ctx.send(Command::Ask(SaveTarget::View(axis)));
                        ui.close();
                    }
                }
                if ui
                    .add_enabled(
                        ctx.study.is_some(),
                        egui::Button::new("Export rotating MIP GIF…"),
                    )
                    .clicked()
                {
                    ctx.send(Command::ShowWindow(ToolWindow::RotatingMip));
                    ui.close();
                }
                if ui
                    .add_enabled(
                        ctx.study.is_some(),
                        egui::Button::new("Export surface mesh…"),
                    )
                    .clicked()
                {
                    ctx.send(Command::ShowWindow(ToolWindow::Mesh));
                    ui.close();
                }
                super::seg_panel::export_menu(ctx, ui);
                if ui.button("Export montage PNG…").clicked() {
                    ctx.send(Command::Ask(SaveTarget::Montage));
                    ui.close();
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("View", |ui| view_menu(ctx, ui));
            if let Some(s) = ctx.study {
                ui.separator();
                ui.label(RichText::new(&s.name).strong());
            }
        });
    });
}

/// View menu: tool windows, display toggles, reset.
fn view_menu(ctx: &ViewerContext, ui: &mut egui::Ui) {
    if ui.button("Survey…").clicked() {
        ctx.send(Command::ShowWindow(ToolWindow::Survey));
        ui.close();
    }
    if ui.button("Registration…").clicked() {
        ctx.send(Command::ShowWindow(ToolWindow::Registration));
        ui.close();
    }
    let st = ctx.state;
    display_checkbox(
        ui,
        ctx,
        st.show_crosshair,
        "Crosshair",
        DisplayEdit::ShowCrosshair,
    );
    display_checkbox(
        ui,
        ctx,
        st.show_info_overlay,
        "Patient/study overlay",
        DisplayEdit::ShowInfoOverlay,
    );
    display_checkbox(
        ui,
        ctx,
        st.show_labels,
        "Segmentation overlay",
        DisplayEdit::ShowLabels,
    );
    if ui.button("Reset (Home)").clicked() {
        ctx.send(Command::Reset);
        ui.close();
    }
}

/// Every running job with its progress and its own cancel button, the
/// last message, and the HU probe.
pub fn status_bar(
    ctx: &ViewerContext,
    probe: Option<&Probe>,
    message: Option<&Message>,
    ui: &mut egui::Ui,
) {
    egui::Panel::bottom("status").show(ui, |ui| {
        for job in ctx.jobs {
            ui.horizontal(|ui| {
                ui.spinner();
                if job.note.is_empty() {
                    ui.label(&job.name);
                } else {
                    ui.label(format!("{} — {}", job.name, job.note));
                }
                if let Some(f) = job.fraction {
                    ui.add(
                        egui::ProgressBar::new(f)
                            .desired_width(160.0)
                            .show_percentage(),
                    );
                }
                if ui.button("Cancel").clicked() {
                    ctx.send(Command::Cancel(job.id));
                }
            });
        }
        ui.horizontal(|ui| {
            match probe {
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
            if let Some(m) = message {
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

/// Window presets, auto window, centre and width.
pub fn window_controls(ctx: &ViewerContext, ui: &mut egui::Ui) {
    let state = ctx.state;
    ui.heading("Window");
    ui.horizontal_wrapped(|ui| {
        for p in window::presets() {
            let selected = state.preset.as_deref() == Some(p.name.as_str());
            if ui
                .selectable_label(selected, &p.name)
                .on_hover_text(format!(
                    "centre {} HU, width {} HU",
                    p.centre_hu, p.width_hu
                ))
                .clicked()
            {
                ctx.send(Command::Preset(p.name.clone()));
            }
        }
        if ui
            .button("Auto")
            .on_hover_text("1st–99th percentile")
            .clicked()
        {
            ctx.send(Command::AutoWindow);
        }
    });
    let (mut c, mut w) = (state.window_centre_hu, state.window_width_hu);
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
        ctx.send(Command::SetWindow(c, w));
    }
}

/// Crosshair and overlay toggles, view modes, slab, interpolation.
pub fn view_options(ctx: &ViewerContext, ui: &mut egui::Ui) {
    let state = ctx.state;
    ui.horizontal(|ui| {
        display_checkbox(
            ui,
            ctx,
            state.show_crosshair,
            "crosshair",
            DisplayEdit::ShowCrosshair,
        );
        display_checkbox(
            ui,
            ctx,
            state.show_info_overlay,
            "info overlay",
            DisplayEdit::ShowInfoOverlay,
        );
    });
    for (k, axis) in super::state::AXES.into_iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!("{:<8}", axis.name()));
            for mode in super::state::ViewMode::ALL {
                if ui
                    .selectable_label(state.views[k].mode == mode, mode.name())
                    .clicked()
                {
                    ctx.display(DisplayEdit::ViewMode(axis, mode));
                }
            }
        });
    }
    let label = ui.label("slab (mm, 0 = whole volume)");
    let mut slab = state.slab_mm;
    if ui
        .add(egui::Slider::new(&mut slab, 0.0..=200.0).step_by(1.0))
        .labelled_by(label.id)
        .changed()
    {
        ctx.display(DisplayEdit::SlabMm(slab));
    }
    ui.horizontal(|ui| {
        for (i, name) in [
            (Interpolation::Nearest, "nearest"),
            (Interpolation::Linear, "linear"),
        ] {
            if ui.radio(state.interpolation == i, name).clicked() {
                ctx.display(DisplayEdit::Interpolation(i));
            }
        }
        if ui.button("Reset").clicked() {
            ctx.send(Command::Reset);
        }
    });
}

/// Grid, orientation, crosshair and (when shown) patient of the study.
pub fn study_info(ctx: &ViewerContext, ui: &mut egui::Ui) {
    let Some(s) = ctx.study else { return };
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
            let c = ctx.state.crosshair_mm;
            ui.label(format!(
                "crosshair LPS ({:.1}, {:.1}, {:.1}) mm",
                c.x, c.y, c.z
            ));
            if let Some(m) = &s.metadata {
                if ctx.state.show_info_overlay {
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

/// A tag table: rows, or why the file could not be read.
type TagTable = Result<Vec<crate::dicom::tags::TagRow>, String>;

/// The tag browser: the table of the current slice's file, read in the
/// background while the panel is open.
#[derive(Default)]
pub struct TagBrowser {
    table: Keyed<PathBuf, TagTable>,
}

impl TagBrowser {
    /// Ask for the tag table of the current slice's file: one header read
    /// in the background when that file changed. The last table read stays
    /// shown until the new one is ready.
    fn refresh(&mut self, ctx: &ViewerContext, repaint: egui::Context) {
        let Some(current) = ctx.study.and_then(|s| current_slice_file(s, ctx.state)) else {
            self.table = Keyed::default();
            return;
        };
        let p = current.clone();
        self.table.get(
            &current,
            move || repaint.request_repaint(),
            move || crate::dicom::tags::dump_tags(&p, 96).map_err(|e| crate::jobs::error_chain(&e)),
        );
    }

    /// The collapsible "DICOM tags" section.
    pub fn show(&mut self, ctx: &ViewerContext, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("DICOM tags (current axial slice)")
            .default_open(false)
            .show(ui, |ui| {
                self.refresh(ctx, ui.ctx().clone());
                let Some((path, rows)) = self.table.shown() else {
                    ui.label("(no DICOM file behind this slice)");
                    return;
                };
                ui.label(RichText::new(path.display().to_string()).small());
                match rows.as_ref() {
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
                                let hidden = r.identifying && !ctx.state.show_info_overlay;
                                ui.label(if hidden { "<hidden>" } else { r.value.as_str() });
                                ui.end_row();
                            }
                        });
                    }
                }
            });
    }

    /// The table on screen: its file and rows.
    pub fn shown(&self) -> Option<(&PathBuf, &TagTable)> {
        self.table.shown().map(|(p, rows)| (p, rows.as_ref()))
    }
}

/// The file behind the axial slice through the crosshair, if any.
pub fn current_slice_file(s: &Study, state: &super::state::ViewerState) -> Option<PathBuf> {
    let v = s.volume.geometry.voxel_of_world(state.crosshair_mm);
    let z = v.z.round();
    if z < 0.0 {
        return None;
    }
    s.slice_files.get(z as usize).cloned().flatten()
}

/// HU histogram with the window range shaded; log or linear counts; zoom,
/// pan and hover (bin and count) through `egui_plot`; saved as PNG or SVG.
pub fn histogram(ctx: &ViewerContext, ui: &mut egui::Ui) {
    let Some(s) = ctx.study else { return };
    let state = ctx.state;
    ui.horizontal(|ui| {
        ui.strong("HU histogram");
        display_checkbox(
            ui,
            ctx,
            state.histogram_log,
            "log",
            DisplayEdit::HistogramLog,
        );
        if ui.button("3D view").clicked() {
            ctx.send(Command::Toggle3d);
        }
        super::plots::save_buttons(ui, ctx, FigureKind::Histogram);
    });
    let chart = super::exports::histogram_chart(s, state);
    let height = ui.available_height();
    super::plots::show_chart(ui, "hu-histogram", &chart, height, true);
}
