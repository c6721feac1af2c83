#!/usr/bin/env python3
"""Marching cubes: scikit-image's `measure.marching_cubes` against `hounsfield mesh`.

    mesh_reference.py [--rounds 5] [--level 350] [--step 1] [--data DIR] [--hounsfield BIN]

Both run on the same volume: chest-ct resampled to 1 mm by `hounsfield resample` (written once
as .npy for numpy and .nii for `hounsfield mesh`). scikit-image meshes the array padded by
`step` voxels of -1024 HU on every side, which is the lattice `hounsfield mesh` uses (samples
0, step, 2·step, … plus a border sample of -1024 HU one step outside, so surfaces touching the
border close); the unpadded count is printed too. Timing is of marching cubes alone: for
scikit-image `measure.marching_cubes(vol, level, step_size=step)` in this process (the array is
float32 and padded beforehand), for ours the `op_s` that `HOUNSFIELD_TIMING=1 hounsfield mesh`
prints (the meshing, not loading or writing). One warm-up round, then `--rounds` rounds
interleaved (alternating which goes first); prints every round, the medians, the speed ratio
skimage / ours and the triangle-count ratio ours / skimage.

Run with bench/.venv/bin/python (needs numpy and scikit-image:
`bench/.venv/bin/pip install scikit-image`); build first with
`cargo build --release --bin hounsfield`.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data")
BIN = os.path.join(HERE, "..", "target", "release", "hounsfield")


def ours(binary, nii, level, step, out):
    env = dict(os.environ, HOUNSFIELD_TIMING="1")
    p = subprocess.run(
        [binary, "mesh", nii, "--level", str(level), "--step", str(step), "--out", out],
        capture_output=True, text=True, env=env, check=True,
    )
    op_s = float(re.search(r"op_s=([0-9.]+)", p.stderr).group(1))
    tris = int(re.search(r"([0-9]+) triangles", p.stdout).group(1))
    return op_s, tris, p.stdout.strip()


def skimage_mc(vol, level, step):
    from skimage import measure

    t = time.perf_counter()
    _, faces, _, _ = measure.marching_cubes(vol, level, step_size=step)
    return time.perf_counter() - t, len(faces)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--level", type=float, default=350.0)
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--data", default=os.path.join(DATA, "chest-ct"))
    ap.add_argument("--hounsfield", default=BIN)
    a = ap.parse_args()

    import numpy as np
    import skimage

    with tempfile.TemporaryDirectory() as tmp:
        npy, nii, out = (os.path.join(tmp, n) for n in ("ct1mm.npy", "ct1mm.nii", "mesh.stl"))
        for path in (npy, nii):
            subprocess.run([a.hounsfield, "resample", a.data, "--spacing", "1", "--out", path],
                           check=True, capture_output=True)
        raw = np.load(npy).astype(np.float32)
        vol = np.pad(raw, a.step, constant_values=-1024.0)
        print(f"volume {raw.shape} (z, row, col) at 1 mm, level {a.level} HU, step {a.step}; "
              f"scikit-image {skimage.__version__}, {os.cpu_count()} cores")
        _, unpadded = skimage_mc(raw, a.level, a.step)
        skimage_mc(vol, a.level, a.step)
        ours(a.hounsfield, nii, a.level, a.step, out)
        sk_t, our_t = [], []
        for r in range(a.rounds):
            runs = [("sk", lambda: skimage_mc(vol, a.level, a.step)),
                    ("ours", lambda: ours(a.hounsfield, nii, a.level, a.step, out))]
            if r % 2:
                runs.reverse()
            res = {name: f() for name, f in runs}
            sk_t.append(res["sk"][0])
            our_t.append(res["ours"][0])
            sk_tris, our_tris, line = res["sk"][1], res["ours"][1], res["ours"][2]
            print(f"round {r}: skimage {res['sk'][0]:.3f} s ({sk_tris} triangles), "
                  f"ours {res['ours'][0]:.3f} s ({our_tris} triangles)")
        print(f"ours: {line}")
        sk_m, our_m = statistics.median(sk_t), statistics.median(our_t)
        print(f"median: skimage {sk_m:.3f} s, ours {our_m:.3f} s, speed-up {sk_m / our_m:.2f}x")
        print(f"triangles: skimage {sk_tris} (padded; unpadded {unpadded}), ours {our_tris}, "
              f"ratio {our_tris / sk_tris:.5f} ({100 * (our_tris / sk_tris - 1):+.3f} %)")
        return 0


if __name__ == "__main__":
    sys.exit(main())
