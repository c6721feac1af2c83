//! Every figure command writes a PNG that decodes and an SVG that parses,
//! with its title, axis names (with units) and ticks as `<text>` elements;
//! two figures are compared with snapshots that were looked at.

#![allow(clippy::unwrap_used)] // a failing read of a figure just written is a test failure

use std::path::Path;

use crate::common::{self, ok, s};
use hounsfield::figure;
use hounsfield::volume::ops::Histogram;

/// The text of every `<text>` element of an SVG file, which must parse.
fn svg_texts(path: &Path) -> Vec<String> {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let (mut out, mut inside, mut elements) = (Vec::new(), false, 0);
    loop {
        match reader.read_event().expect("the SVG parses") {
            Event::Start(e) => {
                elements += 1;
                inside = e.name().as_ref() == b"text";
                if inside {
                    out.push(String::new());
                }
            }
            Event::Text(t) if inside => {
                let t = t.decode().expect("UTF-8 text");
                if let Some(last) = out.last_mut() {
                    last.push_str(t.trim());
                }
            }
            Event::End(_) => inside = false,
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(elements > 10, "{path:?} is a drawing");
    out
}

/// The PNG decodes and is not one flat colour.
fn check_png(path: &Path) {
    let img = image::open(path).unwrap().to_rgb8();
    assert!(img.width() >= 600 && img.height() >= 300, "{path:?}");
    let first = img.get_pixel(0, 0);
    assert!(img.pixels().any(|p| p != first), "{path:?} is blank");
}

fn has(texts: &[String], want: &str) -> bool {
    texts.iter().any(|t| t == want)
}

#[test]
fn every_figure_command_writes_a_png_and_an_svg() {
    let tmp = common::tempdir();
    let series = tmp.path().join("ct");
    let labels = tmp.path().join("labels.nii.gz");
    ok(&[
        "phantom",
        "--out",
        s(&series),
        "--labels",
        s(&labels),
        "--dims",
        "48,96,96",
    ]);
    let f = |name: &str| tmp.path().join(name);

    ok(&[
        "histogram",
        s(&series),
        "--png",
        s(&f("h.png")),
        "--svg",
        s(&f("h.svg")),
    ]);
    check_png(&f("h.png"));
    let t = svg_texts(&f("h.svg"));
    assert!(has(&t, "HU") && has(&t, "log voxels"), "{t:?}");
    assert!(t.iter().any(|x| x.starts_with("HU histogram")), "{t:?}");
    ok(&[
        "histogram",
        s(&series),
        "--svg",
        s(&f("hl.svg")),
        "--linear",
    ]);
    assert!(has(&svg_texts(&f("hl.svg")), "voxels"));

    ok(&[
        "survey",
        s(&series),
        "--histograms",
        s(&f("s.png")),
        "--histograms-svg",
        s(&f("s.svg")),
    ]);
    check_png(&f("s.png"));
    let t = svg_texts(&f("s.svg"));
    assert!(
        has(&t, "HU") && has(&t, "fraction of voxels per HU"),
        "{t:?}"
    );
    assert!(
        t.iter().any(|x| x.starts_with('#')),
        "a legend entry per series: {t:?}"
    );

    ok(&[
        "segment",
        "lungs",
        s(&series),
        "--out",
        s(&f("lungs.nii.gz")),
        "--reference",
        s(&labels),
        "--metrics-png",
        s(&f("m.png")),
        "--metrics-svg",
        s(&f("m.svg")),
    ]);
    check_png(&f("m.png"));
    let t = svg_texts(&f("m.svg"));
    for want in ["Dice", "Jaccard", "sensitivity", "overlap (0–1)", "all"] {
        assert!(has(&t, want), "{want} in {t:?}");
    }

    ok(&[
        "register",
        s(&series),
        s(&series),
        "--spacing",
        "4",
        "--out",
        s(&f("t.json")),
        "--trace-png",
        s(&f("r.png")),
        "--trace-svg",
        s(&f("r.svg")),
    ]);
    check_png(&f("r.png"));
    let t = svg_texts(&f("r.svg"));
    for want in ["iteration", "cost (lower is better)", "level 1"] {
        assert!(has(&t, want), "{want} in {t:?}");
    }
}

/// A CT-like histogram (air, fat, soft tissue, bone) and per-case Dice box
/// plots, drawn by plotters with the bundled font: compared with snapshots
/// (`UPDATE_SNAPSHOTS=1` rewrites them; look at them when they change).
#[test]
fn histogram_and_box_plot_figures_match_their_snapshots() {
    let bump = |x: f64, c: f64, w: f64, h: f64| h * (-((x - c) / w).powi(2)).exp();
    let counts: Vec<u64> = (0..256)
        .map(|i| {
            let hu = -1024.0 + 16.0 * f64::from(i) + 8.0;
            (bump(hu, -1000.0, 30.0, 5e5)
                + bump(hu, -90.0, 40.0, 4e4)
                + bump(hu, 45.0, 30.0, 9e4)
                + bump(hu, 700.0, 300.0, 3e3)) as u64
        })
        .collect();
    let h = Histogram {
        min_hu: -1024.0,
        bin_width_hu: 16.0,
        counts,
        below: 0,
        above: 0,
    };
    let chart = figure::hu_histogram(&h, true, Some((-160.0, 240.0)), "HU histogram");
    let img = figure::png(&chart, 720, 400).unwrap();
    common::check_snapshot(
        "figure_histogram",
        &image::DynamicImage::ImageRgb8(img).to_rgba8(),
    );

    let case = |k: u32| -> Vec<f64> {
        (0..60)
            .map(|i| {
                let t = f64::from(i * 37 % 60) / 60.0;
                (0.97 - 0.02 * f64::from(k) - 0.15 * t * t).min(0.995)
            })
            .collect()
    };
    let groups = vec![
        ("case 1".to_owned(), case(0)),
        ("case 2".to_owned(), case(1)),
        ("case 3".to_owned(), case(3)),
        ("all".to_owned(), [case(0), case(1), case(3)].concat()),
    ];
    let chart = figure::box_plots(&groups, 0.7, "Per-slice Dice by case", "Dice");
    let img = figure::png(&chart, 720, 400).unwrap();
    common::check_snapshot(
        "figure_dice_box",
        &image::DynamicImage::ImageRgb8(img).to_rgba8(),
    );
}
