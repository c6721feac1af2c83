#!/usr/bin/env python3
"""RTSTRUCT references made by independent tools (rt-utils, plastimatch, pydicom).

The tests (tests/headless/rtstruct.rs) and bench/rtstruct.sh call it through the
venv that scripts/references makes:

  make CT_DIR OUT.dcm [--rois N]
      An RTSTRUCT written by rt-utils for the CT in CT_DIR, with known masks
      defined in patient space (LPS mm) and from the CT's own HU:
        Sphere   ball of radius 40 mm
        Ring     a cylinder shell (outer 45 mm, inner 20 mm): a hole per slice
        Islands  two discs of radius 30 mm per slice, 70 mm apart
        Body     HU > -300 (a real outline; the lungs are holes in it)
        Air      HU < -400 inside the body's bounding box (lungs, airways: many
                 islands and holes)
      The first N of them (default 5).
  plastimatch RS CT_DIR OUT_DIR
      plastimatch's rasterisation of RS on the CT: OUT_DIR/<ROI name>.nrrd
      (uchar, the CT grid), and the seconds it took on stdout.
  read RS CT_DIR OUT_DIR
      Loads RS with pydicom and rt-utils: prints JSON with the ROI names, the
      contour counts pydicom sees, and writes rt-utils' mask of each ROI as
      OUT_DIR/rtutils_<k>.npy (uint8, [slice, row, col], slices in the order
      of "sop_uids" in the JSON).
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pydicom


def ct_slices(ct_dir):
    """(dataset, HU array) per slice, in rt-utils' order is irrelevant here."""
    out = []
    for p in sorted(Path(ct_dir).iterdir()):
        try:
            ds = pydicom.dcmread(p)
        except Exception:
            continue
        if "PixelData" not in ds:
            continue
        hu = ds.pixel_array.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1)) + float(
            getattr(ds, "RescaleIntercept", 0)
        )
        out.append((ds, hu))
    return out


def world_grid(ds):
    """LPS mm of every pixel centre of one slice: arrays x, y, z of [row, col]."""
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
    rows, cols = int(ds.Rows), int(ds.Columns)
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    pts = ipp[None, None, :] + c[..., None] * col_spacing * iop[None, None, :3] + r[
        ..., None
    ] * row_spacing * iop[None, None, 3:]
    return pts[..., 0], pts[..., 1], pts[..., 2]


def make(ct_dir, out, n_rois):
    from rt_utils import RTStructBuilder

    rt = RTStructBuilder.create_new(dicom_series_path=str(ct_dir))
    hu_by_uid = {ds.SOPInstanceUID: hu for ds, hu in ct_slices(ct_dir)}
    series = rt.series_data
    zs = [float(ds.ImagePositionPatient[2]) for ds in series]
    zc = (min(zs) + max(zs)) / 2
    x0, y0, _ = world_grid(series[0])
    xc, yc = float(x0.mean()), float(y0.mean())
    body_all = [hu_by_uid[ds.SOPInstanceUID] > -300 for ds in series]
    rows_any = np.any(np.stack([b.any(axis=1) for b in body_all]), axis=0)
    cols_any = np.any(np.stack([b.any(axis=0) for b in body_all]), axis=0)
    r_lo, r_hi = np.flatnonzero(rows_any)[[0, -1]]
    c_lo, c_hi = np.flatnonzero(cols_any)[[0, -1]]

    def stack(fn):
        return np.stack([fn(ds) for ds in series], axis=-1)

    def sphere(ds):
        x, y, z = world_grid(ds)
        return (x - xc - 30) ** 2 + (y - yc + 10) ** 2 + (z - zc) ** 2 <= 40.0**2

    def ring(ds):
        x, y, z = world_grid(ds)
        d2 = (x - xc + 70) ** 2 + (y - yc) ** 2
        return (abs(z - zc - 20) <= 30) & (d2 <= 45.0**2) & (d2 >= 20.0**2)

    def islands(ds):
        x, y, z = world_grid(ds)
        a = (x - xc + 35) ** 2 + (y - yc - 60) ** 2 <= 30.0**2
        b = (x - xc - 35) ** 2 + (y - yc - 60) ** 2 <= 30.0**2
        return (abs(z - zc + 30) <= 20) & (a | b)

    def body(ds):
        return hu_by_uid[ds.SOPInstanceUID] > -300

    def air(ds):
        m = np.zeros((int(ds.Rows), int(ds.Columns)), bool)
        hu = hu_by_uid[ds.SOPInstanceUID]
        m[r_lo : r_hi + 1, c_lo : c_hi + 1] = hu[r_lo : r_hi + 1, c_lo : c_hi + 1] < -400
        return m

    rois = [
        ("Sphere", sphere, [230, 25, 75]),
        ("Ring", ring, [60, 180, 75]),
        ("Islands", islands, [255, 225, 25]),
        ("Body", body, [0, 130, 200]),
        ("Air", air, [245, 130, 48]),
    ][:n_rois]
    for name, fn, colour in rois:
        rt.add_roi(mask=stack(fn), color=colour, name=name)
    rt.save(str(out))


def plastimatch(rs, ct_dir, out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    subprocess.run(
        [
            "plastimatch",
            "convert",
            "--input",
            str(rs),
            "--referenced-ct",
            str(ct_dir),
            "--output-prefix",
            str(out_dir),
            "--prefix-format",
            "nrrd",
            # Even-odd over all contours of a slice: a contour inside another
            # is a hole (plastimatch's default ORs them, filling holes).
            "--xor-contours",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"{time.perf_counter() - t:.4f}")


def read(rs, ct_dir, out_dir):
    from rt_utils import RTStructBuilder

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ds = pydicom.dcmread(rs)
    contours = {
        int(rc.ReferencedROINumber): len(rc.get("ContourSequence", []))
        for rc in ds.ROIContourSequence
    }
    rois = [
        {
            "number": int(r.ROINumber),
            "name": str(r.ROIName),
            "contours": contours.get(int(r.ROINumber), 0),
        }
        for r in ds.StructureSetROISequence
    ]
    rt = RTStructBuilder.create_from(dicom_series_path=str(ct_dir), rt_struct_path=str(rs))
    names = rt.get_roi_names()
    for k, roi in enumerate(rois):
        if roi["contours"] == 0:
            continue
        m = rt.get_roi_mask_by_name(roi["name"])  # [row, col, slice]
        np.save(out_dir / f"rtutils_{k}.npy", np.ascontiguousarray(m.transpose(2, 0, 1)).astype(np.uint8))
        roi["rtutils_voxels"] = int(m.sum())
    print(
        json.dumps(
            {
                "rois": rois,
                "rtutils_names": names,
                "sop_uids": [str(s.SOPInstanceUID) for s in rt.series_data],
                "patient_name": str(ds.get("PatientName", "")),
                "patient_id": str(ds.get("PatientID", "")),
            }
        )
    )


def main(argv):
    if len(argv) >= 3 and argv[0] == "make":
        n = int(argv[argv.index("--rois") + 1]) if "--rois" in argv else 5
        make(argv[1], argv[2], n)
    elif len(argv) == 4 and argv[0] == "plastimatch":
        plastimatch(argv[1], argv[2], argv[3])
    elif len(argv) == 4 and argv[0] == "read":
        read(argv[1], argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
