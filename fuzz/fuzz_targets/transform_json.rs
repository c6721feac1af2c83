//! The registration transform JSON reader.
#![no_main]

use hounsfield::register::transform::TransformFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = TransformFile::parse(text);
    }
});
