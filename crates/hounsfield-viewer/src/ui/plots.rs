//! Charts in the viewer through `egui_plot`. Each plot shows the same
//! [`Chart`] the CLI writes (so "save figure" writes what is on screen, as
//! PNG or SVG through `figure::write`); it zooms and pans like any plot,
//! double click resets, and hovering a bar or a line shows its value.

use egui::Color32;
use egui_plot::{Bar, BarChart, BoxElem, BoxPlot, BoxSpread, Legend, Line, Plot, PlotPoints, Span};

use super::command::{Command, FigureKind, SaveTarget};
use super::context::ViewerContext;
use crate::figure::{Chart, Layer, Rgb};

fn colour(c: Rgb) -> Color32 {
    Color32::from_rgb(c[0], c[1], c[2])
}

/// A value on the y axis as the chart writes it (counts on a log axis).
fn y_value(chart: &Chart, v: f64) -> String {
    if chart.y_log {
        format!("{:.0}", 10f64.powf(v))
    } else {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

/// Draw `chart` as an interactive plot `height` points high, with its
/// legend inside the plot (or none: the caller shows a [`legend_row`]).
pub fn show_chart(ui: &mut egui::Ui, id: &str, chart: &Chart, height: f32, legend: bool) {
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let mut plot = Plot::new(id)
        .height(height)
        .x_axis_label(chart.x_label.clone())
        .y_axis_label(chart.y_label.clone())
        .x_axis_formatter(|m, _| chart.x_tick(m.value))
        .y_axis_formatter(|m, _| chart.y_tick(m.value))
        .include_x(x0)
        .include_x(x1)
        .include_y(y0)
        .include_y(y1)
        .allow_scroll(false)
        .label_formatter(|pos| match pos {
            egui_plot::HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } if !plot_name.is_empty() => Some(format!(
                "{plot_name}\n{} {}\n{} {}",
                chart.x_label,
                chart.x_tick(position.x),
                chart.y_label,
                y_value(chart, position.y)
            )),
            _ => None,
        });
    if legend && chart.has_legend() {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |p| {
        for layer in &chart.layers {
            add_layer(p, chart, layer);
        }
    });
}

/// Add one layer of `chart` to the plot.
fn add_layer(p: &mut egui_plot::PlotUi<'_>, chart: &Chart, layer: &Layer) {
    let y0 = chart.y_range.0;
    match layer {
        Layer::Band {
            name,
            colour: c,
            lo,
            hi,
        } => {
            let [r, g, b] = *c;
            p.span(
                Span::new(name.clone(), *lo..=*hi)
                    .fill(Color32::from_rgba_unmultiplied(r, g, b, 50)),
            );
        }
        Layer::Bars {
            name,
            colour: c,
            bars,
        } => {
            let items = bars
                .iter()
                .map(|&(a, b, v)| {
                    Bar::new(f64::midpoint(a, b), v - y0.max(0.0))
                        .base_offset(y0.max(0.0))
                        .width(b - a)
                        .fill(colour(*c))
                })
                .collect();
            let unit = chart.y_label.trim_start_matches("log ").to_owned();
            let x_label = chart.x_label.clone();
            let log = chart.y_log;
            p.bar_chart(
                BarChart::new(name.clone(), items)
                    .color(colour(*c))
                    .element_formatter(Box::new(move |bar, _| {
                        let half = bar.bar_width / 2.0;
                        let v = bar.value + bar.base_offset.unwrap_or(0.0);
                        let count = if log { 10f64.powf(v) } else { v };
                        format!(
                            "{:.0} to {:.0} {x_label}: {count:.0} {unit}",
                            bar.argument - half,
                            bar.argument + half
                        )
                    })),
            );
        }
        Layer::Line {
            name,
            colour: c,
            points,
        } => {
            let pts: PlotPoints = points.iter().map(|&(x, y)| [x, y]).collect();
            p.line(Line::new(name.clone(), pts).color(colour(*c)).width(2.0));
        }
        Layer::Boxes { colour: c, boxes } => {
            let elems = boxes
                .iter()
                .enumerate()
                .filter_map(|(i, b)| {
                    let b = (*b)?;
                    Some(BoxElem::new(
                        i as f64,
                        BoxSpread::new(b.whisker_low, b.q1, b.median, b.q3, b.whisker_high),
                    ))
                })
                .collect();
            p.box_plot(BoxPlot::new("", elems).color(colour(*c)));
        }
    }
}

/// The chart's legend as a row of coloured names (for plots too small to
/// hold it).
pub fn legend_row(ui: &mut egui::Ui, chart: &Chart) {
    for layer in &chart.layers {
        if let Layer::Bars {
            name, colour: c, ..
        }
        | Layer::Line {
            name, colour: c, ..
        } = layer
            && !name.is_empty()
        {
            let (swatch, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().rect_filled(swatch, 2.0, colour(*c));
            ui.label(egui::RichText::new(name).small());
        }
    }
}

/// "PNG…" and "SVG…" buttons that save `figure` (asking for the file).
pub fn save_buttons(ui: &mut egui::Ui, ctx: &ViewerContext, figure: FigureKind) {
    if ui
        .small_button("PNG…")
        .on_hover_text("save this figure as PNG")
        .clicked()
    {
        ctx.send(Command::Ask(SaveTarget::Figure(figure, false)));
    }
    if ui
        .small_button("SVG…")
        .on_hover_text("save this figure as SVG")
        .clicked()
    {
        ctx.send(Command::Ask(SaveTarget::Figure(figure, true)));
    }
}
