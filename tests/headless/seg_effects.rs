//! The segment effects through the CLI (`hounsfield seg threshold|morph|
//! margin|hollow|islands|fill-holes|logic|smooth`) against an independent
//! computation: `scipy.ndimage` and numpy in `bench/effects_reference.py`
//! (run with the venv of `scripts/references`), on the anisotropic phantom
//! and on chest-ct's bone mask. Every result must be equal voxel for voxel;
//! a failure names the first differing voxel.
//!
//! Without the data or the tools the test says so and skips; under `CI=true`
//! it fails instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use hounsfield::io::ImageData;
use hounsfield::seg::place::label_values;
use hounsfield::volume::{Geometry, Volume};
use ndarray::Array3;

use crate::common::{ok, s, tempdir};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The Python of `scripts/references`' venv, after its setup; `None` (skip)
/// when the tools cannot be installed here, a failure under `CI=true`.
fn python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/references"))
        .arg("setup")
        .output()
        .expect("run scripts/references");
    if !out.status.success() {
        let why = format!(
            "scripts/references setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!in_ci(), "{why}");
        eprintln!("skipped: {why}");
        return None;
    }
    let venv = std::env::var_os("HOUNSFIELD_REFS_VENV")
        .map_or_else(|| root.join("target/references-venv"), PathBuf::from);
    Some(venv.join("bin/python"))
}

/// A label map we wrote on the CT grid.
fn read_ours(path: &Path) -> (Array3<u16>, Geometry) {
    let img = hounsfield::io::nrrd::read_nrrd(path).expect("our nrrd");
    (label_values(&img.data).expect("label values"), img.geometry)
}

/// A result of the reference script.
fn read_reference(path: &Path) -> Array3<u16> {
    match hounsfield::io::npy::read_npy(path).expect("reference npy") {
        ImageData::U8(a) => a.mapv(u16::from),
        ImageData::I16(a) => a.mapv(|v| u16::try_from(v).expect("label >= 0")),
        _ => panic!("unexpected dtype in {path:?}"),
    }
}

fn write_mask(path: &Path, mask: &Array3<u16>, g: Geometry) {
    let v = Volume::from_i16(mask.mapv(|v| i16::from(v != 0)), g);
    hounsfield::io::npy::write_npy(path, &v).expect("write npy");
}

/// Equal voxel for voxel (label values compared, so `split`'s numbering
/// counts); otherwise names the first differing voxel.
fn assert_same(name: &str, ours: &Array3<u16>, want: &Array3<u16>) {
    assert_eq!(ours.shape(), want.shape(), "{name}: shapes");
    let differing = ours.iter().zip(want).filter(|(a, b)| a != b).count();
    if differing > 0 {
        let (idx, (a, b)) = ours
            .indexed_iter()
            .zip(want.iter())
            .map(|((i, a), b)| (i, (a, b)))
            .find(|(_, (a, b))| a != b)
            .expect("a difference");
        panic!(
            "{name}: {differing} voxels differ; first at [z, row, col] {idx:?}: ours {a}, scipy {b}"
        );
    }
}

/// One effect: our CLI arguments after `seg`, with `{SERIES}`, `{BASE}`,
/// `{B}` and `{OUT}` filled in, and the reference's OP.
struct Effect {
    name: &'static str,
    args: &'static str,
    op: &'static str,
}

const fn fx(name: &'static str, args: &'static str, op: &'static str) -> Effect {
    Effect { name, args, op }
}

/// Runs the threshold and `effects` on `series` with ours and with scipy,
/// and compares. `b_range` is the HU range of the second mask for `logic`.
fn check(series: &Path, range: (i32, i32), b_range: (i32, i32), effects: &[Effect]) {
    let Some(py) = python() else { return };
    let tmp = tempdir();
    let d = tmp.path();
    let t0 = Instant::now();
    let base = d.join("base.nrrd");
    let b = d.join("b.nrrd");
    for (path, (lo, hi)) in [(&base, range), (&b, b_range)] {
        let r = format!("{lo},{hi}");
        ok(&[
            "seg",
            "threshold",
            s(series),
            "--range",
            &r,
            "--out",
            s(path),
        ]);
    }
    ok(&["convert", s(series), "--out", s(&d.join("ct.npy"))]);
    let (base_mask, g) = read_ours(&base);
    let (b_mask, _) = read_ours(&b);
    write_mask(&d.join("base.npy"), &base_mask, g);
    write_mask(&d.join("b.npy"), &b_mask, g);
    let spacing = g.spacing_zyx_mm().map(|v| v.to_string()).join(",");
    let fill = |t: &str, out: &Path| {
        t.replace("{SERIES}", s(series))
            .replace("{BASE}", s(&base))
            .replace("{B}", s(&b))
            .replace("{OUT}", s(out))
    };
    for e in effects {
        let out = d.join(format!("{}.nrrd", e.name));
        let args = fill(e.args, &out);
        let args: Vec<&str> = args.split_whitespace().collect();
        ok(&[&["seg"], args.as_slice()].concat());
    }
    let t_ours = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let refs = d.join("refs");
    let b_npy = d.join("b.npy");
    let ops: Vec<String> = effects
        .iter()
        .map(|e| format!("{}={}", e.name, e.op.replace("{B}", s(&b_npy))))
        .collect();
    let run_py = |input: &Path, ops: &[String]| {
        let out = Command::new(&py)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/effects_reference.py"))
            .arg(input)
            .args(["--spacing", &spacing, "--out", s(&refs)])
            .args(ops)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "effects_reference.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (lo, hi) = range;
    run_py(
        &d.join("ct.npy"),
        &[format!("threshold=threshold:{lo}:{hi}")],
    );
    run_py(&d.join("base.npy"), &ops);
    eprintln!(
        "{} effects: ours {t_ours:.1} s (CLI, incl. loading), scipy {:.1} s",
        effects.len(),
        t1.elapsed().as_secs_f64()
    );

    assert_same(
        "threshold",
        &base_mask,
        &read_reference(&refs.join("threshold.npy")),
    );
    assert!(base_mask.iter().any(|&v| v != 0), "empty threshold");
    for e in effects {
        let (ours, _) = read_ours(&d.join(format!("{}.nrrd", e.name)));
        let want = read_reference(&refs.join(format!("{}.npy", e.name)));
        assert_same(e.name, &ours, &want);
    }
}

/// The effects on the phantom's air mask (10 × 5.47 × 5.47 mm voxels).
const PHANTOM_EFFECTS: &[Effect] = &[
    fx(
        "erode",
        "morph {SERIES} {BASE} --op erode --radius-mm 12 --out {OUT}",
        "erode:12",
    ),
    fx(
        "dilate",
        "morph {SERIES} {BASE} --op dilate --radius-mm 12 --out {OUT}",
        "dilate:12",
    ),
    fx(
        "open",
        "morph {SERIES} {BASE} --op open --radius-mm 12 --out {OUT}",
        "open:12",
    ),
    fx(
        "close",
        "morph {SERIES} {BASE} --op close --radius-mm 12 --out {OUT}",
        "close:12",
    ),
    fx(
        "erode2d",
        "morph {SERIES} {BASE} --op erode --radius-mm 11 --in-plane --out {OUT}",
        "erode2d:11",
    ),
    fx(
        "close2d",
        "morph {SERIES} {BASE} --op close --radius-mm 16.5 --in-plane --out {OUT}",
        "close2d:16.5",
    ),
    // 52 mm reaches 9 voxels in-plane: the distance transform.
    fx(
        "dilate_edt",
        "morph {SERIES} {BASE} --op dilate --radius-mm 52 --out {OUT}",
        "dilate:52",
    ),
    fx(
        "close_edt",
        "morph {SERIES} {BASE} --op close --radius-mm 52 --out {OUT}",
        "close:52",
    ),
    fx(
        "grow",
        "margin {SERIES} {BASE} --mm 11 --out {OUT}",
        "margin:11",
    ),
    fx(
        "shrink",
        "margin {SERIES} {BASE} --mm -11 --out {OUT}",
        "margin:-11",
    ),
    fx(
        "shrink_edt",
        "margin {SERIES} {BASE} --mm -55 --out {OUT}",
        "margin:-55",
    ),
    fx(
        "hollow",
        "hollow {SERIES} {BASE} --thickness-mm 11 --out {OUT}",
        "hollow:11",
    ),
    fx(
        "keep2",
        "islands {SERIES} {BASE} --keep-largest 2 --out {OUT}",
        "keep:2",
    ),
    fx(
        "keep3_6",
        "islands {SERIES} {BASE} --keep-largest 3 --connectivity 6 --out {OUT}",
        "keep:3:6",
    ),
    fx(
        "minml",
        "islands {SERIES} {BASE} --min-ml 5 --out {OUT}",
        "minml:5",
    ),
    fx(
        "split",
        "islands {SERIES} {BASE} --split --out {OUT}",
        "split",
    ),
    fx(
        "split6",
        "islands {SERIES} {BASE} --split --connectivity 6 --out {OUT}",
        "split:6",
    ),
    fx(
        "fill2d",
        "fill-holes {SERIES} {BASE} --in-plane --out {OUT}",
        "fill2d",
    ),
    fx("fill3d", "fill-holes {SERIES} {BASE} --out {OUT}", "fill3d"),
    fx(
        "union",
        "logic {SERIES} {BASE} --op union --with {B} --out {OUT}",
        "union:{B}",
    ),
    fx(
        "intersect",
        "logic {SERIES} {BASE} --op intersect --with {B} --out {OUT}",
        "intersect:{B}",
    ),
    fx(
        "subtract",
        "logic {SERIES} {BASE} --op subtract --with {B} --out {OUT}",
        "subtract:{B}",
    ),
    fx(
        "invert",
        "logic {SERIES} {BASE} --op invert --out {OUT}",
        "invert",
    ),
    fx(
        "median",
        "smooth {SERIES} {BASE} --radius-mm 12 --method median --out {OUT}",
        "median:12",
    ),
    fx(
        "closeopen",
        "smooth {SERIES} {BASE} --radius-mm 12 --method closing-opening --out {OUT}",
        "closeopen:12",
    ),
];

/// Anisotropic phantom (10 × 5.47 × 5.47 mm): air (outside the body, so
/// touching the volume's border, and the lungs), every effect, both the
/// bounded and the distance-transform paths of the morphology.
#[test]
fn effects_equal_scipy_on_the_phantom() {
    let tmp = tempdir();
    let series = tmp.path().join("ct");
    ok(&["phantom", "--out", s(&series), "--dims", "24,64,64"]);
    check(&series, (-2000, -400), (-950, 100), PHANTOM_EFFECTS);
}

/// chest-ct's bone mask (300 HU and above; 2 × 0.98 × 0.98 mm), the
/// effects a user runs on it.
#[test]
fn effects_equal_scipy_on_chest_ct_bone() {
    let Some(ct) = hounsfield::testdata::dir("chest-ct") else {
        return;
    };
    check(
        &ct,
        (300, 4000),
        (-1100, -400),
        &[
            fx(
                "close",
                "morph {SERIES} {BASE} --op close --radius-mm 3 --out {OUT}",
                "close:3",
            ),
            fx(
                "erode2d",
                "morph {SERIES} {BASE} --op erode --radius-mm 2 --in-plane --out {OUT}",
                "erode2d:2",
            ),
            fx(
                "grow",
                "margin {SERIES} {BASE} --mm 10 --out {OUT}",
                "margin:10",
            ),
            fx(
                "shrink",
                "margin {SERIES} {BASE} --mm -2 --out {OUT}",
                "margin:-2",
            ),
            fx(
                "hollow",
                "hollow {SERIES} {BASE} --thickness-mm 2 --out {OUT}",
                "hollow:2",
            ),
            fx(
                "keep3",
                "islands {SERIES} {BASE} --keep-largest 3 --out {OUT}",
                "keep:3",
            ),
            fx(
                "minml",
                "islands {SERIES} {BASE} --min-ml 0.5 --connectivity 6 --out {OUT}",
                "minml:0.5:6",
            ),
            fx(
                "fill2d",
                "fill-holes {SERIES} {BASE} --in-plane --out {OUT}",
                "fill2d",
            ),
            fx(
                "subtract",
                "logic {SERIES} {BASE} --op subtract --with {B} --out {OUT}",
                "subtract:{B}",
            ),
        ],
    );
}
