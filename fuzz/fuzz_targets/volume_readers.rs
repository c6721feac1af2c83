//! NRRD, NIfTI (plain and gzipped) and NPY readers, chosen by the input's
//! magic bytes so one corpus of real files of all three kinds serves.
#![no_main]

use hounsfield::io::{nifti::read_nifti, npy::read_npy, nrrd::read_nrrd};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"NRRD") {
        let path = hounsfield_fuzz::scratch_file("nrrd", data);
        let _ = read_nrrd(&path);
    } else if data.starts_with(b"\x93NUMPY") {
        let path = hounsfield_fuzz::scratch_file("npy", data);
        let _ = read_npy(&path);
    } else if data.starts_with(&[0x1f, 0x8b]) {
        let path = hounsfield_fuzz::scratch_file("nii.gz", data);
        let _ = read_nifti(&path);
    } else {
        let path = hounsfield_fuzz::scratch_file("nii", data);
        let _ = read_nifti(&path);
    }
});
