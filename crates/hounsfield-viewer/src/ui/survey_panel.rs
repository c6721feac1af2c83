//! The "Survey" window: the dataset survey of the opened folder as a
//! sortable table, inconsistent values highlighted, flags, and the
//! per-series histogram plot. The survey runs as a background job.

use egui::{Color32, RichText};

use super::app::App;
use super::command::Command;
use super::context::ViewerContext;
use super::tasks::JobSlot;
use crate::survey::{Survey, SurveyParams, SurveyRow};

/// The survey feature: its window, the result with its histogram plot,
/// the table's sorting, and the job.
#[derive(Default)]
pub struct SurveyPanel {
    /// The window is open.
    pub open: bool,
    /// The survey of the opened folder, when run.
    pub result: Option<Survey>,
    /// Sorting of the table.
    pub sort: SurveySort,
    /// The histograms' chart (built by the job).
    pub chart: Option<crate::figure::Chart>,
    /// The survey running, with its chart.
    pub job: JobSlot<(Survey, crate::figure::Chart)>,
}

/// One table column: header, the field name used by the consistency check
/// (to highlight odd values), the cell text and a sort key.
struct Column {
    title: &'static str,
    field: Option<&'static str>,
    text: fn(&SurveyRow) -> String,
}

fn opt(s: Option<&String>) -> String {
    s.cloned().unwrap_or_else(|| "-".into())
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.decimals$}"))
}

const COLUMNS: &[Column] = &[
    Column {
        title: "#",
        field: None,
        text: |r| format!("{:03}", r.index),
    },
    Column {
        title: "series",
        field: None,
        text: |r| r.short_label(),
    },
    Column {
        title: "mod",
        field: Some("modality"),
        text: |r| opt(r.modality.as_ref()),
    },
    Column {
        title: "sex",
        field: None,
        text: |r| opt(r.sex.as_ref()),
    },
    Column {
        title: "age",
        field: None,
        text: |r| opt(r.age.as_ref()),
    },
    Column {
        title: "id removed",
        field: Some("patient_identity_removed"),
        text: |r| opt(r.patient_identity_removed.as_ref()),
    },
    Column {
        title: "kVp",
        field: Some("kvp"),
        text: |r| num(r.kvp, 0),
    },
    Column {
        title: "manufacturer",
        field: Some("manufacturer"),
        text: |r| opt(r.manufacturer.as_ref()),
    },
    Column {
        title: "model",
        field: Some("model"),
        text: |r| opt(r.model.as_ref()),
    },
    Column {
        title: "slices",
        field: None,
        text: |r| format!("{:04}", r.slices),
    },
    Column {
        title: "matrix",
        field: Some("matrix"),
        text: |r| format!("{}x{}", r.matrix[0], r.matrix[1]),
    },
    Column {
        title: "pixel mm",
        field: Some("pixel_spacing_mm"),
        text: |r| {
            r.pixel_spacing_mm
                .map_or_else(|| "-".into(), |[a, b]| format!("{a:.3}/{b:.3}"))
        },
    },
    Column {
        title: "spacing mm",
        field: Some("slice_spacing_mm"),
        text: |r| num(r.slice_spacing_mm, 3),
    },
    Column {
        title: "thick mm",
        field: Some("slice_thickness_mm"),
        text: |r| num(r.slice_thickness_mm, 3),
    },
    Column {
        title: "ori",
        field: Some("orientation"),
        text: |r| opt(r.orientation.as_ref()),
    },
    Column {
        title: "slope",
        field: Some("rescale_slope"),
        text: |r| num(r.rescale_slope, 3),
    },
    Column {
        title: "intercept",
        field: Some("rescale_intercept"),
        text: |r| num(r.rescale_intercept, 1),
    },
    Column {
        title: "position",
        field: Some("patient_position"),
        text: |r| opt(r.patient_position.as_ref()),
    },
    Column {
        title: "syntax",
        field: Some("transfer_syntax"),
        text: |r| r.transfer_syntax.chars().take(24).collect(),
    },
    Column {
        title: "p1/p50/p99 HU",
        field: None,
        text: |r| {
            r.percentiles_hu.map_or_else(
                || "-".into(),
                |p| format!("{:.0}/{:.0}/{:.0}", p[0], p[2], p[4]),
            )
        },
    },
    Column {
        title: "flags",
        field: None,
        text: |r| {
            let mut f = Vec::new();
            if r.identifying {
                f.push("identifying".to_owned());
            }
            if r.shifted {
                f.push(format!("shifted {:+.0} HU", r.shift_hu.unwrap_or(0.0)));
            }
            f.join(", ")
        },
    },
];

/// Sort state of the table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SurveySort {
    /// Column index.
    pub column: usize,
    /// Descending order.
    pub descending: bool,
}

fn is_odd(s: &Survey, field: &str, row: usize) -> bool {
    s.inconsistencies
        .iter()
        .any(|i| i.field == field && i.odd_rows.contains(&row))
}

/// Draw the survey window (when open).
pub fn window(panel: &mut SurveyPanel, ctx: &ViewerContext, egui_ctx: &egui::Context) {
    let mut open = panel.open;
    egui::Window::new("Survey").open(&mut open).default_size([980.0, 560.0]).show(egui_ctx, |ui| {
        ui.horizontal(|ui| {
            let can_run = ctx.scan.is_some_and(|s| !s.report.series.is_empty()) && !panel.job.is_busy();
            if ui.add_enabled(can_run, egui::Button::new("Survey the opened folder")).clicked() {
                ctx.send(Command::Survey { rerun: true });
            }
            if let Some(j) = panel.job.running() {
                ui.spinner();
                if let Some(f) = j.fraction() {
                    ui.add(egui::ProgressBar::new(f).desired_width(160.0).show_percentage());
                }
            }
        });
        let Some(survey) = panel.result.as_ref() else {
            ui.label("Open a folder, then survey it: every series' metadata, the fields that differ, and the HU histograms.");
            return;
        };
        table(&mut panel.sort, ui, survey);
        ui.separator();
        for i in &survey.inconsistencies {
            ui.label(
                RichText::new(format!("{} differs: mostly {}, odd rows {:?}", i.field, i.majority, i.odd_rows))
                    .color(Color32::from_rgb(240, 180, 60)),
            );
        }
        if let Some(chart) = &panel.chart {
            ui.horizontal(|ui| {
                ui.strong("Histograms");
                super::plots::save_buttons(ui, ctx, super::command::FigureKind::Survey);
            });
            super::plots::show_chart(ui, "survey-histograms", chart, 320.0, true);
        }
    });
    panel.open = open;
}

fn table(sort_state: &mut SurveySort, ui: &mut egui::Ui, survey: &Survey) {
    let sort = *sort_state;
    let mut order: Vec<usize> = (0..survey.rows.len()).collect();
    let key = COLUMNS.get(sort.column).map_or(COLUMNS[0].text, |c| c.text);
    order.sort_by(|&a, &b| {
        key(&survey.rows[a])
            .cmp(&key(&survey.rows[b]))
            .then(a.cmp(&b))
    });
    if sort.descending {
        order.reverse();
    }
    egui::ScrollArea::both().max_height(300.0).show(ui, |ui| {
        egui::Grid::new("survey-table")
            .striped(true)
            .show(ui, |ui| {
                for (k, c) in COLUMNS.iter().enumerate() {
                    let arrow = if k == sort.column {
                        if sort.descending { " v" } else { " ^" }
                    } else {
                        ""
                    };
                    if ui.button(format!("{}{arrow}", c.title)).clicked() {
                        *sort_state = SurveySort {
                            column: k,
                            descending: k == sort.column && !sort.descending,
                        };
                    }
                }
                ui.end_row();
                for &i in &order {
                    let row = &survey.rows[i];
                    for c in COLUMNS {
                        let text = (c.text)(row);
                        let odd = c.field.is_some_and(|f| is_odd(survey, f, row.index));
                        let flag = c.title == "flags" && row.flagged();
                        let rich = if odd || flag {
                            RichText::new(text)
                                .color(Color32::from_rgb(255, 170, 60))
                                .strong()
                        } else {
                            RichText::new(text)
                        };
                        ui.label(rich);
                    }
                    ui.end_row();
                }
            });
    });
}

impl App {
    /// Survey the opened folder in the background (metadata, consistency,
    /// winsorised histograms).
    pub fn start_survey(&mut self) {
        let Some(report) = self.scan.as_ref().map(|s| s.report.clone()) else {
            return;
        };
        let waker = self.waker();
        let r = self.survey.job.start("Survey", waker, move |c| {
            let progress = |d: usize, t: usize| c.set_progress(d, t);
            let s = crate::survey::survey_with_progress(
                &report,
                &SurveyParams::default(),
                Some(&progress),
            );
            c.set_note("plotting");
            let chart = crate::survey::plot::histograms_chart(&s);
            Ok((s, chart))
        });
        self.started(r);
    }

    /// Take the survey result and its chart.
    pub(super) fn poll_survey(&mut self) {
        let Some(r) = self.survey.job.poll() else {
            return;
        };
        match r {
            Ok((s, chart)) => {
                self.survey.chart = Some(chart);
                let flagged = s.rows.iter().filter(|r| r.flagged()).count();
                self.info(format!(
                    "survey: {} series, {} inconsistent fields, {flagged} flagged",
                    s.rows.len(),
                    s.inconsistencies.len()
                ));
                self.survey.result = Some(s);
            }
            Err(e) => self.error(e.to_string()),
        }
    }
}
