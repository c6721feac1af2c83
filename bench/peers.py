#!/usr/bin/env python3
"""Peer implementations for bench/compare.sh (run with bench/.venv/bin/python).

    peers.py load-pydicom     DICOM_DIR OUT.npy
    peers.py load-sitk        DICOM_DIR OUT.nii
    peers.py resample-sitk    DICOM_DIR OUT.npy   [--spacing 1]
    peers.py resample-scipy   DICOM_DIR OUT.npy   [--spacing 1]
    peers.py verify           OP OUTDIR_JSON      (untimed output check, see compare.py)
    peers.py versions                             (JSON on stdout)

Resample commands print `internal: load_s=<s> op_s=<s>` on stdout (time.perf_counter):
load_s = reading the series to an HU volume, op_s = the resampling alone (not the write).
Imports are done inside each command so every process pays only for what it uses.
"""
import sys
import time


# ---------------------------------------------------------------- loaders
def pydicom_hu(folder):
    """Read every file, sort along the slice normal, stack, rescale to int16 HU.

    Returns (volume[z,row,col] int16, spacing (z,row,col) mm).
    """
    import os
    import numpy as np
    import pydicom

    dss = [pydicom.dcmread(os.path.join(folder, f)) for f in sorted(os.listdir(folder))]
    iop = np.asarray(dss[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    pos = [float(np.dot(normal, np.asarray(d.ImagePositionPatient, dtype=float))) for d in dss]
    order = np.argsort(pos, kind="stable")
    dss = [dss[i] for i in order]
    z = np.sort(np.asarray(pos))

    rows, cols = int(dss[0].Rows), int(dss[0].Columns)
    vol = np.empty((len(dss), rows, cols), dtype=np.int16)
    for i, d in enumerate(dss):
        px = d.pixel_array
        slope = float(getattr(d, "RescaleSlope", 1.0))
        inter = float(getattr(d, "RescaleIntercept", 0.0))
        if slope == 1.0 and inter.is_integer():
            # integer path (exact): stored values of a 12-bit CT fit int16
            np.add(px.astype(np.int32), int(inter), out=vol[i], casting="unsafe")
        else:
            vol[i] = np.rint(px.astype(np.float64) * slope + inter)
    dz = (z[-1] - z[0]) / (len(z) - 1) if len(z) > 1 else float(getattr(dss[0], "SliceThickness", 1.0))
    prow, pcol = (float(v) for v in dss[0].PixelSpacing)  # PixelSpacing = (row spacing, col spacing)
    return vol, (dz, prow, pcol)


def sitk_series(folder):
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    names = reader.GetGDCMSeriesFileNames(folder)
    reader.SetFileNames(names)
    return reader.Execute()


def iso_shape(shape, spacing, iso):
    """Output size on the same physical extent: floor((n-1)*s/iso)+1 per axis.

    Extent = centre of first voxel to centre of last voxel; the 1 mm grid starts on the
    first voxel centre and never samples outside the input (no padding needed).
    """
    import math

    return tuple(int(math.floor((n - 1) * s / iso + 1e-6)) + 1 for n, s in zip(shape, spacing))


# ---------------------------------------------------------------- commands
def cmd_load_pydicom(folder, out):
    import numpy as np

    vol, _ = pydicom_hu(folder)
    np.save(out, vol)


def cmd_load_sitk(folder, out):
    import SimpleITK as sitk

    sitk.WriteImage(sitk_series(folder), out)


def cmd_resample_sitk(folder, out, iso):
    import numpy as np
    import SimpleITK as sitk

    t0 = time.perf_counter()
    img = sitk_series(folder)
    t1 = time.perf_counter()
    size_xyz = iso_shape(img.GetSize(), img.GetSpacing(), iso)
    res = sitk.Resample(
        img, size_xyz, sitk.Transform(), sitk.sitkLinear,
        img.GetOrigin(), (iso, iso, iso), img.GetDirection(),
        -1024, img.GetPixelID(),  # default value -1024 HU, output type = input (int16)
    )
    t2 = time.perf_counter()
    np.save(out, sitk.GetArrayViewFromImage(res))  # [z,y,x]
    print(f"internal: load_s={t1 - t0:.6f} op_s={t2 - t1:.6f}", flush=True)


def cmd_resample_scipy(folder, out, iso):
    import numpy as np
    from scipy import ndimage

    t0 = time.perf_counter()
    vol, spacing = pydicom_hu(folder)
    t1 = time.perf_counter()
    shape = iso_shape(vol.shape, spacing, iso)
    # zoom maps first/last voxel centres onto each other (grid_mode=False), so with
    # factors out/in the output is exactly `shape` on the same extent as SimpleITK's grid.
    res = ndimage.zoom(vol, [o / i for o, i in zip(shape, vol.shape)], order=1)
    t2 = time.perf_counter()
    assert res.shape == shape, (res.shape, shape)
    np.save(out, res)
    print(f"internal: load_s={t1 - t0:.6f} op_s={t2 - t1:.6f}", flush=True)


def cmd_versions():
    import json
    import subprocess
    import os
    import numpy, scipy, pydicom, SimpleITK

    v = {
        "python": sys.version.split()[0],
        "pydicom": pydicom.__version__,
        "SimpleITK": SimpleITK.Version.VersionString(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }
    try:
        from threadpoolctl import threadpool_info

        v["blas"] = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} threads={i.get('num_threads')}"
                     for i in threadpool_info()]
    except Exception:
        pass
    try:
        exe = os.path.join(os.path.dirname(sys.executable), "dcm2niix")
        txt = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
        v["dcm2niix"] = next((w for w in txt.split() if w.startswith("v1.")), txt.strip()[:60])
    except Exception:
        pass
    print(json.dumps(v))


def cmd_verify(op, spec_json):
    """Untimed correctness check of the last round's outputs. spec: {"tool": path, ...}."""
    import glob
    import hashlib
    import json
    import os
    import numpy as np

    ref_sha = "ab678be473541e2d67ffcd9f2f12ffc7c5ca5c4326b0a226938539ef7646a386"
    spec = json.loads(spec_json)
    report = {}

    def read(path):
        if os.path.isdir(path):  # dcm2niix output dir
            hits = sorted(glob.glob(os.path.join(path, "*.nii")))
            if not hits:
                raise FileNotFoundError(f"no .nii in {path}")
            path = hits[0]
        if path.endswith(".npy"):
            return np.load(path), False
        import SimpleITK as sitk

        return sitk.GetArrayFromImage(sitk.ReadImage(path)), True

    arrays = {}
    for tool, path in spec.items():
        try:
            a, is_nii = read(path)
        except Exception as e:  # missing/unreadable output
            report[tool] = {"ok": False, "note": f"unreadable: {e}"}
            continue
        arrays[tool] = a
        r = {"shape": list(a.shape), "dtype": str(a.dtype)}
        if op == "load":
            if tool == "dcm2niix":
                # dcm2niix writes NIfTI in its own (RAS-flipped) voxel order; compare the
                # sorted values only, which do not depend on axis order.
                r["note"] = "voxel order differs (NIfTI/RAS); checked value multiset"
            else:
                sha = hashlib.sha256(np.ascontiguousarray(a.astype("<i2", copy=False)).tobytes()).hexdigest()
                r["sha256_matches_reference"] = sha == ref_sha and a.dtype.kind == "i" and a.itemsize == 2
                r["ok"] = r["sha256_matches_reference"]
            r["min"], r["max"], r["mean"] = int(a.min()), int(a.max()), round(float(a.mean()), 4)
        report[tool] = r
    if op == "load" and "dcm2niix" in arrays and "pydicom" in arrays:
        same = np.array_equal(np.sort(arrays["dcm2niix"].ravel().astype(np.int32)),
                              np.sort(arrays["pydicom"].ravel().astype(np.int32)))
        report["dcm2niix"]["ok"] = bool(same)
    if op == "resample":
        ref = arrays.get("sitk")
        for tool, a in arrays.items():
            if ref is None or tool == "sitk":
                report[tool].setdefault("ok", ref is not None)
                continue
            if a.shape != ref.shape:
                report[tool].update(ok=False, note=f"shape {a.shape} != sitk {ref.shape}")
                continue
            d = np.abs(a.astype(np.float64) - ref.astype(np.float64))
            # sitk truncates linear results to int16, scipy rounds: expect <=1 HU plus tiny
            # grid differences (scipy's xy step is extent/(n-1), 1.00004 mm, not 1 mm).
            report[tool].update(vs_sitk_max_abs=float(d.max()), vs_sitk_mean_abs=round(float(d.mean()), 4),
                                ok=bool(d.mean() < 2.0))
    print(json.dumps(report))


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cmd, rest = argv[0], argv[1:]
    iso = 1.0
    if "--spacing" in rest:
        i = rest.index("--spacing")
        iso = float(rest[i + 1])
        rest = rest[:i] + rest[i + 2:]
    if cmd == "load-pydicom":
        cmd_load_pydicom(*rest)
    elif cmd == "load-sitk":
        cmd_load_sitk(*rest)
    elif cmd == "resample-sitk":
        cmd_resample_sitk(*rest, iso)
    elif cmd == "resample-scipy":
        cmd_resample_scipy(*rest, iso)
    elif cmd == "verify":
        cmd_verify(*rest)
    elif cmd == "versions":
        cmd_versions()
    else:
        sys.exit(f"unknown command {cmd}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
