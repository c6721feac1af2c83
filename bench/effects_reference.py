#!/usr/bin/env python3
"""Independent reference for `hounsfield seg` effects: scipy.ndimage and numpy.

    effects_reference.py INPUT (--spacing Z,Y,X) --out DIR NAME=OP [NAME=OP ...]
    effects_reference.py INPUT --time close:3 [--rounds 5]

INPUT is a `[z, row, col]` array: a mask (non-zero = set) or, for
`threshold`, HU values; `.npy`, or `.nrrd` (raw or gzip, as hounsfield writes
it; the spacing then comes from its header unless --spacing is given).
Each NAME=OP writes DIR/NAME.npy (uint8 masks; int16 labels for `split`).

OPs (R, D, T in mm; V in ml; C is 6 or 26, default 26):
  erode:R dilate:R open:R close:R   ball footprint, border_value=0
  erode2d:R ... close2d:R           disc footprint (in each axial slice)
  margin:D                          D > 0: distance to the mask <= D
                                    D < 0: mask & distance to background > |D|
  hollow:T                          mask & distance to background <= T
  keep:N[:C] minml:V[:C] split[:C]  islands by ndimage.label (largest first,
                                    ties by first voxel in C order)
  fill2d fill3d                     ndimage.binary_fill_holes per slice / 3D
  union:B.npy intersect:B.npy subtract:B.npy invert   numpy
  median:R                          ndimage.median_filter, ball, constant 0
  closeopen:R                       binary_closing then binary_opening
  threshold:LO:HI                   LO <= HU <= HI

The footprint of radius R is every offset d with |d * spacing|^2 <=
R^2 (1 + 1e-6) + 1e-9 (hounsfield's tie rule). Distances to background
treat the outside of the array as background (the array is padded with one
layer of zeros), as the morphology's border_value=0 does.

`--time OP` prints `op_s=<median seconds>` of the scipy call alone (timed
with perf_counter, after one warm-up), for bench/effects.sh.
"""

import argparse
import gzip
import re
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage


def read_nrrd(path):
    raw = Path(path).read_bytes()
    end = raw.index(b"\n\n")
    header = raw[:end].decode("latin-1").splitlines()
    fields = {}
    for line in header[1:]:
        if line.startswith("#") or ":" not in line:
            continue
        k, v = line.split(":", 1)
        fields[k.strip().lower()] = v.strip()
    body = raw[end + 2:]
    if fields.get("encoding", "raw") in ("gzip", "gz"):
        body = gzip.decompress(body)
    types = {"short": "<i2", "int16": "<i2", "uchar": "u1", "uint8": "u1",
             "unsigned char": "u1", "float": "<f4", "ushort": "<u2"}
    dtype = np.dtype(types[fields["type"]])
    if fields.get("endian") == "big":
        dtype = dtype.newbyteorder(">")
    sizes = [int(s) for s in fields["sizes"].split()]
    a = np.frombuffer(body, dtype=dtype, count=int(np.prod(sizes)))
    a = a.reshape(sizes[::-1])
    spacing = None
    if "space directions" in fields:
        vecs = re.findall(r"\(([^)]*)\)", fields["space directions"])
        norms = [float(np.linalg.norm([float(x) for x in v.split(",")])) for v in vecs]
        spacing = norms[::-1]
    return a, spacing


def load(path):
    if str(path).endswith(".nrrd"):
        return read_nrrd(path)
    return np.load(path), None


def lim(r):
    return r * r * (1.0 + 1e-6) + 1e-9


def footprint(spacing, r, in_plane):
    reach = [int(np.floor(r / s)) + 1 for s in spacing]
    if in_plane:
        reach[0] = 0
    axes = [np.arange(-k, k + 1) for k in reach]
    zz, yy, xx = np.meshgrid(*axes, indexing="ij")
    d2 = (zz * spacing[0]) ** 2 + (yy * spacing[1]) ** 2 + (xx * spacing[2]) ** 2
    fp = d2 <= lim(r)
    # Trim planes the footprint does not reach (stays odd and centred).
    for axis in range(3):
        while fp.shape[axis] > 1:
            first = np.take(fp, 0, axis=axis)
            if first.any():
                break
            fp = np.take(fp, range(1, fp.shape[axis] - 1), axis=axis)
    return fp


def structure(conn):
    return ndimage.generate_binary_structure(3, 3 if conn == 26 else 1)


def islands_by_size(m, conn):
    lab, n = ndimage.label(m, structure=structure(conn))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    _, first = np.unique(lab.ravel(), return_index=True)
    first = first[1:] if n and lab.ravel()[first[0]] == 0 else first
    order = sorted(range(n), key=lambda i: (-sizes[i], first[i]))
    return lab, sizes, order


def dist_to_background(m, spacing):
    """Distance from each voxel to the nearest background voxel, the
    outside of the array included."""
    padded = np.pad(m, 1)
    d = ndimage.distance_transform_edt(padded, sampling=spacing)
    return d[1:-1, 1:-1, 1:-1]


def run(op, a, spacing):
    name, *args = op.split(":")
    m = a != 0
    morph = {"erode": ndimage.binary_erosion, "dilate": ndimage.binary_dilation,
             "open": ndimage.binary_opening, "close": ndimage.binary_closing}
    base = name[:-2] if name.endswith("2d") else name
    if base in morph:
        fp = footprint(spacing, float(args[0]), name.endswith("2d"))
        return morph[base](m, structure=fp, border_value=0)
    if name == "margin":
        d = float(args[0])
        if d >= 0:
            dist = ndimage.distance_transform_edt(~m, sampling=spacing)
            return dist ** 2 <= lim(d)
        return m & (dist_to_background(m, spacing) ** 2 > lim(-d))
    if name == "hollow":
        return m & (dist_to_background(m, spacing) ** 2 <= lim(float(args[0])))
    if name in ("keep", "minml", "split"):
        conn = int(args[-1]) if (name == "split" and args) or len(args) > 1 else 26
        lab, sizes, order = islands_by_size(m, conn)
        if name == "keep":
            keep = order[: int(args[0])]
        elif name == "minml":
            vox = spacing[0] * spacing[1] * spacing[2]
            keep = [i for i in order if sizes[i] * vox / 1000.0 >= float(args[0])]
        else:
            table = np.zeros(len(sizes) + 1, dtype=np.int16)
            for rank, i in enumerate(order):
                table[i + 1] = rank + 1
            return table[lab]
        table = np.zeros(len(sizes) + 1, dtype=bool)
        table[[i + 1 for i in keep]] = True
        return table[lab]
    if name == "fill2d":
        return np.stack([ndimage.binary_fill_holes(s) for s in m])
    if name == "fill3d":
        return ndimage.binary_fill_holes(m)
    if name in ("union", "intersect", "subtract"):
        b = load(args[0])[0] != 0
        return {"union": m | b, "intersect": m & b, "subtract": m & ~b}[name]
    if name == "invert":
        return ~m
    if name == "median":
        fp = footprint(spacing, float(args[0]), False)
        return ndimage.median_filter(m.astype(np.uint8), footprint=fp, mode="constant", cval=0) != 0
    if name == "closeopen":
        fp = footprint(spacing, float(args[0]), False)
        c = ndimage.binary_closing(m, structure=fp, border_value=0)
        return ndimage.binary_opening(c, structure=fp, border_value=0)
    if name == "threshold":
        lo, hi = float(args[0]), float(args[1])
        return (a >= lo) & (a <= hi)
    raise SystemExit(f"unknown op {op!r}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("input")
    p.add_argument("--spacing", help="Z,Y,X in mm (default: from the NRRD header)")
    p.add_argument("--out", type=Path)
    p.add_argument("--time", metavar="OP")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("ops", nargs="*", metavar="NAME=OP")
    a = p.parse_intermixed_args()
    arr, spacing = load(a.input)
    if a.spacing:
        spacing = [float(s) for s in a.spacing.split(",")]
    if spacing is None:
        raise SystemExit("give --spacing Z,Y,X for a .npy input")
    if a.time:
        run(a.time, arr, spacing)
        times = []
        for _ in range(a.rounds):
            t = time.perf_counter()
            out = run(a.time, arr, spacing)
            times.append(time.perf_counter() - t)
        print(f"op_s={sorted(times)[len(times) // 2]:.4f} voxels={int(np.count_nonzero(out))}")
        return
    if a.out is None:
        raise SystemExit("give --out DIR")
    a.out.mkdir(parents=True, exist_ok=True)
    for item in a.ops:
        name, op = item.split("=", 1)
        r = run(op, arr, spacing)
        r = r.astype(np.int16) if r.dtype == np.int16 else r.astype(np.uint8)
        np.save(a.out / f"{name}.npy", np.ascontiguousarray(r))
        print(f"{name}: {op} -> {int(np.count_nonzero(r))} voxels", file=sys.stderr)


if __name__ == "__main__":
    main()
