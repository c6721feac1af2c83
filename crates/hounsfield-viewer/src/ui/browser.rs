//! The series browser: the scanned path's image series (with validation
//! badges), non-image objects, NIfTI/NRRD/NumPy volumes and label maps with
//! their grids, and the unreadable files. Rows only push commands.

use egui::{Color32, RichText};

use super::command::Command;
use super::context::ViewerContext;
use crate::dicom::Severity;
use crate::study::{self, VolumeFileKind};

pub(super) fn series_browser(ctx: &ViewerContext, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Series");
        if ui.button("Open folder…").clicked() {
            ctx.send(Command::PickFolder);
        }
        if ui.button("Demo").clicked() {
            ctx.send(Command::OpenDemo);
        }
    });
    let Some(scan) = ctx.scan else {
        ui.label("Open a folder (File > Open folder, or drop it on the window).");
        return;
    };
    let report = &scan.report;
    ui.label(RichText::new(scan.path.display().to_string()).small());
    let mut load = None;
    for (i, s) in report.series.iter().enumerate() {
        if series_row(ui, s) {
            load = Some(i);
        }
    }
    for o in &report.objects {
        ui.label(
            RichText::new(format!(
                "{} {}",
                o.kind.label(),
                o.description.as_deref().unwrap_or_default()
            ))
            .weak(),
        );
    }
    let has_study = ctx.study.is_some();
    let mut volume_command = None;
    for (p, summary) in &scan.volumes {
        if let Some(c) = volume_row(ui, p, summary, has_study) {
            volume_command = Some(c);
        }
    }
    if !report.failures.is_empty() {
        ui.label(RichText::new(format!("{} unreadable files", report.failures.len())).weak())
            .on_hover_text(
                report
                    .failures
                    .iter()
                    .take(20)
                    .map(|f| f.reason.clone())
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
    }
    if ui.button("Survey this folder…").clicked() {
        ctx.send(Command::Survey { rerun: false });
    }
    if let Some(i) = load {
        ctx.send(Command::LoadSeries(i));
    }
    if let Some(c) = volume_command {
        ctx.send(c);
    }
}

/// One NIfTI/NRRD/NumPy file of the scan: kind, grid and name, with
/// "Open" for a volume and "Overlay" for a label map (on the open study).
fn volume_row(
    ui: &mut egui::Ui,
    path: &std::path::Path,
    summary: &Result<crate::study::VolumeFileSummary, String>,
    has_study: bool,
) -> Option<Command> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let v = match summary {
        Ok(v) => v,
        Err(e) => {
            ui.label(RichText::new(format!("unreadable {name}")).weak())
                .on_hover_text(e);
            return None;
        }
    };
    let [z, r, c] = v.shape_zyx;
    let [sz, sr, sc] = v.spacing_zyx_mm;
    let mut out = None;
    ui.horizontal(|ui| {
        let geometry_known = study::is_label_map_file(path);
        match v.kind {
            VolumeFileKind::Volume if geometry_known && ui.small_button("Open").clicked() => {
                out = Some(Command::OpenVolumeFile(path.to_owned()));
            }
            VolumeFileKind::LabelMap
                if geometry_known
                    && has_study
                    && ui
                        .small_button("Overlay")
                        .on_hover_text("Place this label map on the open study")
                        .clicked() =>
            {
                out = Some(Command::OpenSegmentation(path.to_owned()));
            }
            _ => {}
        }
        let labels = if v.labels.is_empty() {
            String::new()
        } else {
            format!(", {} labels", v.labels.iter().filter(|&&l| l != 0).count())
        };
        ui.label(format!(
            "{} {z}×{r}×{c}, {sz:.2}×{sr:.2}×{sc:.2} mm{labels}  {name}",
            v.kind.label()
        ))
        .on_hover_text(path.display().to_string());
    });
    out
}

/// One line of the series browser; true when clicked.
fn series_row(ui: &mut egui::Ui, s: &crate::dicom::SeriesInfo) -> bool {
    let mut clicked = false;
    let first = &s.instances[0];
    let (badge, colour, hover) = match &s.layout {
        Ok(l) => {
            let colour = match l.report.worst() {
                None => Color32::from_rgb(90, 200, 90),
                Some(Severity::Info) => Color32::from_rgb(120, 170, 255),
                Some(Severity::Warning) => Color32::from_rgb(240, 190, 60),
                Some(Severity::Error) => Color32::from_rgb(255, 90, 90),
            };
            let text: Vec<String> = l
                .report
                .issues
                .iter()
                .map(|i| format!("[{:?}] {}", i.severity, i.message))
                .collect();
            (
                l.report.badge(),
                colour,
                if text.is_empty() {
                    "no issues".to_owned()
                } else {
                    text.join("\n")
                },
            )
        }
        Err(e) => ("error", Color32::from_rgb(255, 90, 90), e.clone()),
    };
    let spacing = s.layout.as_ref().map_or_else(
        |_| "-".to_owned(),
        |l| {
            let sp = l.geometry.spacing_zyx_mm();
            format!("{:.2}×{:.2}×{:.2} mm", sp[2], sp[1], sp[0])
        },
    );
    let slices = s
        .layout
        .as_ref()
        .map_or(s.frame_count(), |l| l.geometry.dims[0]);
    ui.horizontal(|ui| {
        ui.colored_label(colour, badge).on_hover_text(hover);
        let label = format!(
            "{} {} · {} sl · {}×{} · {}",
            s.metadata.modality.as_deref().unwrap_or("?"),
            s.metadata
                .series_description
                .as_deref()
                .unwrap_or("(no description)"),
            slices,
            first.cols,
            first.rows,
            spacing
        );
        clicked = ui.selectable_label(false, label).clicked();
    });
    clicked
}
