//! Window/level: the presets (data in `assets/presets/windows.csv`, compiled
//! in) and an automatic window from histogram percentiles.

use super::Volume;
use super::ops::percentiles;

/// A window: HU centre and width.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowPreset {
    /// Name, e.g. `lung`.
    pub name: String,
    /// Window centre (level) in HU.
    pub centre_hu: f32,
    /// Window width in HU.
    pub width_hu: f32,
}

const PRESETS_CSV: &str = include_str!("../../../../assets/presets/windows.csv");

/// The built-in presets, in file order.
pub fn presets() -> Vec<WindowPreset> {
    PRESETS_CSV
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(',').map(str::trim);
            let name = f.next()?.to_owned();
            let centre_hu = f.next()?.parse().ok()?;
            let width_hu = f.next()?.parse().ok()?;
            Some(WindowPreset {
                name,
                centre_hu,
                width_hu,
            })
        })
        .collect()
}

/// The preset of that name (case-insensitive).
pub fn preset(name: &str) -> Option<WindowPreset> {
    presets()
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// A window spanning the `p_lo`..`p_hi` percentiles of the volume's HU
/// values (e.g. 1 and 99), at least 1 HU wide.
pub fn auto_window(vol: &Volume, p_lo: f64, p_hi: f64) -> WindowPreset {
    let b = percentiles(vol, &[p_lo, p_hi]);
    let (lo, hi) = (b[0] as f32, b[1] as f32);
    WindowPreset {
        name: "auto".into(),
        centre_hu: f32::midpoint(lo, hi),
        width_hu: (hi - lo).max(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;

    #[test]
    fn presets_are_the_documented_ones() {
        let p = presets();
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["liver", "abdomen", "lung", "bone", "brain", "mediastinum"]
        );
        let lung = preset("LUNG").unwrap();
        assert_eq!((lung.centre_hu, lung.width_hu), (-600.0, 1500.0));
        let liver = preset("liver").unwrap();
        assert_eq!((liver.centre_hu, liver.width_hu), (150.0, 900.0));
    }

    #[test]
    fn auto_window_spans_the_percentiles() {
        let a = ndarray::Array3::from_shape_fn((1, 1, 101), |(_, _, x)| x as i16 * 10 - 500);
        let v = Volume::from_i16(a, Geometry::identity([1, 1, 101]));
        let w = auto_window(&v, 10.0, 90.0);
        assert!(
            (w.centre_hu - 0.0).abs() < 1e-3 && (w.width_hu - 800.0).abs() < 1e-3,
            "{w:?}"
        );
    }
}
