//! Analyses run from the viewer: lung segmentation (classical 3D pipeline, or
//! the bundled 2D U-Net) as
//! a background task with progress and cancel; its result becomes the
//! overlay, and the segmentation shown before (a reference, e.g. a loaded
//! label map) is kept to compare against, with the overlap metrics shown.

use std::sync::Arc;

use egui::RichText;

use super::app::App;
use super::command::Command;
use super::context::ViewerContext;
use super::tasks::JobSlot;
use crate::metrics::{LabelPair, Report, compare_labels};
use crate::seg::Segmentation;
use crate::seg::stats;
use crate::segment::{Control, LUNG_NAMES, LungParams, segment_lungs, to_segmentation};

/// The analysis feature: the lung job and the last comparison.
#[derive(Default)]
pub struct Analysis {
    /// The last analysis compared with the segmentation shown before it.
    pub comparison: Option<Comparison>,
    /// The running analysis.
    pub job: JobSlot<AnalysisDone>,
}

/// An analysis' segmentation (shown as the overlay), maybe compared with
/// the one shown before.
pub struct AnalysisDone {
    /// The result on the study's grid.
    pub seg: Segmentation,
    /// Its statistics.
    pub stats: Vec<stats::SegmentStats>,
    /// Metrics against the previous segmentation, if there was one.
    pub comparison: Option<Comparison>,
    /// Summary for the status bar.
    pub note: String,
}

/// A result compared with the segmentation shown before it.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Where the reference came from.
    pub reference: String,
    /// The metrics per structure.
    pub report: Report,
}

/// The structures to compare: all lungs (the reference's lung segments, or
/// all of its segments when none is named like a lung), then each of the
/// result's segments against a reference segment of the same name.
fn pairs(result: &Segmentation, reference: &Segmentation) -> Vec<LabelPair> {
    let lungs: Vec<u16> = reference
        .segments
        .iter()
        .filter(|s| {
            let t = format!("{} {}", s.label, s.kind).to_lowercase();
            t.contains("lung")
        })
        .map(|s| s.number)
        .collect();
    let reference_all = if lungs.is_empty() {
        reference.segments.iter().map(|s| s.number).collect()
    } else {
        lungs
    };
    let mut out = vec![LabelPair {
        name: "lungs".into(),
        test_values: result.segments.iter().map(|s| s.number).collect(),
        reference_values: reference_all,
    }];
    for s in &result.segments {
        if let Some(r) = reference
            .segments
            .iter()
            .find(|r| r.label.eq_ignore_ascii_case(&s.label))
        {
            out.push(LabelPair {
                name: s.label.clone(),
                test_values: vec![s.number],
                reference_values: vec![r.number],
            });
        }
    }
    out
}

impl App {
    /// Start the classical lung segmentation of the current study.
    pub fn start_lung_segmentation(&mut self) {
        let Some(s) = &self.study else { return };
        let volume = Arc::clone(&s.volume);
        let reference = s.segmentation.clone();
        let hide = self.hide_timings();
        let waker = self.waker();
        let r = self
            .analysis
            .job
            .start("Segmenting the lungs", waker, move |control| {
                let m = with_control(control, |c| {
                    segment_lungs(&volume, &LungParams::default(), c)
                })?;
                let seg = to_segmentation(
                    &m.labels,
                    volume.geometry,
                    &LUNG_NAMES,
                    "lungs (classical 3D)",
                )?;
                let note = format!(
                    "lungs: right {:.0} ml, left {:.0} ml, airway removed {:.0} ml{}",
                    m.report.right_ml,
                    m.report.left_ml,
                    m.report.airway_removed_ml,
                    super::app::took(hide, m.report.seconds)
                );
                analysis_done(seg, reference.as_deref(), &volume, control, note)
            });
        self.started(r);
    }

    /// Start the U-Net lung segmentation (the bundled model) of the current
    /// study.
    pub fn start_lung_segmentation_unet(&mut self) {
        let Some(s) = &self.study else { return };
        let volume = Arc::clone(&s.volume);
        let reference = s.segmentation.clone();
        let hide = self.hide_timings();
        let waker = self.waker();
        let r = self
            .analysis
            .job
            .start("Segmenting the lungs (UNet)", waker, move |control| {
                control.set_note("loading the model");
                let model = crate::unet::bundled::bundled_model()?;
                let m = with_control(control, |c| {
                    let params = crate::unet::UnetLungParams::default();
                    crate::unet::segment_lungs_unet(&volume, &model, &params, c)
                })?;
                let seg = to_segmentation(
                    &m.labels,
                    volume.geometry,
                    &crate::unet::UNET_NAMES,
                    "lungs (UNet)",
                )?;
                let note = format!(
                    "lungs (UNet): {:.0} ml{}",
                    m.lung_ml,
                    super::app::took(hide, m.seconds)
                );
                analysis_done(seg, reference.as_deref(), &volume, control, note)
            });
        self.started(r);
    }
}

/// Runs `f` with a segmentation [`Control`] that reports to the job's
/// progress and note and stops on its cancel flag.
fn with_control<R>(job: &crate::jobs::JobControl, f: impl FnOnce(&Control) -> R) -> R {
    let progress = |done: usize, total: usize, note: &str| {
        job.set_progress(done, total);
        job.set_note(note);
    };
    f(&Control {
        progress: Some(&progress),
        cancel: Some(job.cancel_flag()),
    })
}

/// A lung result compared with the segmentation shown before it (if any),
/// with its statistics.
fn analysis_done(
    seg: Segmentation,
    reference: Option<&Segmentation>,
    volume: &crate::volume::Volume,
    control: &crate::jobs::JobControl,
    note: String,
) -> Result<AnalysisDone, crate::jobs::BoxError> {
    let comparison = match reference {
        Some(r) => {
            control.set_note("comparing with the reference");
            let report = compare_labels(
                seg.to_label_map().view(),
                r.to_label_map().view(),
                volume.geometry.spacing_zyx_mm(),
                &pairs(&seg, r),
            )?;
            Some(Comparison {
                reference: r.source.clone(),
                report,
            })
        }
        None => None,
    };
    let st = stats::statistics(volume, &seg);
    Ok(AnalysisDone {
        seg,
        stats: st,
        comparison,
        note,
    })
}

impl App {
    /// Show an analysis' result (if the study it ran on is still shown).
    pub(super) fn take_analysis(&mut self, done: AnalysisDone) {
        let Some(s) = self.study.as_mut() else { return };
        if done.seg.geometry != s.volume.geometry {
            self.error("the study changed while the analysis ran");
            return;
        }
        s.segmentation = Some(Arc::new(done.seg));
        s.seg_stats = done.stats;
        self.editing.reset();
        self.analysis.comparison = done.comparison;
        self.state.overlay = crate::mpr::labels::OverlayStyle::default();
        self.state.show_labels = true;
        self.info(done.note);
    }
}

/// The lung button and, after a run with a reference, the metrics table.
pub fn section(analysis: &Analysis, ctx: &ViewerContext, ui: &mut egui::Ui) {
    let can_run = ctx.study.is_some() && !analysis.job.is_busy();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(can_run, egui::Button::new("Segment lungs"))
            .on_hover_text(
                "classical 3D: threshold, outside air removed, trachea removed, left/right split; \
                 the overlay shown now becomes the reference",
            )
            .clicked()
        {
            ctx.send(Command::SegmentLungs);
        }
        if ui
            .add_enabled(can_run, egui::Button::new("Segment lungs (UNet)"))
            .on_hover_text(
                "the bundled 2D U-Net, slice by slice, largest components and holes filled; \
                 the overlay shown now becomes the reference",
            )
            .clicked()
        {
            ctx.send(Command::SegmentLungsUnet);
        }
    });
    let Some(c) = analysis.comparison.as_ref() else {
        return;
    };
    ui.label(RichText::new(format!("compared with {}", c.reference)).small());
    let opt = |v: Option<f64>, d: usize| v.map_or_else(|| "—".to_owned(), |x| format!("{x:.d$}"));
    egui::Grid::new("metrics")
        .striped(true)
        .num_columns(6)
        .show(ui, |ui| {
            for h in ["", "Dice", "Jaccard", "sens", "spec", "HD95 mm"] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for m in &c.report.labels {
                ui.label(&m.name);
                ui.monospace(format!("{:.3}", m.dice));
                ui.monospace(format!("{:.3}", m.jaccard));
                ui.monospace(opt(m.sensitivity, 3));
                ui.monospace(opt(m.specificity, 4));
                ui.monospace(opt(m.hausdorff95_mm, 1));
                ui.end_row();
            }
        });
    let chart = crate::figure::overlap_bars(&c.report, "");
    ui.horizontal(|ui| {
        super::plots::legend_row(ui, &chart);
        super::plots::save_buttons(ui, ctx, super::command::FigureKind::Overlap);
    });
    super::plots::show_chart(ui, "overlap-bars", &chart, 140.0, false);
}
