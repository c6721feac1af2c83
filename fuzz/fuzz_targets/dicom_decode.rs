//! Pixel decoding per transfer syntax: a one-file series is scanned,
//! assembled and decoded to HU (native, deflated, RLE, JPEG baseline and
//! lossless, JPEG-LS, JPEG 2000), as `hounsfield info FILE` does.
#![no_main]

use hounsfield::dicom::load_series;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: hounsfield_fuzz::let_firewalled_panics_unwind(), |data: &[u8]| {
    let path = hounsfield_fuzz::scratch_file("dcm", data);
    let _ = load_series(&path, None, &Default::default());
});
