use super::*;
use crate::volume::ops::Histogram;

fn histogram() -> Histogram {
    Histogram {
        min_hu: -1000.0,
        bin_width_hu: 500.0,
        counts: vec![10, 0, 1000, 1],
        below: 0,
        above: 0,
    }
}

#[test]
fn tick_labels_read_as_numbers_and_counts() {
    assert_eq!(plain_label(0.25), "0.25");
    assert_eq!(plain_label(1000.0), "1000");
    assert_eq!(plain_label(-500.0), "-500");
    assert_eq!(plain_label(-0.0001), "0");
    assert_eq!(count_label(1.0), "1");
    assert_eq!(count_label(300.0), "300");
    assert_eq!(count_label(4000.0), "4k");
    assert_eq!(count_label(2.5e6), "2.5M");
    let h = hu_histogram(&histogram(), true, None, "t");
    assert_eq!(h.y_tick(3.0), "1k");
    assert_eq!(h.x_tick(-500.0), "-500");
}

#[test]
fn a_log_histogram_leaves_empty_bins_out_and_names_its_axes() {
    let c = hu_histogram(&histogram(), true, Some((-200.0, 200.0)), "HU");
    assert_eq!(
        (c.x_label.as_str(), c.y_label.as_str()),
        ("HU", "log voxels")
    );
    assert_eq!(c.x_range, (-1000.0, 1000.0));
    let Layer::Band { lo, hi, .. } = c.layers[0] else {
        panic!("the window band comes first")
    };
    assert_eq!((lo, hi), (-200.0, 200.0));
    let Layer::Bars { bars, .. } = &c.layers[1] else {
        panic!("then the bars")
    };
    // 10, (empty), 1000, 1 → log10: 1, 3, 0.
    assert_eq!(
        bars,
        &[
            (-1000.0, -500.0, 1.0),
            (0.0, 500.0, 3.0),
            (500.0, 1000.0, 0.0)
        ]
    );
    let linear = hu_histogram(&histogram(), false, None, "HU");
    assert_eq!(linear.y_label, "voxels");
    assert!((linear.y_range.1 - 1050.0).abs() < 1e-9);
}

#[test]
fn scores_fall_in_their_bins() {
    let c = score_histogram(
        &[0.0, 0.05, 0.96, 1.0, f64::NAN],
        10,
        false,
        "t",
        "Dice",
        "slices",
    );
    let Layer::Bars { bars, .. } = &c.layers[0] else {
        panic!()
    };
    let counts: Vec<f64> = bars.iter().map(|b| b.2).collect();
    assert_eq!(counts, [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0]);
    assert_eq!(c.y_label, "slices");
    assert_eq!(
        score_histogram(&[0.5], 4, true, "t", "Dice", "slices").y_label,
        "log slices"
    );
}

#[test]
fn box_statistics_are_tukeys() {
    let b = box_stats(&[1.0, 2.0, 3.0, 4.0, 100.0]).unwrap();
    assert_eq!((b.q1, b.median, b.q3), (2.0, 3.0, 4.0));
    assert_eq!(
        (b.whisker_low, b.whisker_high),
        (1.0, 4.0),
        "100 is an outlier"
    );
    assert!(box_stats(&[f64::NAN]).is_none());
    let c = box_plots(
        &[("a".into(), vec![0.9, 0.95]), ("b".into(), vec![])],
        0.5,
        "t",
        "Dice",
    );
    assert_eq!(c.x_tick(0.0), "a");
    assert_eq!(c.x_tick(1.0), "b");
    assert_eq!(c.x_tick(0.5), "");
    let Layer::Boxes { boxes, .. } = &c.layers[0] else {
        panic!()
    };
    assert!(boxes[0].is_some() && boxes[1].is_none());
}

#[test]
fn traces_span_their_points() {
    let c = trace(
        &[("level 1".into(), vec![(0.0, 2.0), (10.0, 1.0)])],
        "t",
        "iteration",
        "cost",
    );
    assert_eq!(c.x_range, (0.0, 10.0));
    assert!(c.y_range.0 < 1.0 && c.y_range.1 > 2.0);
    assert!(c.has_legend());
}

/// The PNG has the size asked for, white paper, dark text and the bars'
/// blue; the SVG parses as XML-ish text with the title and both axis
/// labels as `<text>` elements.
#[test]
fn a_chart_renders_to_png_and_svg() {
    let c = hu_histogram(&histogram(), true, Some((-200.0, 200.0)), "HU histogram");
    let img = png(&c, 640, 360).unwrap();
    assert_eq!(img.dimensions(), (640, 360));
    let dark = img.pixels().filter(|p| p.0.iter().all(|&v| v < 90)).count();
    let blue = img.pixels().filter(|p| p.0 == [46, 110, 180]).count();
    assert!(dark > 200, "text and axes are drawn ({dark} dark pixels)");
    assert!(blue > 1000, "bars are drawn ({blue} px)");
    let s = svg(&c, 640, 360).unwrap();
    assert!(
        s.starts_with("<svg") || s.starts_with("<?xml"),
        "{}",
        &s[..40]
    );
    let texts: Vec<&str> = s
        .split("<text")
        .skip(1)
        .filter_map(|t| Some(t.split_once('>')?.1.split("</text>").next()?.trim()))
        .collect();
    for label in ["HU histogram", "HU", "log voxels", "1k", "-500", "window"] {
        assert!(texts.contains(&label), "{label} in {texts:?}");
    }
    assert!(matches!(png(&c, 0, 10), Err(FigureError::Size(0, 10))));
}

#[test]
fn text_is_antialiased_and_measured() {
    let mut img = image::RgbImage::from_pixel(120, 40, image::Rgb([0, 0, 0]));
    let (w, h) = text_size("50 mm", 16.0);
    assert!(w > 30 && w < 70 && (16..26).contains(&h), "{w}×{h}");
    assert!(text_size("50 mm 50 mm", 16.0).0 > w);
    draw_text(
        &mut img,
        "50 mm",
        4,
        4,
        TextStyle::new(16.0, image::Rgb([255, 255, 255])),
    );
    let lit: Vec<u8> = img.pixels().map(|p| p.0[0]).filter(|&v| v > 0).collect();
    assert!(lit.contains(&255), "full coverage inside strokes");
    assert!(lit.iter().any(|&v| v > 0 && v < 255), "antialiased edges");
    // Drawn off the image: nothing happens, nothing panics.
    draw_text(
        &mut img,
        "x",
        -100,
        500,
        TextStyle::new(16.0, image::Rgb([255, 0, 0])),
    );
}
