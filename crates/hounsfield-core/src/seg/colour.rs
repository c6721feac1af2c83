//! Segment colours and drawing layers: defaults from the segment's name
//! (liver green, tumour red, …), a palette for the rest, and the DICOM
//! CIELab ↔ sRGB conversion used by RecommendedDisplayCIELabValue.

use super::Layer;

/// Words that make a segment a lesion (drawn above organs, red by default).
const LESION_WORDS: [&str; 8] = [
    "tumour", "tumor", "lesion", "neoplasm", "nodule", "mass", "metasta", "cancer",
];

/// Default colours of common structures (lower-case substring → sRGB).
const NAMED: [(&str, [u8; 3]); 16] = [
    ("liver", [40, 200, 60]),
    ("spleen", [150, 90, 200]),
    ("stomach", [230, 170, 60]),
    ("aorta", [235, 110, 40]),
    ("vena cava", [60, 110, 235]),
    ("kidney", [200, 120, 90]),
    ("right lung", [80, 170, 230]),
    ("left lung", [230, 200, 60]),
    ("lung", [80, 170, 230]),
    ("airway", [160, 230, 230]),
    ("trachea", [160, 230, 230]),
    ("heart", [230, 90, 150]),
    ("bone", [240, 230, 200]),
    ("spine", [240, 230, 200]),
    ("vessel", [250, 140, 140]),
    ("body", [190, 160, 120]),
];

/// Fallback palette (distinct hues, none pure red or green).
const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [148, 103, 189],
    [23, 190, 207],
    [227, 119, 194],
    [188, 189, 34],
    [140, 86, 75],
    [255, 215, 0],
    [174, 199, 232],
    [255, 187, 120],
];

/// Red used for lesions.
pub const LESION_RED: [u8; 3] = [235, 30, 30];

/// Whether a name or category describes a lesion.
pub fn is_lesion(text: &str) -> bool {
    let t = text.to_lowercase();
    LESION_WORDS.iter().any(|w| t.contains(w))
}

/// The drawing layer of a segment from its label and category.
pub fn layer_of(label: &str, category: &str) -> Layer {
    if is_lesion(label) || is_lesion(category) {
        Layer::Lesion
    } else {
        Layer::Organ
    }
}

/// The default colour for a segment named `label` with number `number`:
/// red for lesions, a fixed colour for known organs, else the palette.
pub fn default_colour(label: &str, number: u16) -> [u8; 3] {
    if is_lesion(label) {
        return LESION_RED;
    }
    let t = label.to_lowercase();
    if let Some((_, c)) = NAMED.iter().find(|(n, _)| t.contains(n)) {
        return *c;
    }
    PALETTE[usize::from(number) % PALETTE.len()]
}

/// sRGB of a DICOM CIELab triple (each 0..=65535: L* = v·100/65535,
/// a*, b* = v·255/65535 − 128), D65 white point, clamped to the gamut.
pub fn rgb_from_dicom_lab(lab: [u16; 3]) -> [u8; 3] {
    let l = f64::from(lab[0]) * 100.0 / 65535.0;
    let a = f64::from(lab[1]) * 255.0 / 65535.0 - 128.0;
    let b = f64::from(lab[2]) * 255.0 / 65535.0 - 128.0;
    let fy = (l + 16.0) / 116.0;
    let fx = fy + a / 500.0;
    let fz = fy - b / 200.0;
    let finv = |t: f64| {
        if t > 6.0 / 29.0 {
            t * t * t
        } else {
            3.0 * (6.0f64 / 29.0).powi(2) * (t - 4.0 / 29.0)
        }
    };
    let (xn, yn, zn) = (0.950_47, 1.0, 1.088_83);
    let (x, y, z) = (xn * finv(fx), yn * finv(fy), zn * finv(fz));
    let r = 3.240_454_2 * x - 1.537_138_5 * y - 0.498_531_4 * z;
    let g = -0.969_266_0 * x + 1.876_010_8 * y + 0.041_556_0 * z;
    let bl = 0.055_643_4 * x - 0.204_025_9 * y + 1.057_225_2 * z;
    let gamma = |c: f64| {
        let c = c.clamp(0.0, 1.0);
        let v = if c <= 0.003_130_8 {
            12.92 * c
        } else {
            1.055 * c.powf(1.0 / 2.4) - 0.055
        };
        (v * 255.0).round() as u8
    };
    [gamma(r), gamma(g), gamma(bl)]
}

/// DICOM CIELab triple of an sRGB colour (inverse of [`rgb_from_dicom_lab`]).
pub fn dicom_lab_from_rgb(rgb: [u8; 3]) -> [u16; 3] {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(rgb[0]), lin(rgb[1]), lin(rgb[2]));
    let x = 0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175_0 * b;
    let z = 0.019_333_9 * r + 0.119_192_0 * g + 0.950_304_1 * b;
    let f = |t: f64| {
        if t > (6.0f64 / 29.0).powi(3) {
            t.cbrt()
        } else {
            t / (3.0 * (6.0f64 / 29.0).powi(2)) + 4.0 / 29.0
        }
    };
    let (fx, fy, fz) = (f(x / 0.950_47), f(y), f(z / 1.088_83));
    let l = 116.0 * fy - 16.0;
    let a = 500.0 * (fx - fy);
    let bb = 200.0 * (fy - fz);
    let q = |v: f64| v.round().clamp(0.0, 65535.0) as u16;
    [
        q(l * 65535.0 / 100.0),
        q((a + 128.0) * 65535.0 / 255.0),
        q((bb + 128.0) * 65535.0 / 255.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lesions_are_red_and_on_top() {
        assert_eq!(default_colour("Liver tumor", 2), LESION_RED);
        assert_eq!(layer_of("Nodule 1", ""), Layer::Lesion);
        assert_eq!(layer_of("Liver", "Tissue"), Layer::Organ);
        assert_eq!(
            layer_of("Seg 2", "Morphologically Altered Structure"),
            Layer::Organ
        );
        assert_eq!(default_colour("liver", 1), [40, 200, 60]);
    }

    #[test]
    fn lab_round_trip() {
        for rgb in [[0, 0, 0], [255, 255, 255], [40, 200, 60], [235, 30, 30]] {
            let back = rgb_from_dicom_lab(dicom_lab_from_rgb(rgb));
            for k in 0..3 {
                assert!(
                    (i32::from(back[k]) - i32::from(rgb[k])).abs() <= 1,
                    "{rgb:?} {back:?}"
                );
            }
        }
        // dcmqi's liver colour (221, 130, 101) → Lab (43803, 38402, 35987)-ish.
        let c = rgb_from_dicom_lab([43803, 34885, 39215]);
        assert!(c[0] > 150 && c[1] > 90 && c[2] > 60, "{c:?}");
    }
}
