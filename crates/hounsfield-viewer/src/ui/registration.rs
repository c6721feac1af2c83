//! The registration window (View ▸ Registration…): the study shown is the
//! fixed series; the moving series is another series of the scan, a file or
//! folder, or a synthetic moved copy with a known transform. The
//! registration runs as a background task with progress, cancel and a live
//! plot of the metric; the result is fused into the three slice views
//! (blend, checkerboard, magenta/green) and can be saved.

use super::app::App;
use super::command::{Command, DisplayEdit, SaveTarget};
use super::context::ViewerContext;
use super::tasks::JobSlot;
use crate::dicom::LoadControl;
use crate::mpr::fusion::FusionMode;
use crate::register::apply::{body_points, example_motion, moved_copy, resample_moving};
use crate::register::{
    Control, Feature, Metric, Progress, RegisterParams, ScaleModel, register, target_error_mm,
};
use crate::study::Registered;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where the moving series comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MovingSource {
    /// Series `i` of the current scan.
    Series(usize),
    /// A file or folder.
    Path(PathBuf),
    /// The study itself moved by a known transform, with noise and another
    /// contrast (to try the method and check its accuracy).
    Synthetic,
}

/// Metric choice in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricChoice {
    /// Mattes mutual information.
    Mi,
    /// Normalised cross-correlation.
    Ncc,
    /// Mean squared difference.
    Ssd,
}

/// A registration result with its status-bar note.
pub type RegistrationDone = (Box<Registered>, String);

/// State of the registration window, and its job.
pub struct RegistrationUi {
    /// The registration running.
    pub job: JobSlot<RegistrationDone>,
    /// The window is open.
    pub open: bool,
    /// The moving series.
    pub source: MovingSource,
    /// Metric.
    pub metric: MetricChoice,
    /// MI bins.
    pub bins: usize,
    /// Scale model.
    pub scale: ScaleModel,
    /// Compare gradient magnitudes instead of intensities.
    pub gradient: bool,
    /// Working spacing (mm).
    pub spacing_mm: f64,
    /// Samples per level.
    pub samples: usize,
    /// `(level, cost)` of every iteration of the running (or last) job.
    pub trace: Arc<Mutex<Vec<(usize, f64)>>>,
}

impl Default for RegistrationUi {
    fn default() -> Self {
        Self {
            job: JobSlot::default(),
            open: false,
            source: MovingSource::Synthetic,
            metric: MetricChoice::Mi,
            bins: 50,
            scale: ScaleModel::None,
            gradient: false,
            spacing_mm: 1.0,
            samples: 100_000,
            trace: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl RegistrationUi {
    fn params(&self) -> RegisterParams {
        RegisterParams {
            metric: match self.metric {
                MetricChoice::Mi => Metric::MutualInformation { bins: self.bins },
                MetricChoice::Ncc => Metric::Ncc,
                MetricChoice::Ssd => Metric::Ssd,
            },
            feature: if self.gradient {
                Feature::GradientMagnitude
            } else {
                Feature::Intensity
            },
            scale_model: self.scale,
            spacing_mm: self.spacing_mm,
            samples_per_level: self.samples,
            ..RegisterParams::default()
        }
    }
}

impl App {
    /// Start registering the chosen moving series onto the study shown.
    pub fn start_registration(&mut self) {
        let Some(s) = &self.study else {
            self.error("open the fixed series first");
            return;
        };
        let fixed = Arc::clone(&s.volume);
        let ui = &self.registration;
        let params = ui.params();
        let source = match &ui.source {
            MovingSource::Series(i) => {
                let Some(info) = self.scan.as_ref().and_then(|s| s.report.series.get(*i)) else {
                    self.error("choose a moving series");
                    return;
                };
                Source::Info(Box::new(info.clone()))
            }
            MovingSource::Path(p) => Source::Path(p.clone()),
            MovingSource::Synthetic => Source::Synthetic,
        };
        let trace = Arc::clone(&ui.trace);
        if let Ok(mut t) = trace.lock() {
            t.clear();
        }
        let waker = self.waker();
        let r = self.registration.job.start("Registering", waker, move |c| {
            let progress = |d: usize, t: usize| c.set_progress(d, t);
            let load = LoadControl {
                progress: Some(&progress),
                cancel: Some(c.cancel_flag()),
            };
            let mut truth = None;
            c.set_note("loading the moving series");
            let (name, moving) = match source {
                Source::Info(info) => {
                    let st = crate::study::load(&info, &load)?;
                    (st.name, (*st.volume).clone())
                }
                Source::Path(p) => crate::study::open_volume(&p, &load)?,
                Source::Synthetic => {
                    let m = example_motion(fixed.geometry.centre_mm()).moving_from_fixed();
                    truth = Some(m);
                    let moved = moved_copy(&fixed, &m, 0.9, 40.0, 25.0, 8);
                    ("synthetic moved copy (8 deg, 12/-7/5 mm)".to_owned(), moved)
                }
            };
            c.set_note("registering");
            let levels = params.shrink_factors.len();
            let max_it = params.max_iterations;
            let report = |p: &Progress| {
                if let Ok(mut t) = trace.lock() {
                    t.push((p.level, p.cost));
                }
                c.set_progress(p.level * max_it + p.iteration, levels * max_it);
            };
            let r = register(
                &fixed,
                &moving,
                &params,
                &Control {
                    progress: Some(&report),
                    cancel: Some(c.cancel_flag()),
                },
            )
            ?;
            c.set_progress(1, 1);
            c.set_note("resampling the moving series");
            let moved = resample_moving(&moving, &fixed.geometry, &r.transform.moving_from_fixed());
            let (axis, angle) = r.transform.axis_angle_deg();
            let t = r.transform.translation_mm;
            let mut note = format!(
                "registered {name}: {angle:.2} deg about ({:.2}, {:.2}, {:.2}), t = ({:.2}, {:.2}, {:.2}) mm, MI {:.3} -> {:.3}, {:.1} s",
                axis.x, axis.y, axis.z, t.x, t.y, t.z, r.before.mi, r.after.mi, r.seconds
            );
            if let Some(truth) = truth {
                let (mean, max) = target_error_mm(&r.transform.moving_from_fixed(), &truth, &body_points(&fixed, 4, -400.0));
                let _ = write!(note, "; TRE mean {mean:.3} mm, max {max:.3} mm");
            }
            Ok((
                Box::new(Registered {
                    name,
                    moved,
                    registration: r,
                }),
                note,
            ))
        });
        self.started(r);
    }

    /// The registration window's commands.
    pub(super) fn apply_registration_command(&mut self, c: Command) {
        let reg = self.study.as_ref().and_then(|s| s.registered.clone());
        match c {
            Command::PickMovingSeries => {
                if let Some(p) = self
                    .picker
                    .pick_file("Moving series", &["nii", "gz", "nrrd", "dcm"])
                    .or_else(|| self.picker.pick_folder())
                {
                    self.registration.source = MovingSource::Path(p);
                }
            }
            Command::Register => self.start_registration(),
            Command::SaveTransform(p) => {
                let Some(reg) = reg else { return };
                let file = reg.registration.to_file();
                self.start_write("Saving the transform".to_owned(), move |_| {
                    let json = file.to_json();
                    crate::io::write_atomic(&p, |w| w.write_all(json.as_bytes()))?;
                    Ok(format!("transform saved to {}", p.display()))
                });
            }
            Command::SaveResampled(p) => {
                let Some(reg) = reg else { return };
                self.start_write("Saving the resampled series".to_owned(), move |_| {
                    crate::io::write_volume_file(&p, &reg.moved)?;
                    Ok(format!("resampled series saved to {}", p.display()))
                });
            }
            Command::RemoveRegistration => {
                if let Some(s) = self.study.as_mut() {
                    s.registered = None;
                }
            }
            _ => {}
        }
    }

    /// Take a finished registration into the study (if it is still shown).
    pub(super) fn take_registration(&mut self, (r, note): RegistrationDone) {
        let Some(s) = self.study.as_mut() else { return };
        if r.moved.geometry != s.volume.geometry {
            self.error("the study changed while the registration ran");
            return;
        }
        s.registered = Some(Arc::from(r));
        self.state.fusion.visible = true;
        self.info(note);
    }
}

/// What the job loads.
enum Source {
    Info(Box<crate::dicom::SeriesInfo>),
    Path(PathBuf),
    Synthetic,
}

/// The cost per iteration, one line per pyramid level (`egui_plot`), with
/// the buttons saving it.
fn plot(ui: &mut egui::Ui, ctx: &ViewerContext, trace: &[(usize, f64)]) {
    if trace.len() < 2 {
        ui.label(egui::RichText::new("cost per iteration: after Register").weak());
        return;
    }
    ui.horizontal(|ui| {
        ui.label(format!("cost {:+.4}", trace[trace.len() - 1].1));
        super::plots::save_buttons(ui, ctx, super::command::FigureKind::RegistrationTrace);
    });
    let chart = crate::figure::registration_trace(trace);
    ui.set_max_width(360.0);
    super::plots::show_chart(ui, "registration-trace", &chart, 150.0, true);
}

/// What the user asked for in this frame.
#[allow(clippy::struct_excessive_bools)] // independent buttons
#[derive(Default)]
struct Clicked {
    run: bool,
    browse: bool,
    save_transform: bool,
    save_resampled: bool,
    remove: bool,
}

/// Moving series and parameters.
fn settings(ui: &mut egui::Ui, r: &mut RegistrationUi, series: &[String], clicked: &mut Clicked) {
    ui.label("Moving:");
    ui.radio_value(
        &mut r.source,
        MovingSource::Synthetic,
        "synthetic moved copy (known transform)",
    );
    for (i, name) in series.iter().enumerate() {
        ui.radio_value(
            &mut r.source,
            MovingSource::Series(i),
            format!("series {}: {name}", i + 1),
        );
    }
    ui.horizontal(|ui| {
        if let MovingSource::Path(p) = &r.source {
            ui.label(format!("file: {}", p.display()));
        }
        clicked.browse = ui.button("Folder or file...").clicked();
    });
    ui.separator();
    ui.horizontal(|ui| {
        ui.label("metric");
        ui.radio_value(&mut r.metric, MetricChoice::Mi, "mutual information");
        ui.radio_value(&mut r.metric, MetricChoice::Ncc, "NCC");
        ui.radio_value(&mut r.metric, MetricChoice::Ssd, "SSD");
    });
    if r.metric == MetricChoice::Mi {
        let l = ui.label("histogram bins");
        ui.add(egui::Slider::new(&mut r.bins, 16..=128))
            .labelled_by(l.id);
    }
    ui.horizontal(|ui| {
        ui.label("scale");
        ui.radio_value(&mut r.scale, ScaleModel::None, "rigid");
        ui.radio_value(&mut r.scale, ScaleModel::Isotropic, "isotropic");
        ui.radio_value(&mut r.scale, ScaleModel::Anisotropic, "per axis");
    });
    ui.checkbox(&mut r.gradient, "compare gradient magnitudes");
    let l = ui.label("working spacing (mm)");
    ui.add(egui::Slider::new(&mut r.spacing_mm, 0.5..=8.0))
        .labelled_by(l.id);
    let l = ui.label("samples per level");
    ui.add(egui::Slider::new(&mut r.samples, 10_000..=1_000_000).logarithmic(true))
        .labelled_by(l.id);
    ui.label("pyramid 4-2-1, regular-step gradient descent");
}

/// The result and the fusion controls.
fn result(
    ui: &mut egui::Ui,
    reg: &Registered,
    f: &mut crate::mpr::fusion::FusionStyle,
    busy: bool,
    clicked: &mut Clicked,
) {
    ui.separator();
    let t = &reg.registration.transform;
    let (axis, angle) = t.axis_angle_deg();
    let tr = t.translation_mm;
    ui.label(format!("Result for {}", reg.name));
    ui.label(format!(
        "rotation {angle:.3} deg about ({:.3}, {:.3}, {:.3})",
        axis.x, axis.y, axis.z
    ));
    ui.label(format!(
        "translation ({:.2}, {:.2}, {:.2}) mm",
        tr.x, tr.y, tr.z
    ));
    if t.scale_model != ScaleModel::None {
        let s = t.scale();
        ui.label(format!("scale ({:.4}, {:.4}, {:.4})", s.x, s.y, s.z));
    }
    let (b, a) = (reg.registration.before, reg.registration.after);
    ui.label(format!(
        "MI {:.3} -> {:.3}, NCC {:.3} -> {:.3}, SSD {:.4} -> {:.4}",
        b.mi, a.mi, b.ncc, a.ncc, b.ssd, a.ssd
    ));
    ui.checkbox(&mut f.visible, "show fused in the slice views");
    ui.horizontal(|ui| {
        for m in FusionMode::ALL {
            ui.radio_value(&mut f.mode, m, m.name());
        }
    });
    match f.mode {
        FusionMode::Blend => {
            let l = ui.label("moving weight");
            ui.add(egui::Slider::new(&mut f.blend, 0.0..=1.0))
                .labelled_by(l.id);
        }
        FusionMode::Checkerboard => {
            let l = ui.label("square (px)");
            ui.add(egui::Slider::new(&mut f.checker_px, 4..=128))
                .labelled_by(l.id);
        }
        FusionMode::MagentaGreen => {
            ui.label("fixed magenta, moving green: grey where they agree");
        }
    }
    ui.horizontal(|ui| {
        clicked.save_transform = ui.button("Save transform...").clicked();
        clicked.save_resampled = ui
            .add_enabled(!busy, egui::Button::new("Save resampled..."))
            .clicked();
        clicked.remove = ui.button("Remove").clicked();
    });
}

/// The window.
pub fn window(reg_ui: &mut RegistrationUi, ctx: &ViewerContext, egui_ctx: &egui::Context) {
    let mut open = reg_ui.open;
    let mut clicked = Clicked::default();
    egui::Window::new("Registration")
        .open(&mut open)
        .resizable(false)
        .show(egui_ctx, |ui| {
            let fixed = ctx.study.map_or("none".to_owned(), |s| s.name.clone());
            ui.label(format!("Fixed: {fixed} (the series shown)"));
            let series: Vec<String> = ctx.scan.map_or_else(Vec::new, |s| {
                s.report
                    .series
                    .iter()
                    .map(|s| {
                        format!(
                            "{}, {} files",
                            s.metadata
                                .series_description
                                .as_deref()
                                .unwrap_or("no description"),
                            s.instances.len()
                        )
                    })
                    .collect()
            });
            settings(ui, reg_ui, &series, &mut clicked);
            let running = reg_ui.job.running().map(|j| j.id);
            ui.horizontal(|ui| {
                clicked.run = ui
                    .add_enabled(
                        running.is_none() && ctx.study.is_some(),
                        egui::Button::new("Register"),
                    )
                    .clicked();
                if let Some(id) = running
                    && ui.button("Cancel").clicked()
                {
                    ctx.send(Command::Cancel(id));
                }
            });
            let trace = reg_ui.trace.lock().map(|t| t.clone()).unwrap_or_default();
            plot(ui, ctx, &trace);
            if let Some(reg) = ctx.study.and_then(|s| s.registered.as_deref()) {
                let mut fusion = ctx.state.fusion;
                result(ui, reg, &mut fusion, running.is_some(), &mut clicked);
                if fusion != ctx.state.fusion {
                    ctx.display(DisplayEdit::Fusion(fusion));
                }
            }
        });
    reg_ui.open = open;
    for (pressed, c) in [
        (clicked.browse, Command::PickMovingSeries),
        (clicked.run, Command::Register),
        (clicked.save_transform, Command::Ask(SaveTarget::Transform)),
        (clicked.save_resampled, Command::Ask(SaveTarget::Resampled)),
        (clicked.remove, Command::RemoveRegistration),
    ] {
        if pressed {
            ctx.send(c);
        }
    }
}
