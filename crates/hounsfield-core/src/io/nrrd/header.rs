//! NRRD header parsing (private to [`super`]): the magic line, the fields,
//! and their translation into a sample layout and an LPS [`Geometry`].
//!
//! Field names are matched case-insensitively with spaces removed
//! (`byte skip` = `byteskip`); `key:=value` pairs and `#` comments are
//! skipped; a field given twice is an error.

use std::io::{self, BufRead, Read as _};
use std::path::Path;

use glam::{DMat3, DVec3};

use crate::io::IoError;
use crate::io::raw::{ByteOrder, ScalarType};
use crate::volume::Geometry;

/// Largest header accepted, in bytes.
const MAX_HEADER_BYTES: u64 = 1 << 20;

pub(super) enum HeaderError {
    Io(io::Error),
    Format(String),
}

/// Reads the magic line and the header lines up to the blank line (or end of
/// file, for a detached header). Returns the lines after the magic, without
/// terminators. Leaves `reader` at the first byte of attached data.
pub(super) fn read_header_lines(reader: &mut impl BufRead) -> Result<Vec<String>, HeaderError> {
    let mut limited = reader.take(MAX_HEADER_BYTES);
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    let mut first = true;
    loop {
        buf.clear();
        let n = limited
            .read_until(b'\n', &mut buf)
            .map_err(HeaderError::Io)?;
        if n == 0 {
            if limited.limit() == 0 {
                return Err(HeaderError::Format(format!(
                    "header longer than {MAX_HEADER_BYTES} bytes"
                )));
            }
            if first {
                return Err(HeaderError::Format("empty file".into()));
            }
            break; // end of file: a detached header
        }
        if buf.last() != Some(&b'\n') && limited.limit() == 0 {
            return Err(HeaderError::Format(format!(
                "header longer than {MAX_HEADER_BYTES} bytes"
            )));
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if first {
            first = false;
            let version = line.strip_prefix("NRRD000");
            if !version.is_some_and(|v| v.len() == 1 && v.as_bytes()[0].is_ascii_digit()) {
                return Err(HeaderError::Format("not a NRRD file (bad magic)".into()));
            }
            continue;
        }
        if line.is_empty() {
            break;
        }
        lines.push(line.to_owned());
    }
    Ok(lines)
}

/// Where the samples are and how they are encoded.
#[derive(Debug)]
pub(super) struct Header {
    pub(super) scalar: ScalarType,
    /// Axis sizes fastest first: `[ncol, nrow, nslice]`.
    pub(super) sizes: [usize; 3],
    pub(super) gzip: bool,
    pub(super) order: ByteOrder,
    /// `None` means `-1`: the data are the last bytes of the file.
    pub(super) byte_skip: Option<u64>,
    pub(super) line_skip: u64,
    pub(super) data_file: Option<String>,
    /// Per-axis space direction vectors (in the file's space) and origin.
    space: Option<SpaceInfo>,
    spacings: Option<[f64; 3]>,
}

#[derive(Debug)]
struct SpaceInfo {
    /// Maps the file's space to LPS (a diagonal sign flip).
    lps_from_space: DMat3,
    directions: Option<[DVec3; 3]>,
    origin: Option<DVec3>,
}

impl Header {
    pub(super) fn parse(lines: &[String], path: &Path) -> Result<Self, IoError> {
        let fmt = |reason: String| IoError::format(path, reason);
        let unsupported = |what: String| IoError::unsupported(path, what);

        let mut fields: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(fmt(format!("header line without ':': {line:?}")));
            };
            if value.starts_with('=') {
                continue; // a key/value pair, not a field
            }
            let key: String = key
                .chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect();
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(fmt(format!("field {key:?} given twice")));
            }
            fields.push((key, value.trim().to_owned()));
        }
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let require = |key: &str| get(key).ok_or_else(|| fmt(format!("missing field {key:?}")));

        let dimension = require("dimension")?;
        if dimension != "3" {
            return Err(unsupported(format!("NRRD dimension {dimension} (need 3)")));
        }
        let scalar = parse_type(require("type")?, path)?;
        let sizes = parse_sizes(require("sizes")?).map_err(fmt)?;

        let encoding = require("encoding")?;
        let gzip = match encoding.to_ascii_lowercase().as_str() {
            "raw" => false,
            "gzip" | "gz" => true,
            other => return Err(unsupported(format!("NRRD encoding {other:?}"))),
        };
        let order = match get("endian").map(str::to_ascii_lowercase).as_deref() {
            Some("little") => ByteOrder::Little,
            Some("big") => ByteOrder::Big,
            Some(other) => return Err(fmt(format!("bad endian {other:?}"))),
            None if scalar.size() == 1 => ByteOrder::Little,
            None => return Err(fmt("missing field \"endian\"".into())),
        };
        let byte_skip = match get("byteskip") {
            None => Some(0),
            Some("-1") if !gzip => None,
            Some("-1") => {
                return Err(fmt("byte skip -1 is only allowed with raw encoding".into()));
            }
            Some(s) => Some(
                s.parse::<u64>()
                    .map_err(|_| fmt(format!("bad byte skip {s:?}")))?,
            ),
        };
        let line_skip = match get("lineskip") {
            None => 0,
            Some(s) => s
                .parse::<u64>()
                .map_err(|_| fmt(format!("bad line skip {s:?}")))?,
        };
        let data_file = get("datafile").map(str::to_owned);

        check_kinds_and_units(get("kinds"), get("spaceunits"), path)?;

        let space = parse_space(get("space"), get("spacedimension"), path)?;
        let space = match space {
            None => None,
            Some(lps_from_space) => Some(SpaceInfo {
                lps_from_space,
                directions: get("spacedirections")
                    .map(|s| parse_directions(s).map_err(fmt))
                    .transpose()?,
                origin: get("spaceorigin")
                    .map(|s| parse_vector(s).map_err(fmt))
                    .transpose()?,
            }),
        };
        let spacings = get("spacings")
            .map(|s| parse_spacings(s).map_err(fmt))
            .transpose()?;

        Ok(Self {
            scalar,
            sizes,
            gzip,
            order,
            byte_skip,
            line_skip,
            data_file,
            space,
            spacings,
        })
    }

    /// The LPS geometry of the grid.
    pub(super) fn geometry(&self, path: &Path) -> Result<Geometry, IoError> {
        let dims = [self.sizes[2], self.sizes[1], self.sizes[0]];
        let space_vectors = self.space.as_ref().and_then(|s| {
            s.directions.map(|d| {
                let o = s.origin.unwrap_or(DVec3::ZERO);
                let f = s.lps_from_space;
                ([f * d[0], f * d[1], f * d[2]], f * o)
            })
        });
        if let Some((vectors, origin_mm)) = space_vectors {
            let mut cols = [DVec3::ZERO; 3];
            let mut spacing = [0.0; 3];
            for (axis, v) in vectors.iter().enumerate() {
                let len = v.length();
                cols[axis] = v.try_normalize().ok_or_else(|| {
                    IoError::format(path, format!("space direction of axis {axis} is zero"))
                })?;
                spacing[axis] = len;
            }
            return Ok(Geometry {
                dims,
                spacing_mm: DVec3::from_array(spacing),
                origin_mm,
                direction: DMat3::from_cols(cols[0], cols[1], cols[2]),
            });
        }

        // No space directions: axis-aligned, from `spacings` (default 1 mm).
        let lps_from_space = self
            .space
            .as_ref()
            .map_or(DMat3::IDENTITY, |s| s.lps_from_space);
        let origin_mm = self
            .space
            .as_ref()
            .and_then(|s| s.origin)
            .map_or(DVec3::ZERO, |o| lps_from_space * o);
        let mut spacing = [1.0; 3];
        let mut signs = [1.0; 3];
        if let Some(s) = self.spacings {
            for axis in 0..3 {
                if s[axis].is_finite() && s[axis] != 0.0 {
                    spacing[axis] = s[axis].abs();
                    signs[axis] = s[axis].signum();
                }
            }
        }
        Ok(Geometry {
            dims,
            spacing_mm: DVec3::from_array(spacing),
            origin_mm,
            direction: lps_from_space * DMat3::from_diagonal(DVec3::from_array(signs)),
        })
    }
}

/// Rejects non-spatial axes and units other than millimetres.
fn check_kinds_and_units(
    kinds: Option<&str>,
    units: Option<&str>,
    path: &Path,
) -> Result<(), IoError> {
    if let Some(kinds) = kinds {
        let kinds: Vec<&str> = kinds.split_whitespace().collect();
        if kinds.len() != 3 {
            return Err(IoError::format(
                path,
                format!("{} kinds for 3 axes", kinds.len()),
            ));
        }
        for kind in kinds {
            let lower = kind.to_ascii_lowercase();
            if !matches!(lower.as_str(), "domain" | "space" | "???" | "none") {
                return Err(IoError::unsupported(
                    path,
                    format!("non-spatial axis kind {kind:?}"),
                ));
            }
        }
    }
    if let Some(units) = units {
        for unit in units.split_whitespace() {
            let unit = unit.trim_matches('"');
            if !unit.is_empty() && !unit.eq_ignore_ascii_case("mm") {
                return Err(IoError::unsupported(
                    path,
                    format!("space unit {unit:?} (need mm)"),
                ));
            }
        }
    }
    Ok(())
}

/// The scalar type of a NRRD `type` field (every spelling in the format
/// specification).
fn parse_type(value: &str, path: &Path) -> Result<ScalarType, IoError> {
    let norm = value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    Ok(match norm.as_str() {
        "signed char" | "int8" | "int8_t" => ScalarType::I8,
        "uchar" | "unsigned char" | "uint8" | "uint8_t" => ScalarType::U8,
        "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => {
            ScalarType::I16
        }
        "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => {
            ScalarType::U16
        }
        "int" | "signed int" | "int32" | "int32_t" => ScalarType::I32,
        "uint" | "unsigned int" | "uint32" | "uint32_t" => ScalarType::U32,
        "float" => ScalarType::F32,
        "double" => ScalarType::F64,
        "longlong"
        | "long long"
        | "long long int"
        | "signed long long"
        | "signed long long int"
        | "int64"
        | "int64_t"
        | "ulonglong"
        | "unsigned long long"
        | "unsigned long long int"
        | "uint64"
        | "uint64_t"
        | "block" => {
            return Err(IoError::unsupported(path, format!("NRRD type {value:?}")));
        }
        _ => {
            return Err(IoError::format(
                path,
                format!("unknown NRRD type {value:?}"),
            ));
        }
    })
}

fn parse_sizes(value: &str) -> Result<[usize; 3], String> {
    let sizes = value
        .split_whitespace()
        .map(|s| match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("bad size {s:?}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    <[usize; 3]>::try_from(sizes).map_err(|s| format!("{} sizes for 3 axes", s.len()))
}

fn parse_spacings(value: &str) -> Result<[f64; 3], String> {
    let v = value
        .split_whitespace()
        .map(|s| s.parse::<f64>().map_err(|_| format!("bad spacing {s:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    <[f64; 3]>::try_from(v).map_err(|v| format!("{} spacings for 3 axes", v.len()))
}

/// The sign flip taking the file's space to LPS, or `None` without a space.
fn parse_space(
    space: Option<&str>,
    space_dimension: Option<&str>,
    path: &Path,
) -> Result<Option<DMat3>, IoError> {
    let flip = |x: f64, y: f64| DMat3::from_diagonal(DVec3::new(x, y, 1.0));
    let Some(space) = space else {
        return match space_dimension {
            None => Ok(None),
            Some("3") => Ok(Some(DMat3::IDENTITY)),
            Some(d) => Err(IoError::unsupported(path, format!("space dimension {d}"))),
        };
    };
    if space_dimension.is_some() {
        return Err(IoError::format(
            path,
            "both \"space\" and \"space dimension\" given",
        ));
    }
    Ok(Some(match space.to_ascii_lowercase().as_str() {
        "left-posterior-superior"
        | "lps"
        | "scanner-xyz"
        | "3d-right-handed"
        | "3d-left-handed" => DMat3::IDENTITY,
        "right-anterior-superior" | "ras" => flip(-1.0, -1.0),
        "left-anterior-superior" | "las" => flip(1.0, -1.0),
        _ => return Err(IoError::unsupported(path, format!("NRRD space {space:?}"))),
    }))
}

/// A `(x,y,z)` vector.
fn parse_vector(value: &str) -> Result<DVec3, String> {
    let inner = value
        .trim()
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .ok_or_else(|| format!("bad vector {value:?}"))?;
    let v = inner
        .split(',')
        .map(|s| match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(format!("bad number {s:?} in vector {value:?}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let v = <[f64; 3]>::try_from(v).map_err(|_| format!("vector {value:?} is not 3-D"))?;
    Ok(DVec3::from_array(v))
}

/// `space directions: (..) (..) (..)`; `none` is rejected (all axes are
/// spatial here).
fn parse_directions(value: &str) -> Result<[DVec3; 3], String> {
    let mut out = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        if rest.starts_with("none") {
            return Err(format!("axis {} has no space direction", out.len()));
        } else if rest.starts_with('(') {
            let end = rest
                .find(')')
                .ok_or_else(|| format!("bad space directions {value:?}"))?;
            out.push(parse_vector(&rest[..=end])?);
            rest = rest[end + 1..].trim_start();
        } else {
            return Err(format!("bad space directions {value:?}"));
        }
    }
    <[DVec3; 3]>::try_from(out).map_err(|v| format!("{} space directions for 3 axes", v.len()))
}
