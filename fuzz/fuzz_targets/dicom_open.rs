//! File opening and header scan: the tolerant meta reader, the structure
//! check, dicom-object, the header reader, the tag dump and the folder scan.
#![no_main]

use hounsfield::dicom::{header::read_header, scan, tags::dump_tags};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: hounsfield_fuzz::let_firewalled_panics_unwind(), |data: &[u8]| {
    let path = hounsfield_fuzz::scratch_file("dcm", data);
    let _ = read_header(&path);
    let _ = dump_tags(&path, 80);
    let _ = scan(std::slice::from_ref(&path));
});
