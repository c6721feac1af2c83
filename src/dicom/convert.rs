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
        let (k, b) = (f.rescale_slope.round(), f.rescale_intercept.round());
        if k.abs() > 16384.0 || b.abs() > 1e9 {
            return fill_from(out, stored.iter().map(|&x| i64::from(x)), f);
        }
        // |stored·k + b| < 2^31: 32-bit arithmetic, which vectorises.
        let (k, b) = (k as i32, b as i32);
        let bits = u32::from(
            if f.bits_stored == 0 {
                f.bits_allocated
            } else {
                f.bits_stored
            }
            .clamp(1, 16),
        );
        let shift = 32 - bits;
        let (mut lo, mut hi) = (i32::MAX, i32::MIN);
        if f.pixel_representation == 1 {
            for (o, &s) in out.iter_mut().zip(stored) {
                let hu = ((i32::from(s) << shift) >> shift) * k + b;
                lo = lo.min(hu);
                hi = hi.max(hu);
                *o = hu as i16;
            }
        } else {
            for (o, &s) in out.iter_mut().zip(stored) {
                let hu = i32::from(s) * k + b;
                lo = lo.min(hu);
                hi = hi.max(hu);
                *o = hu as i16;
            }
        }
        out.is_empty() || (lo >= i32::from(i16::MIN) && hi <= i32::from(i16::MAX))
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
