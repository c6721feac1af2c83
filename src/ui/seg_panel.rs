//! Segmentations in the viewer: the side-panel section (segments offered
//! next to the series, the segment table with show/hide, opacity, outline
//! and statistics), the File-menu exports, and the background task job that
//! opens segmentations and writes exports off the UI thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Color32, RichText};

use super::app::App;
use super::command::Command;
use crate::jobs::Job;
use crate::mpr::labels::OverlayStyle;
use crate::seg::Segmentation;
use crate::seg::stats::{self, SegmentStats};
use crate::study;

/// What a finished task hands back to the app.
pub enum TaskDone {
    /// A moving series registered onto the study, with a note.
    Registered(Box<crate::study::Registered>, String),
    /// A segmentation placed on the study's grid, with its statistics.
    Segmentation(Segmentation, Vec<SegmentStats>),
    /// A file was written (message for the status bar).
    Written(String),
    /// Surfaces for the 3D cell, meshed from the volume with this id.
    Surfaces {
        /// `VolumeId` of the study they belong to.
        volume_id: u64,
        /// Meshes with linear RGBA colours.
        meshes: Vec<(Arc<crate::mesh::Mesh>, [f32; 4])>,
    },
    /// An analysis produced a segmentation (shown as the overlay), maybe
    /// compared with the one shown before.
    Analysis {
        /// The result on the study's grid.
        seg: Segmentation,
        /// Its statistics.
        stats: Vec<SegmentStats>,
        /// Metrics against the previous segmentation, if there was one.
        comparison: Option<super::analysis::Comparison>,
        /// Summary for the status bar.
        note: String,
    },
}

/// File extensions offered by File ▸ Open segmentation.
const SEG_EXTENSIONS: [&str; 5] = ["dcm", "nii", "gz", "nrrd", "nhdr"];

impl App {
    /// Apply a segmentation command (open, close, exports).
    pub(super) fn apply_seg_command(&mut self, c: Command) {
        match c {
            Command::PickSegmentation => {
                if let Some(p) = self.picker.pick_file(
                    "Open a segmentation (DICOM-SEG, NIfTI, NRRD)",
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
            }
            Command::ExportSegStats(p) => self.export_stats(&p),
            Command::ExportLabels(p) => self.export_labels(p),
            Command::ExportDicomSeg(p) => self.export_dicom_seg(p),
            _ => {}
        }
    }

    pub(super) fn start_task(
        &mut self,
        name: String,
        work: impl FnOnce(&crate::jobs::JobControl) -> Result<TaskDone, crate::jobs::BoxError>
        + Send
        + 'static,
    ) {
        if self.task_job.is_some() {
            self.error("another task is running; wait for it or cancel it");
            return;
        }
        match Job::spawn(name, self.waker(), work) {
            Ok(j) => self.task_job = Some(j),
            Err(e) => self.error(e),
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
        self.start_task(format!("Opening {name}"), move |_| {
            let seg = study::open_segmentation(&path, &volume.geometry, grid.as_ref())
                .map_err(|e| format!("{name}: {e}"))?;
            let st = stats::statistics(&volume, &seg);
            Ok(TaskDone::Segmentation(seg, st))
        });
    }

    /// Whether a segmentation/export task is running.
    pub fn task_running(&self) -> bool {
        self.task_job.is_some()
    }

    /// Whether a series is still being scanned or loaded (the study shown
    /// may be its first-slice preview).
    pub fn is_loading(&self) -> bool {
        self.scan_job.is_some() || self.load_job.is_some() || self.previewing
    }

    /// Take the task's result when it has finished.
    pub(super) fn poll_task(&mut self) {
        let Some(r) = self.task_job.as_ref().and_then(Job::poll) else {
            return;
        };
        self.task_job = None;
        match r {
            Ok(TaskDone::Segmentation(seg, st)) => {
                let Some(s) = self.study.as_mut() else { return };
                if seg.geometry != s.volume.geometry {
                    self.error("the study changed while the segmentation was opening");
                    return;
                }
                let n = seg.segments.len();
                let src = seg.source.clone();
                s.segmentation = Some(Arc::new(seg));
                s.seg_stats = st;
                self.comparison = None;
                self.state.overlay = OverlayStyle::default();
                self.state.show_labels = true;
                self.info(format!("{src}: {n} segments"));
            }
            Ok(TaskDone::Written(msg)) => self.info(msg),
            Ok(TaskDone::Registered(r, note)) => self.take_registration(r, note),
            Ok(TaskDone::Surfaces { volume_id, meshes }) => {
                if self.scene3d.volume_id == Some(volume_id) {
                    let triangles: usize = meshes.iter().map(|(m, _)| m.triangles.len()).sum();
                    self.scene3d.meshes = meshes;
                    self.info(format!("3D: {triangles} triangles"));
                }
            }
            Ok(TaskDone::Analysis {
                seg,
                stats: st,
                comparison,
                note,
            }) => {
                let Some(s) = self.study.as_mut() else { return };
                if seg.geometry != s.volume.geometry {
                    self.error("the study changed while the analysis ran");
                    return;
                }
                s.segmentation = Some(Arc::new(seg));
                s.seg_stats = st;
                self.comparison = comparison;
                self.state.overlay = OverlayStyle::default();
                self.state.show_labels = true;
                self.info(note);
            }
            Err(e) => self.error(e.to_string()),
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
            Err(e) => self.error(e.to_string()),
        }
    }

    fn export_labels(&mut self, path: PathBuf) {
        let Some(seg) = self.study.as_ref().and_then(|s| s.segmentation.clone()) else {
            return;
        };
        self.start_task(format!("Writing {}", file_name(&path)), move |_| {
            let vol = seg.label_volume()?;
            crate::io::write_volume_file(&path, &vol)?;
            Ok(TaskDone::Written(format!(
                "label map saved to {}",
                path.display()
            )))
        });
    }

    fn export_dicom_seg(&mut self, path: PathBuf) {
        let Some(s) = &self.study else { return };
        let (Some(seg), Some(grid)) = (s.segmentation.clone(), s.grid.clone()) else {
            self.error("a DICOM-SEG needs a segmentation on a DICOM series");
            return;
        };
        let metadata = s.metadata.clone().unwrap_or_default();
        self.start_task(format!("Writing {}", file_name(&path)), move |_| {
            study::write_dicom_seg(&path, &seg, &grid, &metadata)?;
            Ok(TaskDone::Written(format!(
                "DICOM-SEG saved to {}",
                path.display()
            )))
        });
    }

    /// Segmentation files near the scanned folder and the loaded series:
    /// SEG objects of the scan, and label maps (NIfTI, NRRD) in the scanned
    /// folder, the series' folder and its parent.
    fn seg_candidates(&mut self) -> Vec<PathBuf> {
        let key = self.scan.as_ref().map(|(p, _)| p.clone());
        if let Some((k, list)) = &self.seg_candidates
            && *k == key
        {
            return list.clone();
        }
        let mut out: Vec<PathBuf> = Vec::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some((root, report)) = &self.scan {
            out.extend(
                report
                    .objects
                    .iter()
                    .filter(|o| o.kind == crate::dicom::ObjectKind::Segmentation)
                    .map(|o| o.path.clone()),
            );
            if root.is_dir() {
                dirs.push(root.clone());
            }
            for s in &report.series {
                for f in s.folders() {
                    dirs.push(f.to_path_buf());
                    if let Some(p) = f.parent() {
                        dirs.push(p.to_path_buf());
                    }
                }
            }
        }
        dirs.sort();
        dirs.dedup();
        for d in dirs.iter().take(20) {
            let Ok(rd) = std::fs::read_dir(d) else {
                continue;
            };
            let mut files: Vec<PathBuf> = rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && study::is_label_map_file(p))
                .collect();
            files.sort();
            out.extend(files);
        }
        out.sort();
        out.dedup();
        out.truncate(200);
        self.seg_candidates = Some((key, out.clone()));
        out
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Segmentation exports in the File menu.
pub fn export_menu(app: &mut App, ui: &mut egui::Ui) {
    let has = app.study.as_ref().is_some_and(|s| s.segmentation.is_some());
    let dicom = has && app.study.as_ref().is_some_and(|s| s.grid.is_some());
    if ui
        .add_enabled(has, egui::Button::new("Export segment statistics (CSV)…"))
        .clicked()
    {
        save(app, "segments.csv", "csv", Command::ExportSegStats);
        ui.close();
    }
    if ui
        .add_enabled(has, egui::Button::new("Export segment statistics (JSON)…"))
        .clicked()
    {
        save(app, "segments.json", "json", Command::ExportSegStats);
        ui.close();
    }
    if ui
        .add_enabled(has, egui::Button::new("Export label map (NIfTI)…"))
        .clicked()
    {
        save(app, "labels.nii.gz", "gz", Command::ExportLabels);
        ui.close();
    }
    if ui
        .add_enabled(dicom, egui::Button::new("Export DICOM-SEG…"))
        .clicked()
    {
        save(app, "segmentation.dcm", "dcm", Command::ExportDicomSeg);
        ui.close();
    }
}

fn save(app: &mut App, name: &str, ext: &str, make: fn(PathBuf) -> Command) {
    if let Some(p) = app.picker.save_file(name, ext) {
        app.push(make(p));
    }
}

/// The side-panel section: offered files, the segment table, display options.
pub fn section(app: &mut App, ui: &mut egui::Ui) {
    egui::CollapsingHeader::new("Segmentation")
        .default_open(true)
        .show(ui, |ui| {
            let has_study = app.study.is_some();
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(has_study, egui::Button::new("Open…"))
                    .clicked()
                {
                    app.push(Command::PickSegmentation);
                }
                if app.study.as_ref().is_some_and(|s| s.segmentation.is_some())
                    && ui.button("Close").clicked()
                {
                    app.push(Command::CloseSegmentation);
                }
            });
            let candidates = if has_study {
                app.seg_candidates()
            } else {
                Vec::new()
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
                            .selectable_label(false, file_name(&p))
                            .on_hover_text(p.display().to_string())
                            .clicked()
                        {
                            app.push(Command::OpenSegmentation(p));
                        }
                    }
                });
            }
            segment_table(app, ui);
            ui.separator();
            super::analysis::section(app, ui);
        });
}

fn segment_table(app: &mut App, ui: &mut egui::Ui) {
    let Some(s) = &app.study else { return };
    let Some(seg) = s.segmentation.clone() else {
        ui.label(RichText::new("no segmentation").weak());
        return;
    };
    let stats = s.seg_stats.clone();
    let geometry = s.volume.geometry;
    ui.label(RichText::new(&seg.source).small());
    ui.horizontal(|ui| {
        ui.checkbox(&mut app.state.show_labels, "show");
        ui.checkbox(&mut app.state.overlay.outline, "outline");
        let l = ui.label("opacity");
        if ui
            .add(
                egui::Slider::new(&mut app.state.overlay.default_opacity, 0.0..=1.0)
                    .show_value(false),
            )
            .labelled_by(l.id)
            .on_hover_text("every segment's opacity")
            .changed()
        {
            let o = app.state.overlay.default_opacity;
            app.state.overlay.opacity.iter_mut().for_each(|x| *x = o);
        }
    });
    let n = seg.segments.len();
    app.state.overlay.visible.resize(n, true);
    let default_opacity = app.state.overlay.default_opacity;
    if app.state.overlay.opacity.len() != n {
        app.state.overlay.opacity = vec![default_opacity; n];
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
                ui.checkbox(&mut app.state.overlay.visible[i], &sg.label)
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
                    egui::DragValue::new(&mut app.state.overlay.opacity[i])
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
    if let Some((lo, hi)) = goto {
        let c = glam::DVec3::new(
            (lo[2] + hi[2]) as f64 / 2.0,
            (lo[1] + hi[1]) as f64 / 2.0,
            (lo[0] + hi[0]) as f64 / 2.0,
        );
        app.push(Command::SetCrosshair(geometry.world_of_voxel(c)));
    }
}
