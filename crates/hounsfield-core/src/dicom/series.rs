//! Assembling the frames of one series into a regular slice grid.
//!
//! Frames are sorted by ImagePositionPatient projected on the slice normal
//! (`col direction × row direction` of ImageOrientationPatient), never by
//! InstanceNumber or file name. Slice spacing comes from positions, never
//! from SliceThickness. Irregularities are reported in a
//! [`ValidationReport`]; gaps of whole slices become [`Slot::Gap`] (filled by
//! interpolation at load), a sheared (gantry-tilted) stack keeps its shear in
//! the geometry's slice axis.

use std::collections::BTreeMap;
use std::path::PathBuf;

use glam::{DMat3, DVec3};

use super::error::DicomError;
use super::header::{FrameHeader, InstanceHeader, ObjectKind};
use super::open::PixelSpan;
use super::report::{IssueKind, Severity, ValidationReport};
use super::transfer_syntax;
use crate::volume::Geometry;

/// Positions closer than this along the normal are the same position.
const DUPLICATE_TOLERANCE_MM: f64 = 0.01;
/// Relative deviation from the grid above which spacing counts as uneven.
const UNEVEN_RELATIVE: f64 = 0.01;
/// Absolute deviation (mm) below which spacing is never reported uneven.
const UNEVEN_ABSOLUTE_MM: f64 = 0.02;
/// Shear angles below this are not reported as tilt.
const TILT_TOLERANCE_DEG: f64 = 0.01;

/// Everything needed to decode one frame into one slice.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameRef {
    /// The file.
    pub path: PathBuf,
    /// Frame index in the file.
    pub frame: u32,
    /// Frames in that file.
    pub frames_in_file: u32,
    /// Transfer syntax UID of the file.
    pub transfer_syntax_uid: String,
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub cols: u32,
    /// BitsAllocated.
    pub bits_allocated: u16,
    /// BitsStored.
    pub bits_stored: u16,
    /// PixelRepresentation (1 = signed).
    pub pixel_representation: u16,
    /// RescaleSlope.
    pub rescale_slope: f64,
    /// RescaleIntercept.
    pub rescale_intercept: f64,
    /// Padding range as stored values.
    pub padding_stored: Option<(f64, f64)>,
    /// Where the file's native pixel data lies (fast path of the loader).
    pub pixel_span: Option<PixelSpan>,
}

/// One slice position of the regular grid.
#[derive(Clone, Debug, PartialEq)]
pub enum Slot {
    /// Decoded from this frame.
    Frame(FrameRef),
    /// No frame here (a missing slice): interpolated from its neighbours.
    Gap,
}

/// A series ready to load: the grid, where each slice comes from, and the
/// report of what was found.
#[derive(Clone, Debug)]
pub struct SeriesLayout {
    /// Placement of the grid (dims `[slices, rows, cols]`).
    pub geometry: Geometry,
    /// One entry per slice, in z order.
    pub slots: Vec<Slot>,
    /// Findings.
    pub report: ValidationReport,
}

impl SeriesLayout {
    /// Number of slices that come from frames (not gaps).
    pub fn frame_count(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Frame(_)))
            .count()
    }
}

struct Candidate<'a> {
    inst: &'a InstanceHeader,
    frame: &'a FrameHeader,
}

impl Candidate<'_> {
    fn to_ref(&self) -> FrameRef {
        FrameRef {
            path: self.inst.path.clone(),
            frame: self.frame.frame,
            frames_in_file: self.inst.number_of_frames,
            transfer_syntax_uid: self.inst.transfer_syntax_uid.clone(),
            rows: self.inst.rows,
            cols: self.inst.cols,
            bits_allocated: self.inst.bits_allocated,
            bits_stored: self.inst.bits_stored,
            pixel_representation: self.inst.pixel_representation,
            rescale_slope: self.frame.rescale_slope,
            rescale_intercept: self.frame.rescale_intercept,
            padding_stored: self.inst.padding_stored,
            pixel_span: self.inst.pixel_span,
        }
    }

    fn order_key(&self) -> (i64, u32) {
        (
            self.inst.instance_number.unwrap_or(i64::MAX),
            self.frame.frame,
        )
    }
}

/// Orientation (rounded to 1e-3), rows, columns: frames with equal keys
/// belong to one stack.
type StackKey = (Option<[i64; 6]>, u32, u32);

/// Key that separates frames of different stacks inside one series.
fn stack_key(inst: &InstanceHeader, f: &FrameHeader) -> StackKey {
    let o = f.orientation.map(|[a, b]| {
        let r = |v: f64| (v * 1000.0).round() as i64;
        [r(a.x), r(a.y), r(a.z), r(b.x), r(b.y), r(b.z)]
    });
    (o, inst.rows, inst.cols)
}

/// Assemble the image frames of one series into a [`SeriesLayout`].
///
/// Non-image instances are ignored. Fails only when nothing loadable is left
/// (no image frames, unsupported pixel format or transfer syntax).
pub fn assemble(instances: &[InstanceHeader]) -> Result<SeriesLayout, DicomError> {
    let mut report = ValidationReport::default();
    let images: Vec<&InstanceHeader> = instances
        .iter()
        .filter(|i| i.kind == ObjectKind::Image && i.rows > 0 && i.cols > 0)
        .collect();
    if images.is_empty() {
        return Err(DicomError::Assemble {
            reason: "the series has no image frames".into(),
        });
    }

    // 1. Localizers out (unless that leaves nothing).
    let non_loc: Vec<&InstanceHeader> = images
        .iter()
        .copied()
        .filter(|i| !i.is_localizer())
        .collect();
    let images = if non_loc.is_empty() || non_loc.len() == images.len() {
        images
    } else {
        report.push(
            Severity::Warning,
            IssueKind::LocalizerExcluded,
            format!(
                "{} localizer image(s) excluded",
                images.len() - non_loc.len()
            ),
        );
        non_loc
    };

    // 2. Partition frames into stacks by orientation and matrix; keep the largest.
    let mut stacks: BTreeMap<StackKey, Vec<Candidate>> = BTreeMap::new();
    for inst in &images {
        for frame in &inst.frames {
            stacks
                .entry(stack_key(inst, frame))
                .or_default()
                .push(Candidate { inst, frame });
        }
    }
    let main_key = stacks
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| b.0.cmp(a.0)))
        .map(|(k, _)| *k)
        .ok_or_else(|| DicomError::Assemble {
            reason: "no frames".into(),
        })?;
    for (key, frames) in &stacks {
        if *key == main_key {
            continue;
        }
        let (kind, what) = if key.1 != main_key.1 || key.2 != main_key.2 {
            (
                IssueKind::MixedMatrix,
                format!("matrix {}x{}", key.2, key.1),
            )
        } else {
            (
                IssueKind::MixedOrientation,
                "another orientation".to_owned(),
            )
        };
        report.push(
            Severity::Warning,
            kind,
            format!("{} frame(s) with {what} excluded", frames.len()),
        );
    }
    let Some(mut frames) = stacks.remove(&main_key) else {
        return Err(DicomError::Assemble {
            reason: "no frames".into(),
        });
    };

    check_pixel_format(&frames, &mut report)?;

    let first = &frames[0];
    let pixel_spacing = pixel_spacing(&frames, &mut report);
    let rows = first.inst.rows as usize;
    let cols = first.inst.cols as usize;

    let with_geometry = frames
        .iter()
        .all(|c| c.frame.position_mm.is_some() && c.frame.orientation.is_some());
    let (slots, origin_mm, dirs, step_mm) = if with_geometry {
        place_by_position(&mut frames, &mut report)
    } else {
        place_by_instance_number(&mut frames, &mut report)
    };

    thickness_note(&frames, step_mm.length(), &mut report);

    let step_len = step_mm.length();
    let step_dir = step_mm.try_normalize().unwrap_or(dirs[0].cross(dirs[1]));
    let geometry = Geometry {
        dims: [slots.len(), rows, cols],
        spacing_mm: DVec3::new(pixel_spacing[1], pixel_spacing[0], step_len),
        origin_mm,
        direction: DMat3::from_cols(dirs[0], dirs[1], step_dir),
    };
    Ok(SeriesLayout {
        geometry,
        slots,
        report,
    })
}

fn check_pixel_format(
    frames: &[Candidate],
    report: &mut ValidationReport,
) -> Result<(), DicomError> {
    let first = frames[0].inst;
    if let Err(e) = transfer_syntax::check_decodable(&first.transfer_syntax_uid, &first.path) {
        report.push(
            Severity::Error,
            IssueKind::UnsupportedTransferSyntax,
            e.to_string(),
        );
        return Err(e);
    }
    for c in frames {
        let i = c.inst;
        let why = if i.samples_per_pixel != 1 {
            Some(format!(
                "{} samples per pixel (colour)",
                i.samples_per_pixel
            ))
        } else if !matches!(i.bits_allocated, 8 | 16 | 32) {
            Some(format!("BitsAllocated {}", i.bits_allocated))
        } else if i
            .photometric
            .as_deref()
            .is_some_and(|p| !p.starts_with("MONOCHROME"))
        {
            Some(format!(
                "photometric interpretation {}",
                i.photometric.as_deref().unwrap_or("")
            ))
        } else {
            None
        };
        if let Some(what) = why {
            report.push(Severity::Error, IssueKind::UnsupportedImage, what.clone());
            return Err(DicomError::UnsupportedImage {
                what,
                path: i.path.clone(),
            });
        }
    }
    let formats: std::collections::BTreeSet<(u16, u16)> = frames
        .iter()
        .map(|c| (c.inst.bits_stored, c.inst.pixel_representation))
        .collect();
    let rescales: std::collections::BTreeSet<(u64, u64)> = frames
        .iter()
        .map(|c| {
            (
                c.frame.rescale_slope.to_bits(),
                c.frame.rescale_intercept.to_bits(),
            )
        })
        .collect();
    if formats.len() > 1 || rescales.len() > 1 {
        report.push(
            Severity::Info,
            IssueKind::MixedPixelFormat,
            format!(
                "slices differ in BitsStored/PixelRepresentation ({} kinds) or rescale ({} kinds); each slice converted with its own",
                formats.len(),
                rescales.len()
            ),
        );
    }
    Ok(())
}

fn pixel_spacing(frames: &[Candidate], report: &mut ValidationReport) -> [f64; 2] {
    let Some(ps) = frames[0].frame.pixel_spacing_mm else {
        report.push(
            Severity::Warning,
            IssueKind::MissingPixelSpacing,
            "PixelSpacing missing: 1 mm assumed",
        );
        return [1.0, 1.0];
    };
    let differs = frames.iter().any(|c| {
        c.frame
            .pixel_spacing_mm
            .is_none_or(|p| (p[0] - ps[0]).abs() > 1e-4 || (p[1] - ps[1]).abs() > 1e-4)
    });
    if differs {
        report.push(
            Severity::Warning,
            IssueKind::MixedPixelSpacing,
            format!(
                "PixelSpacing differs between frames; using {:.4}\\{:.4} mm",
                ps[0], ps[1]
            ),
        );
    }
    ps
}

/// Sort by position along the normal, drop duplicates, find gaps, measure the
/// step. Returns slots, origin, in-plane directions and the slice step vector.
fn place_by_position(
    frames: &mut Vec<Candidate>,
    report: &mut ValidationReport,
) -> (Vec<Slot>, DVec3, [DVec3; 2], DVec3) {
    let [col_dir, row_dir] = frames[0].frame.orientation.unwrap_or([DVec3::X, DVec3::Y]);
    let normal = col_dir.cross(row_dir).try_normalize().unwrap_or(DVec3::Z);
    let dist = |c: &Candidate| c.frame.position_mm.unwrap_or_default().dot(normal);
    // A total order, on distances computed once per frame with every NaN
    // made the one canonical NaN: NaN distances (hostile positions) make a
    // partial order inconsistent, and even `total_cmp` is not stable on
    // them when they are recomputed per comparison (a NaN's payload may
    // differ between two inlined copies of the same arithmetic), which the
    // standard sort may panic on (found by the series_assembly fuzzer).
    let canonical = |d: f64| if d.is_nan() { f64::NAN } else { d };
    let mut keyed: Vec<(f64, Candidate)> =
        frames.drain(..).map(|c| (canonical(dist(&c)), c)).collect();
    keyed.sort_by(|(da, a), (db, b)| {
        da.total_cmp(db)
            .then_with(|| a.order_key().cmp(&b.order_key()))
    });
    frames.extend(keyed.into_iter().map(|(_, c)| c));

    // Duplicates: keep the first (lowest InstanceNumber) at each position.
    let before = frames.len();
    frames.dedup_by(|later, earlier| (dist(later) - dist(earlier)).abs() < DUPLICATE_TOLERANCE_MM);
    if frames.len() < before {
        report.push(
            Severity::Warning,
            IssueKind::DuplicatePositions,
            format!(
                "{} frame(s) repeat a position already present (several acquisitions or phases?); kept the first by InstanceNumber",
                before - frames.len()
            ),
        );
    }

    let positions: Vec<DVec3> = frames
        .iter()
        .map(|c| c.frame.position_mm.unwrap_or_default())
        .collect();
    let origin = positions[0];
    if frames.len() == 1 {
        let step = normal * assumed_spacing(frames[0].inst, report);
        return (
            vec![Slot::Frame(frames[0].to_ref())],
            origin,
            [col_dir, row_dir],
            step,
        );
    }

    let d: Vec<f64> = frames.iter().map(dist).collect();
    let slot_of = grid_slots(&d, report);
    let n_slots = slot_of[frames.len() - 1] + 1;
    let last = frames.len() - 1;
    let step = (positions[last] - positions[0]) / (n_slots - 1) as f64;
    check_regularity(&d, &slot_of, &positions, normal, step, report);

    let mut slots = vec![Slot::Gap; n_slots];
    for (k, c) in frames.iter().enumerate() {
        slots[slot_of[k]] = Slot::Frame(c.to_ref());
    }
    (slots, origin, [col_dir, row_dir], step)
}

/// Slot (grid index) of every sorted frame: gaps are whole multiples of the
/// median gap; frames beyond one step leave [`Slot::Gap`]s, reported.
fn grid_slots(d: &[f64], report: &mut ValidationReport) -> Vec<usize> {
    let mut gaps: Vec<f64> = d.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    let mut slot_of = vec![0usize; d.len()];
    let mut missing = Vec::new();
    // A gap of `d.len() + 2` steps already invents more slices than
    // exist (the irregular case below), so steps are capped there: a zero
    // or denormal median, or positions 1e300 mm apart, cannot overflow.
    let cap = d.len() + 2;
    for k in 1..d.len() {
        let ratio = ((d[k] - d[k - 1]) / median).round().max(1.0);
        let whole = if ratio.is_finite() {
            (ratio as usize).min(cap)
        } else {
            cap
        };
        if whole >= 2 {
            missing.push((slot_of[k - 1] + 1, whole - 1));
        }
        slot_of[k] = slot_of[k - 1] + whole;
    }
    let total: usize = missing.iter().map(|m| m.1).sum();
    if total > d.len() {
        // More slices would be invented than exist: not a few dropped
        // slices but an irregular stack. Keep one slot per frame; the
        // uneven-spacing check reports how far positions deviate.
        report.push(
            Severity::Warning,
            IssueKind::UnevenSpacing,
            format!(
                "gaps between slices range from {:.3} to {:.3} mm: too irregular to fill; slices kept in order on a uniform grid, geometry approximate",
                gaps.first().copied().unwrap_or(0.0),
                gaps.last().copied().unwrap_or(0.0)
            ),
        );
        return (0..d.len()).collect();
    }
    if !missing.is_empty() {
        let at: Vec<String> = missing
            .iter()
            .map(|(s, n)| format!("{n} at slice {s}"))
            .collect();
        report.push(
            Severity::Warning,
            IssueKind::MissingSlices,
            format!(
                "{total} missing slice(s) ({}); filled by linear interpolation",
                at.join(", ")
            ),
        );
    }
    slot_of
}

/// Report uneven spacing, tilt (shear) and slice origins off the stack axis.
fn check_regularity(
    d: &[f64],
    slot_of: &[usize],
    positions: &[DVec3],
    normal: DVec3,
    step: DVec3,
    report: &mut ValidationReport,
) {
    let spacing_along_normal = step.dot(normal);
    let (worst_k, worst_dev) = (0..d.len())
        .map(|k| {
            (
                k,
                (d[k] - d[0] - slot_of[k] as f64 * spacing_along_normal).abs(),
            )
        })
        .fold((0, 0.0), |acc, x| if x.1 > acc.1 { x } else { acc });
    if worst_dev > UNEVEN_ABSOLUTE_MM.max(UNEVEN_RELATIVE * spacing_along_normal.abs()) {
        report.push(
            Severity::Warning,
            IssueKind::UnevenSpacing,
            format!(
                "positions deviate up to {worst_dev:.3} mm (at slice {}) from the uniform {spacing_along_normal:.4} mm grid used",
                slot_of[worst_k]
            ),
        );
    }
    let tilt_deg = step
        .try_normalize()
        .map_or(0.0, |s| s.dot(normal).clamp(-1.0, 1.0).acos().to_degrees());
    if tilt_deg > TILT_TOLERANCE_DEG {
        report.push(
            Severity::Warning,
            IssueKind::GantryTilt,
            format!(
                "slice stack is sheared by {tilt_deg:.2}° (gantry tilt); geometry keeps the shear, resample to get an orthogonal grid"
            ),
        );
    }
    let off_line = (0..d.len())
        .map(|k| (positions[k] - (positions[0] + step * slot_of[k] as f64)).length())
        .fold(0.0, f64::max);
    if off_line > 0.1_f64.max(0.05 * step.length()) {
        report.push(
            Severity::Warning,
            IssueKind::NonCollinear,
            format!("slice origins leave the stack axis by up to {off_line:.2} mm"),
        );
    }
}

/// Fallback when positions or orientations are missing.
fn place_by_instance_number(
    frames: &mut [Candidate],
    report: &mut ValidationReport,
) -> (Vec<Slot>, DVec3, [DVec3; 2], DVec3) {
    report.push(
        Severity::Warning,
        IssueKind::MissingPosition,
        "ImagePositionPatient or ImageOrientationPatient missing: slices ordered by InstanceNumber, spacing from SpacingBetweenSlices/SliceThickness",
    );
    frames.sort_by_key(Candidate::order_key);
    let dirs = frames
        .iter()
        .find_map(|c| c.frame.orientation)
        .unwrap_or([DVec3::X, DVec3::Y]);
    let normal = dirs[0].cross(dirs[1]).try_normalize().unwrap_or(DVec3::Z);
    let origin = frames
        .iter()
        .find_map(|c| c.frame.position_mm)
        .unwrap_or(DVec3::ZERO);
    let spacing = assumed_spacing(frames[0].inst, report);
    let slots = frames.iter().map(|c| Slot::Frame(c.to_ref())).collect();
    (slots, origin, dirs, normal * spacing)
}

fn assumed_spacing(inst: &InstanceHeader, report: &mut ValidationReport) -> f64 {
    let from_tags = inst.spacing_between_slices_mm.filter(|s| *s > 0.0).or(inst
        .frames
        .first()
        .and_then(|f| f.slice_thickness_mm)
        .filter(|s| *s > 0.0));
    let spacing = from_tags.unwrap_or(1.0);
    if inst.frames.len() == 1 && inst.number_of_frames == 1 {
        report.push(
            Severity::Info,
            IssueKind::SingleSlice,
            format!("slice spacing {spacing} mm assumed (from tags, or 1 mm)"),
        );
    }
    spacing
}

fn thickness_note(frames: &[Candidate], spacing_mm: f64, report: &mut ValidationReport) {
    if frames.len() < 2 {
        return;
    }
    if let Some(t) = frames[0].frame.slice_thickness_mm
        && (t - spacing_mm).abs() > 0.01 * spacing_mm.max(1e-6)
    {
        report.push(
            Severity::Info,
            IssueKind::ThicknessMismatch,
            format!(
                "SliceThickness {t} mm differs from the {spacing_mm:.4} mm between positions; positions used"
            ),
        );
    }
}

#[cfg(test)]
mod tests;
