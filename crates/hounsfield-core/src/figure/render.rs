//! Drawing a [`Chart`] through plotters: into a PNG image (bitmap backend,
//! text through `ab_glyph` with a bundled font, so no system font or
//! fontconfig is needed) or an SVG document (text as `<text>` elements).

use std::path::Path;
use std::sync::Once;

use image::RgbImage;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Chart, Layer, Rgb};

/// Why a figure could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    /// plotters failed to draw.
    #[error("cannot draw the figure: {0}")]
    Draw(String),
    /// The size is zero or too large.
    #[error("figure size {0}×{1} px is out of range (1–8192)")]
    Size(u32, u32),
    /// The file extension is neither `.png` nor `.svg`.
    #[error("{0:?}: a figure is written as .png or .svg")]
    Format(std::path::PathBuf),
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
}

/// The font family name the bundled font is registered under.
const FAMILY: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a constant of a well-kept crate: registering cannot
        // fail; if it ever did, text would be missing, not the figure.
        let _ = plotters::style::register_font(
            FAMILY,
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

fn draw_err<E: std::fmt::Display>(e: E) -> FigureError {
    FigureError::Draw(e.to_string())
}

fn check_size(width: u32, height: u32) -> Result<(), FigureError> {
    if (1..=8192).contains(&width) && (1..=8192).contains(&height) {
        Ok(())
    } else {
        Err(FigureError::Size(width, height))
    }
}

/// The chart as an RGB image of `width × height` pixels.
pub fn png(chart: &Chart, width: u32, height: u32) -> Result<RgbImage, FigureError> {
    check_size(width, height)?;
    register_font();
    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        draw(&root, chart)?;
        root.present().map_err(draw_err)?;
    }
    RgbImage::from_raw(width, height, buf)
        .ok_or_else(|| FigureError::Draw("image buffer size".into()))
}

/// The chart as an SVG document of `width × height` pixels.
pub fn svg(chart: &Chart, width: u32, height: u32) -> Result<String, FigureError> {
    check_size(width, height)?;
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        draw(&root, chart)?;
        root.present().map_err(draw_err)?;
    }
    Ok(out)
}

/// Write the chart to `path`, PNG or SVG by its extension (atomically).
pub fn write(chart: &Chart, path: &Path, width: u32, height: u32) -> Result<(), FigureError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => Ok(crate::export::write_png(path, &png(chart, width, height)?)?),
        Some("svg") => {
            let text = svg(chart, width, height)?;
            Ok(crate::io::write_atomic(path, |w| {
                w.write_all(text.as_bytes())
            })?)
        }
        _ => Err(FigureError::Format(path.to_path_buf())),
    }
}

/// Draw `chart` on `root`: title, mesh with labelled axes, layers, legend.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(draw_err)?;
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let mut c = ChartBuilder::on(root)
        .caption(&chart.title, (FAMILY, 22))
        .margin(14)
        .x_label_area_size(if chart.x_label.is_empty() { 34 } else { 52 })
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    let x_tick = |v: &f64| chart.x_tick(*v);
    let y_tick = |v: &f64| chart.y_tick(*v);
    let x_labels = chart.categories.as_ref().map_or(10, |c| c.len() + 1);
    let y_labels = if chart.y_log {
        (y1.ceil() as usize + 1).clamp(2, 12)
    } else {
        8
    };
    c.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_labels(x_labels)
        .y_labels(y_labels)
        .x_label_formatter(&x_tick)
        .y_label_formatter(&y_tick)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .light_line_style(RGBColor(246, 246, 246))
        .bold_line_style(RGBColor(215, 215, 215))
        .disable_x_mesh()
        .draw()
        .map_err(draw_err)?;
    for layer in &chart.layers {
        draw_layer(&mut c, layer, (y0, y1))?;
    }
    if chart.has_legend() {
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font((FAMILY, 15))
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

/// The mesh-and-axes chart of [`draw`].
type Cartesian<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Draw one layer; `(y0, y1)` is the y range (bands span it).
fn draw_layer<DB: DrawingBackend>(
    c: &mut Cartesian<'_, DB>,
    layer: &Layer,
    (y0, y1): (f64, f64),
) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    match layer {
        Layer::Band {
            name,
            colour,
            lo,
            hi,
        } => {
            let fill = rgb(*colour).mix(0.22).filled();
            let s = c
                .draw_series(std::iter::once(Rectangle::new(
                    [(*lo, y0), (*hi, y1)],
                    fill,
                )))
                .map_err(draw_err)?;
            if !name.is_empty() {
                s.label(name.as_str())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], fill));
            }
        }
        Layer::Bars { name, colour, bars } => {
            let fill = rgb(*colour).filled();
            let s = c
                .draw_series(
                    bars.iter()
                        .map(|&(a, b, v)| Rectangle::new([(a, y0.max(0.0)), (b, v)], fill)),
                )
                .map_err(draw_err)?;
            if !name.is_empty() {
                s.label(name.as_str())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], fill));
            }
        }
        Layer::Line {
            name,
            colour,
            points,
        } => {
            let style = rgb(*colour).stroke_width(2);
            let s = c
                .draw_series(LineSeries::new(points.iter().copied(), style))
                .map_err(draw_err)?;
            if !name.is_empty() {
                s.label(name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            }
        }
        Layer::Boxes { colour, boxes } => {
            let edge = rgb(*colour).stroke_width(2);
            let fill = rgb(*colour).mix(0.25).filled();
            for (i, b) in boxes.iter().enumerate() {
                let Some(b) = b else { continue };
                let x = i as f64;
                let (l, r) = (x - 0.3, x + 0.3);
                let parts: Vec<DynElement<'static, DB, (f64, f64)>> = vec![
                    Rectangle::new([(l, b.q1), (r, b.q3)], fill).into_dyn(),
                    Rectangle::new([(l, b.q1), (r, b.q3)], edge).into_dyn(),
                    PathElement::new(
                        vec![(l, b.median), (r, b.median)],
                        rgb(*colour).stroke_width(3),
                    )
                    .into_dyn(),
                    PathElement::new(vec![(x, b.q3), (x, b.whisker_high)], edge).into_dyn(),
                    PathElement::new(vec![(x, b.q1), (x, b.whisker_low)], edge).into_dyn(),
                    PathElement::new(
                        vec![(x - 0.15, b.whisker_high), (x + 0.15, b.whisker_high)],
                        edge,
                    )
                    .into_dyn(),
                    PathElement::new(
                        vec![(x - 0.15, b.whisker_low), (x + 0.15, b.whisker_low)],
                        edge,
                    )
                    .into_dyn(),
                ];
                c.draw_series(parts).map_err(draw_err)?;
            }
        }
    }
    Ok(())
}
