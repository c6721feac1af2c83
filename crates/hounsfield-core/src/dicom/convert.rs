//! Stored pixel values → HU for one frame: sign extension from BitsStored,
//! RescaleSlope/Intercept, into `i16` (integral rescale; out-of-range values
//! are detected, the caller then falls back to `f32`) or `f32`.
//! Monomorphic per sample layout so the inner loops stay tight.

use std::borrow::Cow;
use std::path::Path;

use super::error::DicomError;
use super::series::FrameRef;

/// Stored sample values of a file, borrowed when the file is native.
pub(crate) enum Samples<'a> {
    /// 8-bit values.
    U8(Cow<'a, [u8]>),
    /// 16-bit values read as unsigned.
    U16(Cow<'a, [u16]>),
    /// 16-bit values read as signed.
    I16(Cow<'a, [i16]>),
    /// Little-endian bytes of `BitsAllocated` (8, 16 or 32) bit samples.
    Bytes(Cow<'a, [u8]>, u16),
}

impl Samples<'_> {
    /// Number of samples.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::U8(v) => v.len(),
            Self::U16(v) => v.len(),
            Self::I16(v) => v.len(),
            Self::Bytes(v, bits) => v.len() / usize::from(bits.div_ceil(8).max(1)),
        }
    }
}

/// Why filling a volume stopped.
pub(crate) enum FillError {
    /// A HU value does not fit the output type (the caller retries as `f32`).
    OutOfRange,
    /// Reading or decoding failed.
    Dicom(DicomError),
}

impl From<DicomError> for FillError {
    fn from(e: DicomError) -> Self {
        Self::Dicom(e)
    }
}

/// An output voxel type: how stored values become HU.
pub(crate) trait HuSample: Copy + Default + Send + Sync + 'static {
    /// Convert `stored` (already sign-extended) into `out`; `false` when a
    /// value does not fit.
    fn fill(
        out: &mut [Self],
        stored: impl Iterator<Item = i64>,
        slope: f64,
        intercept: f64,
    ) -> bool;
    /// Linear interpolation (gap slices).
    fn lerp(a: Self, b: Self, t: f64) -> Self;
    /// Convert 16-bit samples (the common CT case); the default goes
    /// through [`HuSample::fill`].
    fn fill_u16(out: &mut [Self], stored: &[u16], f: &FrameRef) -> bool {
        fill_from(out, stored.iter().map(|&x| i64::from(x)), f)
    }
    /// The output reinterpreted as 16-bit storage, so stored samples can be
    /// read straight into it and converted in place; `None` when the type
    /// cannot hold them.
    fn as_u16_storage(_out: &mut [Self]) -> Option<&mut [u16]> {
        None
    }
    /// Convert stored 16-bit samples read by [`HuSample::as_u16_storage`]
    /// in place.
    fn convert_u16_in_place(_out: &mut [Self], _f: &FrameRef) -> bool {
        false
    }
}

/// Integral rescale in 32-bit arithmetic: `|stored·k + b| < 2^31` for
/// 16-bit samples when `|k| ≤ 2^14` and `|b| ≤ 10^9`, and the loop
/// vectorises.
struct I16Rescale {
    k: i32,
    b: i32,
    /// Shift for sign extension from BitsStored (`None` when unsigned).
    sign_shift: Option<u32>,
}

impl I16Rescale {
    fn new(f: &FrameRef) -> Option<Self> {
        let (k, b) = (f.rescale_slope.round(), f.rescale_intercept.round());
        if k.abs() > 16384.0 || b.abs() > 1e9 {
            return None;
        }
        let bits = u32::from(
            if f.bits_stored == 0 {
                f.bits_allocated
            } else {
                f.bits_stored
            }
            .clamp(1, 16),
        );
        Some(Self {
            k: k as i32,
            b: b as i32,
            sign_shift: (f.pixel_representation == 1).then_some(32 - bits),
        })
    }

    /// HU of one stored sample, and whether it falls outside `i16` (the
    /// bits above 16 of `hu + 32768`: an OR-reduction that vectorises even
    /// on baseline SSE2, where 32-bit min/max does not).
    #[inline]
    fn one(&self, s: u16) -> (i16, u32) {
        let v = match self.sign_shift {
            Some(shift) => (i32::from(s) << shift) >> shift,
            None => i32::from(s),
        };
        let hu = v * self.k + self.b;
        (hu as i16, (hu + 32768) as u32 >> 16)
    }

    /// `out[i] = HU(stored[i])`; `false` when a value does not fit `i16`.
    fn apply_from(&self, out: &mut [i16], stored: &[u16]) -> bool {
        let mut outside = 0u32;
        for (o, &s) in out.iter_mut().zip(stored) {
            let (hu, bad) = self.one(s);
            *o = hu;
            outside |= bad;
        }
        outside == 0
    }

    /// `out[i] = HU(out[i] as stored u16)`, in place.
    fn apply_in_place(&self, out: &mut [i16]) -> bool {
        let mut outside = 0u32;
        for o in out.iter_mut() {
            let (hu, bad) = self.one(*o as u16);
            *o = hu;
            outside |= bad;
        }
        outside == 0
    }
}

impl HuSample for i16 {
    fn fill(
        out: &mut [Self],
        stored: impl Iterator<Item = i64>,
        slope: f64,
        intercept: f64,
    ) -> bool {
        // Integral rescale (checked by the caller): exact integer arithmetic,
        // range checked once per frame.
        let (k, b) = (slope.round() as i64, intercept.round() as i64);
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (o, s) in out.iter_mut().zip(stored) {
            let hu = s * k + b;
            lo = lo.min(hu);
            hi = hi.max(hu);
            *o = hu as i16;
        }
        out.is_empty() || (lo >= i64::from(i16::MIN) && hi <= i64::from(i16::MAX))
    }
    fn lerp(a: Self, b: Self, t: f64) -> Self {
        (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as i16
    }
    fn fill_u16(out: &mut [Self], stored: &[u16], f: &FrameRef) -> bool {
        let Some(rescale) = I16Rescale::new(f) else {
            return fill_from(out, stored.iter().map(|&x| i64::from(x)), f);
        };
        rescale.apply_from(out, stored)
    }
    fn as_u16_storage(out: &mut [Self]) -> Option<&mut [u16]> {
        Some(bytemuck::cast_slice_mut(out))
    }
    fn convert_u16_in_place(out: &mut [Self], f: &FrameRef) -> bool {
        let Some(rescale) = I16Rescale::new(f) else {
            let stored: Vec<u16> = out.iter().map(|&v| v as u16).collect();
            return fill_from(out, stored.iter().map(|&x| i64::from(x)), f);
        };
        rescale.apply_in_place(out)
    }
}

impl HuSample for f32 {
    fn fill(
        out: &mut [Self],
        stored: impl Iterator<Item = i64>,
        slope: f64,
        intercept: f64,
    ) -> bool {
        for (o, s) in out.iter_mut().zip(stored) {
            *o = (s as f64 * slope + intercept) as f32;
        }
        true
    }
    fn lerp(a: Self, b: Self, t: f64) -> Self {
        (f64::from(a) + (f64::from(b) - f64::from(a)) * t) as f32
    }
}

/// Sign-extend a value stored in `bits` bits.
#[inline]
fn sign_extend(v: i64, bits: u16) -> i64 {
    let shift = 64 - u32::from(bits.clamp(1, 64));
    (v << shift) >> shift
}

/// Fill `out` with samples `start..start + out.len()` in HU.
fn fill_from<T: HuSample>(out: &mut [T], stored: impl Iterator<Item = i64>, f: &FrameRef) -> bool {
    let bits = if f.bits_stored == 0 {
        f.bits_allocated
    } else {
        f.bits_stored
    };
    if f.pixel_representation == 1 {
        T::fill(
            out,
            stored.map(|s| sign_extend(s, bits)),
            f.rescale_slope,
            f.rescale_intercept,
        )
    } else {
        T::fill(out, stored, f.rescale_slope, f.rescale_intercept)
    }
}

/// Convert frame samples `start..start + out.len()` into HU.
pub(crate) fn convert_frame<T: HuSample>(
    all: &Samples,
    start: usize,
    f: &FrameRef,
    out: &mut [T],
    path: &Path,
) -> Result<(), FillError> {
    let n = out.len();
    let ok = match all {
        Samples::U16(v) => T::fill_u16(out, &v[start..start + n], f),
        Samples::I16(v) => fill_from(
            out,
            v[start..start + n].iter().map(|&x| i64::from(x as u16)),
            f,
        ),
        Samples::U8(v) => fill_from(out, v[start..start + n].iter().map(|&x| i64::from(x)), f),
        Samples::Bytes(v, 8) => {
            fill_from(out, v[start..start + n].iter().map(|&x| i64::from(x)), f)
        }
        Samples::Bytes(v, 16) => fill_from(
            out,
            v[start * 2..(start + n) * 2]
                .chunks_exact(2)
                .map(|c| i64::from(u16::from_le_bytes([c[0], c[1]]))),
            f,
        ),
        Samples::Bytes(v, 32) => fill_from(
            out,
            v[start * 4..(start + n) * 4]
                .chunks_exact(4)
                .map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            f,
        ),
        Samples::Bytes(_, other) => {
            return Err(FillError::Dicom(DicomError::UnsupportedImage {
                what: format!("BitsAllocated {other}"),
                path: path.to_owned(),
            }));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(FillError::OutOfRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bits_stored: u16, signed: bool, slope: f64, intercept: f64) -> FrameRef {
        FrameRef {
            path: "x.dcm".into(),
            frame: 0,
            frames_in_file: 1,
            transfer_syntax_uid: "1.2.840.10008.1.2".into(),
            rows: 1,
            cols: 4,
            bits_allocated: 16,
            bits_stored,
            pixel_representation: u16::from(signed),
            rescale_slope: slope,
            rescale_intercept: intercept,
            padding_stored: None,
            pixel_span: None,
        }
    }

    #[test]
    fn unsigned_and_sign_extended_samples_become_hu() {
        let f = frame(12, false, 1.0, -1024.0);
        let mut out = [0i16; 4];
        assert!(i16::fill_u16(&mut out, &[0, 1024, 4095, 2000], &f));
        assert_eq!(out, [-1024, 0, 3071, 976]);
        // 12-bit two's complement: 0x0FFF is −1, 0x0800 is −2048.
        let f = frame(12, true, 2.0, 10.0);
        let mut out = [0x0FFFu16 as i16, 0x0800, 5, 0];
        assert!(i16::convert_u16_in_place(&mut out, &f));
        assert_eq!(out, [8, -4086, 20, 10]);
        let mut g = [0f32; 4];
        assert!(f32::fill_u16(&mut g, &[0x0FFF, 0x0800, 5, 0], &f));
        assert!(
            g.iter()
                .zip([8.0, -4086.0, 20.0, 10.0])
                .all(|(a, b)| (a - b).abs() < 1e-6)
        );
    }

    #[test]
    fn values_beyond_i16_are_detected_for_the_f32_fallback() {
        let f = frame(16, false, 1.0, 0.0);
        let mut out = [0i16; 2];
        assert!(!i16::fill_u16(&mut out, &[100, 65535], &f));
        let mut out = [100u16 as i16, 65535u16 as i16];
        assert!(!i16::convert_u16_in_place(&mut out, &f));
        // A slope too large for 32-bit arithmetic takes the 64-bit path.
        let f = frame(16, false, 40000.0, 0.0);
        let mut out = [0i16; 2];
        assert!(i16::fill_u16(&mut out, &[0, 0], &f));
        assert!(!i16::fill_u16(&mut out, &[0, 1], &f));
    }
}
