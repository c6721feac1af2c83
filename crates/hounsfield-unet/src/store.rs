//! Model and checkpoint files: a small container around burn's burnpack records.
//!
//! burn 0.22 dropped the generic recorders (named MessagePack and others); a module's weights
//! are a `ModuleRecord` serialised as burnpack, and the optimiser's state an `OptimizerRecord`.
//! Neither carries the network's configuration, so a file here is:
//!
//! ```text
//! b"HFUNET\0\x01"                     magic and format version 1
//! u64 LE n, n bytes of JSON            header: kind ("model" | "checkpoint"), UnetConfig, info, …
//! u64 LE n, n bytes                    section 1: the model's burnpack record
//! [u64 LE n, n bytes]                  section 2 (checkpoints): the optimiser's burnpack record
//! ```
//!
//! Declared lengths are checked against the file size before anything is allocated. Files are
//! written atomically (temporary file in the same folder, then rename).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::UnetError;
use crate::config::UnetConfig;
use crate::model::Unet;

const MAGIC: &[u8; 8] = b"HFUNET\0\x01";
/// Largest header accepted, in bytes.
const MAX_HEADER_BYTES: u64 = 16 << 20;
/// Largest model or checkpoint file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// What is known about how a model was trained (free-form, stored in the header).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelInfo {
    /// Epochs trained.
    pub epochs: usize,
    /// Slices seen per epoch.
    pub train_slices: usize,
    /// Validation Dice after the last epoch, when there was a validation set.
    pub val_dice: Option<f64>,
    /// Anything else (data, command line).
    pub notes: String,
}

#[derive(Serialize, Deserialize)]
struct ModelHeader {
    kind: String,
    config: UnetConfig,
    #[serde(default)]
    info: ModelInfo,
}

/// A network with its configuration: what a model file holds.
#[derive(Debug)]
pub struct UnetModel {
    /// The architecture and input size.
    pub config: UnetConfig,
    /// Provenance.
    pub info: ModelInfo,
    /// The weights.
    pub net: Unet,
    /// Where the weights live (an autodiff device while training).
    pub device: Device,
}

impl UnetModel {
    /// A freshly initialised model (weights from `config.seed`).
    pub fn new(config: UnetConfig, device: &Device) -> Result<Self, UnetError> {
        config.validate()?;
        let net = Unet::new(&config, device);
        Ok(Self {
            config,
            info: ModelInfo::default(),
            net,
            device: device.clone(),
        })
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, UnetError> {
        let header = ModelHeader {
            kind: "model".to_owned(),
            config: self.config.clone(),
            info: self.info.clone(),
        };
        let weights = record_bytes(&self.net)?;
        write_container(&header, &[&weights])
    }

    /// Reads a model file's bytes onto `device`.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self, UnetError> {
        let (header, sections): (ModelHeader, _) = read_container(bytes)?;
        if header.kind != "model" && header.kind != "checkpoint" {
            return Err(UnetError::Format(format!("unknown kind {:?}", header.kind)));
        }
        let Some(weights) = sections.first() else {
            return Err(UnetError::Format("no weights section".to_owned()));
        };
        let mut model = Self::new(header.config, device)?;
        model.info = header.info;
        model.net = load_record(model.net, weights)?;
        Ok(model)
    }

    /// Writes the model file atomically.
    pub fn save(&self, path: &Path) -> Result<(), UnetError> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Reads a model file (or the model of a checkpoint) onto `device`.
    pub fn load(path: &Path, device: &Device) -> Result<Self, UnetError> {
        Self::from_bytes(&read_limited(path)?, device)
    }
}

/// The burnpack bytes of a module's parameters (including batch-norm running statistics).
pub(crate) fn record_bytes<M: Module>(module: &M) -> Result<Vec<u8>, UnetError> {
    let bytes = module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|err| UnetError::Record(err.to_string()))?;
    Ok(bytes.to_vec())
}

/// Applies burnpack bytes to a module of the same architecture.
pub(crate) fn load_record<M: Module>(module: M, bytes: &[u8]) -> Result<M, UnetError> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|err| UnetError::Record(err.to_string()))?;
    module
        .try_load_record(record)
        .map_err(|err| UnetError::Record(err.to_string()))
}

/// Header JSON and sections → container bytes.
pub(crate) fn write_container<H: Serialize>(
    header: &H,
    sections: &[&[u8]],
) -> Result<Vec<u8>, UnetError> {
    let json = serde_json::to_vec(header).map_err(|err| UnetError::Format(err.to_string()))?;
    let total = MAGIC.len() + 8 + json.len() + sections.iter().map(|s| 8 + s.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for section in sections {
        out.extend_from_slice(&(section.len() as u64).to_le_bytes());
        out.extend_from_slice(section);
    }
    Ok(out)
}

/// Container bytes → header and section slices, every length checked.
pub(crate) fn read_container<H: DeserializeOwned>(
    bytes: &[u8],
) -> Result<(H, Vec<&[u8]>), UnetError> {
    let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
        return Err(UnetError::Format(
            "not a hounsfield UNet file (bad magic)".to_owned(),
        ));
    };
    let (json, mut rest) = take_section(rest, MAX_HEADER_BYTES)?;
    let header =
        serde_json::from_slice(json).map_err(|err| UnetError::Format(format!("header: {err}")))?;
    let mut sections = Vec::new();
    while !rest.is_empty() {
        let (section, after) = take_section(rest, u64::MAX)?;
        sections.push(section);
        rest = after;
    }
    Ok((header, sections))
}

fn take_section(bytes: &[u8], max: u64) -> Result<(&[u8], &[u8]), UnetError> {
    let Some((length, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(UnetError::Format("truncated section length".to_owned()));
    };
    let length = u64::from_le_bytes(*length);
    if length > max || length > rest.len() as u64 {
        return Err(UnetError::Format(format!(
            "section of {length} bytes in {} remaining",
            rest.len()
        )));
    }
    Ok(rest.split_at(length as usize))
}

/// Reads a whole file after checking its size against [`MAX_FILE_BYTES`].
pub(crate) fn read_limited(path: &Path) -> Result<Vec<u8>, UnetError> {
    let io = |source| UnetError::Io {
        op: "read",
        source,
        path: path.to_path_buf(),
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(UnetError::Format(format!(
            "{size} bytes is larger than {MAX_FILE_BYTES}"
        )));
    }
    std::fs::read(path).map_err(io)
}

/// Writes through a temporary file in the same folder, then renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), UnetError> {
    let name = path
        .file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    let temp: PathBuf = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let io = |op, source| UnetError::Io {
        op,
        source,
        path: path.to_path_buf(),
    };
    let result = (|| {
        let mut file = std::fs::File::create(&temp).map_err(|e| io("create", e))?;
        file.write_all(bytes).map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("sync", e))?;
        std::fs::rename(&temp, path).map_err(|e| io("rename", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_round_trip_and_corruption() {
        let bytes = write_container(&serde_json::json!({"a": 1}), &[b"xyz", b""]).unwrap();
        let (header, sections): (serde_json::Value, _) = read_container(&bytes).unwrap();
        assert_eq!(header["a"], 1);
        assert_eq!(sections, vec![b"xyz".as_slice(), b"".as_slice()]);
        assert!(read_container::<serde_json::Value>(&bytes[..bytes.len() - 1]).is_err());
        assert!(read_container::<serde_json::Value>(b"HFUNET\0\x02").is_err());
        let mut huge = bytes.clone();
        huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(read_container::<serde_json::Value>(&huge).is_err());
    }
}
