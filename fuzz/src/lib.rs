//! Shared helpers of the fuzz targets: the readers take paths, so each input
//! is written to one file per process (under `TMPDIR`; `bench/fuzz.sh` points
//! it at a tmpfs) and read back from there.

use std::path::PathBuf;

/// Write `data` to this process's scratch file with extension `ext` and
/// return its path. Panics only if the scratch folder is unusable (a broken
/// harness, not a finding).
pub fn scratch_file(ext: &str, data: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("hf-fuzz-{}.{ext}", std::process::id()));
    std::fs::write(&path, data).expect("scratch file writable");
    path
}

/// Replace libFuzzer's abort-on-every-panic hook (call from `init:`) with
/// one that lets a panic inside hounsfield's decoder firewall unwind to it,
/// where it becomes an error as it does for users (the known dicom-rs RLE
/// panic, docs/upstream.md); every other panic still aborts: a finding.
pub fn let_firewalled_panics_unwind() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !hounsfield::dicom::codec::inside_firewall() {
            abort(info);
        }
    }));
}

/// A little-endian cursor over fuzz bytes that yields zeros once empty.
pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    /// The next byte (0 when exhausted).
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// The next `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// The next `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// A float: mostly small values in `[-512, 512)`, sometimes a raw bit
    /// pattern (NaN, infinities, huge values).
    pub fn f64(&mut self) -> f64 {
        let tag = self.u8();
        if tag < 8 {
            f64::from_bits(u64::from(self.u32()) << 32 | u64::from(self.u32()))
        } else {
            f64::from(self.u16() as i16) / 64.0
        }
    }

    /// Whether bytes are left.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
