//! The validation report of a series: what the assembler found and did
//! (missing slices, uneven spacing, tilt, excluded localizers...).

use serde::Serialize;

/// How serious an issue is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Severity {
    /// Worth knowing, nothing was changed.
    Info,
    /// The volume was built, but with a correction or an assumption.
    Warning,
    /// The series cannot be loaded.
    Error,
}

/// What kind of irregularity was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum IssueKind {
    /// Gaps of whole slices between positions (filled by interpolation).
    MissingSlices,
    /// Positions deviate from a uniform grid.
    UnevenSpacing,
    /// Several frames at the same position (only the first is used).
    DuplicatePositions,
    /// The slice axis is not perpendicular to the slices (gantry tilt).
    GantryTilt,
    /// Slice origins do not lie on one line.
    NonCollinear,
    /// Frames with another orientation were excluded.
    MixedOrientation,
    /// Frames with another matrix size were excluded.
    MixedMatrix,
    /// Localizer / scout images were excluded.
    LocalizerExcluded,
    /// Positions or orientations missing: sorted by InstanceNumber instead.
    MissingPosition,
    /// PixelSpacing missing: 1 mm assumed.
    MissingPixelSpacing,
    /// PixelSpacing differs between frames.
    MixedPixelSpacing,
    /// SliceThickness differs from the spacing between positions.
    ThicknessMismatch,
    /// BitsStored / PixelRepresentation / rescale differ between slices.
    MixedPixelFormat,
    /// The transfer syntax cannot be decoded.
    UnsupportedTransferSyntax,
    /// The pixel format cannot become HU (colour, 1-bit, ...).
    UnsupportedImage,
    /// Only one slice: the slice spacing is assumed.
    SingleSlice,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Issue {
    /// How serious.
    pub severity: Severity,
    /// What kind.
    pub kind: IssueKind,
    /// A one-line human explanation (no patient identifiers).
    pub message: String,
}

/// All findings for one series.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ValidationReport {
    /// Findings in the order they were made.
    pub issues: Vec<Issue>,
}

impl ValidationReport {
    /// Add a finding.
    pub fn push(&mut self, severity: Severity, kind: IssueKind, message: impl Into<String>) {
        self.issues.push(Issue {
            severity,
            kind,
            message: message.into(),
        });
    }

    /// The most serious severity, `None` when clean.
    pub fn worst(&self) -> Option<Severity> {
        self.issues.iter().map(|i| i.severity).max()
    }

    /// True when an issue of this kind was reported.
    pub fn has(&self, kind: IssueKind) -> bool {
        self.issues.iter().any(|i| i.kind == kind)
    }

    /// Short badge for tables: `ok`, `info`, `warn` or `error`.
    pub fn badge(&self) -> &'static str {
        match self.worst() {
            None => "ok",
            Some(Severity::Info) => "info",
            Some(Severity::Warning) => "warn",
            Some(Severity::Error) => "error",
        }
    }
}
