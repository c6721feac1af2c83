//! Segmentations in the viewer: the side-panel section (segments offered
//! next to the series, the segment table with show/hide, opacity, outline
//! and statistics), the File-menu exports, and the background task job that
//! opens segmentations and writes exports off the UI thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Color32, RichText};

use super::app::App;
use super::command::{Command, DisplayEdit, SaveTarget};
use super::context::{ViewerContext, display_checkbox};
use super::tasks::JobSlot;
use crate::mpr::labels::OverlayStyle;
use crate::seg::Segmentation;
use crate::seg::stats::{self, SegmentStats};
use crate::study;

/// A segmentation file placed on the study's grid, with its statistics and
/// the notes of what was skipped (an RTSTRUCT's POINT contours, …).
pub type OpenedSegmentation = (Segmentation, Vec<SegmentStats>, Vec<String>);

/// Opening segmentation files: the job placing one on the study's grid.
#[derive(Default)]
pub struct SegPanel {
    /// The open job.
    pub job: JobSlot<OpenedSegmentation>,
}

/// File extensions offered by File ▸ Open segmentation.
const SEG_EXTENSIONS: [&str; 5] = ["dcm", "nii", "gz", "nrrd", "nhdr"];

impl App {
    /// Apply a segmentation command (open, close, exports).
    pub(super) fn apply_seg_command(&mut self, c: Command) {
        match c {
            Command::PickSegmentation => {
                if let Some(p) = self.picker.pick_file(
                    "Open a segmentation (DICOM-SEG, RTSTRUCT, NIfTI, NRRD)",
                    &SEG_EXTENSIONS,
                ) {
                    self.open_segmentation(p);
                }
            }
            Command::OpenSegmentation(p) => self.open_segmentation(p),
            Command::CloseSegmentation => {
                if let Some(s) = self.study.as_mut() {
                    s.segmentation = None;
                    s.seg_stats.clear();
                }
                self.editing.reset();
            }
            Command::ExportSegStats(p) => self.export_stats(&p),
            Command::ExportLabels(p) => self.export_labels(p),
            Command::ExportDicomSeg(p) => self.export_dicom(p, false),
            Command::ExportRtStruct(p) => self.export_dicom(p, true),
            _ => {}
        }
    }

    fn open_segmentation(&mut self, path: PathBuf) {
        let Some(s) = &self.study else {
            self.error("open a series first, then its segmentation");
            return;
        };
        let volume = Arc::clone(&s.volume);
        let grid = s.grid.clone();
        let name = file_name(&path);
        let waker = self.waker();
        let r = self
            .seg
            .job
            .start(format!("Opening {name}"), waker, move |_| {
                let opened =
                    study::open_segmentation_detailed(&path, &volume.geometry, grid.as_ref(), None)
                        .map_err(|e| format!("{name}: {e}"))?;
                let st = stats::statistics(&volume, &opened.segmentation);
                Ok((opened.segmentation, st, opened.notes))
            });
        self.started(r);
    }

    /// Show an opened segmentation (if the study it was placed on is still
    /// shown).
    pub(super) fn take_segmentation(&mut self, (seg, st, notes): OpenedSegmentation) {
        let Some(s) = self.study.as_mut() else { return };
        if seg.geometry != s.volume.geometry {
            self.error("the study changed while the segmentation was opening");
            return;
        }
        let n = seg.segments.len();
        let src = seg.source.clone();
        s.segmentation = Some(Arc::new(seg));
        s.seg_stats = st;
        self.editing.reset();
        self.analysis.comparison = None;
        self.state.overlay = OverlayStyle::default();
        self.state.show_labels = true;
        if notes.is_empty() {
            self.info(format!("{src}: {n} segments"));
        } else {
            self.info(format!("{src}: {n} segments; {}", notes.join("; ")));
        }
    }

    fn export_stats(&mut self, path: &Path) {
        let Some(s) = &self.study else { return };
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let text = if json {
            stats::to_json(&s.seg_stats)
        } else {
            stats::to_csv(&s.seg_stats)
        };
        match crate::io::write_atomic(path, |w| w.write_all(text.as_bytes())) {
            Ok(()) => self.info(format!("statistics saved to {}", path.display())),
            Err(e) => self.error(crate::jobs::error_chain(&e)),
        }
    }

    fn export_labels(&mut self, path: PathBuf) {
        let Some(seg) = self.study.as_ref().and_then(|s| s.segmentation.clone()) else {
            return;
        };
        self.editing.saved();
        self.start_write(format!("Writing {}", file_name(&path)), move |_| {
            let vol = seg.label_volume()?;
            crate::io::write_volume_file(&path, &vol)?;
            Ok(format!("label map saved to {}", path.display()))
        });
    }

    /// Writes the segmentation as a DICOM-SEG, or an RTSTRUCT
    /// (`rtstruct`), referencing the study's series.
    fn export_dicom(&mut self, path: PathBuf, rtstruct: bool) {
        let what = if rtstruct { "RTSTRUCT" } else { "DICOM-SEG" };
        let Some(s) = &self.study else { return };
        let (Some(seg), Some(grid)) = (s.segmentation.clone(), s.grid.clone()) else {
            self.error(format!("a {what} needs a segmentation on a DICOM series"));
            return;
        };
        let metadata = s.metadata.clone().unwrap_or_default();
        self.editing.saved();
        self.start_write(format!("Writing {}", file_name(&path)), move |_| {
            if rtstruct {
                study::write_rtstruct(&path, &seg, &grid, &metadata)?;
            } else {
                study::write_dicom_seg(&path, &seg, &grid, &metadata)?;
            }
            Ok(format!("{what} saved to {}", path.display()))
        });
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Segmentation exports in the File menu.
pub fn export_menu(ctx: &ViewerContext, ui: &mut egui::Ui) {
    let has = ctx.segmentation().is_some();
    let dicom = has && ctx.study.is_some_and(|s| s.grid.is_some());
    for (enabled, text, target) in [
        (
            has,
            "Export segment statistics (CSV)…",
            SaveTarget::SegStats { json: false },
        ),
        (
            has,
            "Export segment statistics (JSON)…",
            SaveTarget::SegStats { json: true },
        ),
        (has, "Export label map (NIfTI)…", SaveTarget::Labels),
        (has, "Export label map (NRRD)…", SaveTarget::LabelsNrrd),
        (dicom, "Export DICOM-SEG…", SaveTarget::DicomSeg),
        (dicom, "Export RTSTRUCT…", SaveTarget::RtStruct),
    ] {
        if ui.add_enabled(enabled, egui::Button::new(text)).clicked() {
            ctx.send(Command::Ask(target));
            ui.close();
        }
    }
}

/// The side-panel section: offered files, the segment table, display options.
pub fn section(ctx: &ViewerContext, analysis: &super::analysis::Analysis, ui: &mut egui::Ui) {
    egui::CollapsingHeader::new("Segmentation")
        .default_open(true)
        .show(ui, |ui| {
            let has_study = ctx.study.is_some();
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(has_study, egui::Button::new("Open…"))
                    .clicked()
                {
                    ctx.send(Command::PickSegmentation);
                }
                if ctx.segmentation().is_some() && ui.button("Close").clicked() {
                    ctx.send(Command::CloseSegmentation);
                }
            });
            let candidates = match ctx.scan {
                Some(scan) if has_study => scan.seg_candidates.as_slice(),
                _ => &[],
            };
            if !candidates.is_empty() {
                egui::CollapsingHeader::new(format!(
                    "Found next to the series ({})",
                    candidates.len()
                ))
                .default_open(true)
                .show(ui, |ui| {
                    for p in candidates {
                        if ui
                            .selectable_label(false, file_name(p))
                            .on_hover_text(p.display().to_string())
                            .clicked()
                        {
                            ctx.send(Command::OpenSegmentation(p.clone()));
                        }
                    }
                });
            }
            segment_table(ctx, ui);
            ui.separator();
            super::analysis::section(analysis, ctx, ui);
        });
}

fn segment_table(ctx: &ViewerContext, ui: &mut egui::Ui) {
    let Some(s) = ctx.study else { return };
    let Some(seg) = s.segmentation.as_deref() else {
        ui.label(RichText::new("no segmentation").weak());
        return;
    };
    let stats = &s.seg_stats;
    let geometry = s.volume.geometry;
    ui.label(RichText::new(&seg.source).small());
    // Widgets edit a copy of the overlay style; a changed copy is sent.
    let mut overlay = ctx.state.overlay.clone();
    ui.horizontal(|ui| {
        display_checkbox(
            ui,
            ctx,
            ctx.state.show_labels,
            "show",
            DisplayEdit::ShowLabels,
        );
        ui.checkbox(&mut overlay.outline, "outline");
        let l = ui.label("opacity");
        if ui
            .add(egui::Slider::new(&mut overlay.default_opacity, 0.0..=1.0).show_value(false))
            .labelled_by(l.id)
            .on_hover_text("every segment's opacity")
            .changed()
        {
            let o = overlay.default_opacity;
            overlay.opacity.iter_mut().for_each(|x| *x = o);
        }
    });
    let n = seg.segments.len();
    overlay.visible.resize(n, true);
    if overlay.opacity.len() != n {
        overlay.opacity = vec![overlay.default_opacity; n];
    }
    let mut goto = None;
    egui::Grid::new("segments")
        .striped(true)
        .num_columns(6)
        .show(ui, |ui| {
            ui.label("");
            ui.label(RichText::new("segment").strong());
            ui.label(RichText::new("ml").strong());
            ui.label(RichText::new("HU mean ± sd").strong());
            ui.label(RichText::new("α").strong());
            ui.label("");
            ui.end_row();
            for (i, sg) in seg.segments.iter().enumerate() {
                let [r, g, b] = sg.colour_rgb;
                let (swatch, _) =
                    ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
                ui.painter()
                    .rect_filled(swatch, 2.0, Color32::from_rgb(r, g, b));
                ui.checkbox(&mut overlay.visible[i], &sg.label)
                    .on_hover_text(format!(
                        "segment {} · {} {}\nshow / hide",
                        sg.number, sg.category, sg.kind
                    ));
                match stats.get(i) {
                    Some(st) if st.voxels > 0 => {
                        ui.monospace(format!("{:.1}", st.volume_ml));
                        ui.monospace(format!("{:.0} ± {:.0}", st.mean_hu, st.std_hu));
                    }
                    _ => {
                        ui.monospace("0");
                        ui.monospace("—");
                    }
                }
                ui.add(
                    egui::DragValue::new(&mut overlay.opacity[i])
                        .range(0.0..=1.0)
                        .speed(0.01)
                        .fixed_decimals(2),
                )
                .on_hover_text("opacity of this segment");
                if ui
                    .small_button("go")
                    .on_hover_text("go to its centre")
                    .clicked()
                {
                    goto = sg.mask.bbox();
                }
                ui.end_row();
            }
        });
    if overlay != ctx.state.overlay {
        ctx.display(DisplayEdit::Overlay(overlay));
    }
    if let Some((lo, hi)) = goto {
        let c = glam::DVec3::new(
            (lo[2] + hi[2]) as f64 / 2.0,
            (lo[1] + hi[1]) as f64 / 2.0,
            (lo[0] + hi[0]) as f64 / 2.0,
        );
        ctx.send(Command::SetCrosshair(geometry.world_of_voxel(c)));
    }
}
