#!/usr/bin/env python3
"""Rotating-MIP GIF: the reference Python method against `hounsfield mip-gif`.

Reference (per frame, as in the issue): `scipy.ndimage.rotate(vol, angle, axes=(1, 2), order=1,
reshape=False, cval=-1000)` of the int16 HU volume (pydicom load, `peers.pydicom_hu`), `max` along
the row axis (anterior view at 0 degrees), flipped so superior is up, `zoom` of z to square pixels,
window 150/900 HU to uint8; then `imageio` writes the frames as a looping GIF (pillow plugin).

    mip_gif_reference.py peer    DICOM_DIR OUT.gif [--frames N] [--step 10] [--reshape]
        one reference process; times N frames (default: all 360/step) and prints
        `internal: load_s=... frame_s=<median per frame> gif_s=... frames_timed=N frames=M`.
        With N < M the GIF still has M frames (the computed ones repeated) so the encoding is
        timed at full size, and the total is extrapolated: load + M * frame_s + gif.
    mip_gif_reference.py compare [--rounds 3] [--frames N] [--reshape] [--data DIR] [--ours BIN]
        runs the reference and `hounsfield mip-gif DIR --out X.gif` as separate processes,
        interleaved (1 warm-up round of each, then ROUNDS rounds alternating which goes first),
        and prints medians and the ratio reference / ours (> 1: ours is faster).

Run with bench/.venv/bin/python (bench/setup.sh; needs scipy, imageio, pillow: installed here by
bench/compare.sh mip-gif if missing). OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for the peer.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER_ENV_UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
PEER_RE = re.compile(
    r"internal: load_s=([0-9.]+) frame_s=([0-9.]+) gif_s=([0-9.]+) frames_timed=(\d+) frames=(\d+)"
)
OURS_RE = re.compile(r"internal: load_s=([0-9.]+) op_s=([0-9.]+)")


def peer(folder, out, frames_timed, step, reshape):
    t0 = time.perf_counter()
    sys.path.insert(0, HERE)
    from peers import pydicom_hu
    import numpy as np
    import scipy.ndimage as ndi
    import imageio.v3 as iio

    vol, (dz, drow, dcol) = pydicom_hu(folder)
    load_s = time.perf_counter() - t0
    n = int(round(360.0 / step))
    frames_timed = n if frames_timed is None else max(1, min(frames_timed, n))
    lo, width = 150.0 - 900.0 / 2.0, 900.0
    frames, times = [], []
    for f in range(frames_timed):
        t = time.perf_counter()
        rot = ndi.rotate(vol, f * step, axes=(1, 2), order=1, reshape=reshape, cval=-1000)
        mip = rot.max(axis=1)[::-1].astype(np.float32)  # (z, col), superior up
        mip = ndi.zoom(mip, (dz / dcol, 1.0), order=1)  # square pixels
        frames.append(np.clip((mip - lo) * (255.0 / width), 0, 255).round().astype(np.uint8))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    seq = [frames[i % len(frames)] for i in range(n)]
    iio.imwrite(out, np.stack(seq), extension=".gif", loop=0, duration=100)
    gif_s = time.perf_counter() - t
    print(
        f"internal: load_s={load_s:.4f} frame_s={statistics.median(times):.4f} gif_s={gif_s:.4f} "
        f"frames_timed={frames_timed} frames={n}"
    )


def run(argv, env):
    t = time.perf_counter()
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} exit {p.returncode}: {(p.stdout + p.stderr)[-2000:]}")
    return wall, p.stdout + p.stderr


def compare(a):
    tmp = tempfile.mkdtemp(prefix="mipgif-")
    peer_env = {k: v for k, v in os.environ.items() if k not in PEER_ENV_UNSET}
    ours_env = dict(os.environ, HOUNSFIELD_TIMING="1")
    peer_argv = [sys.executable, os.path.abspath(__file__), "peer", a.data, f"{tmp}/peer.gif",
                 "--step", str(a.step)] + (["--frames", str(a.frames)] if a.frames else []) \
        + (["--reshape"] if a.reshape else [])
    ours_argv = [a.ours, "mip-gif", a.data, "--out", f"{tmp}/ours.gif", "--step", str(a.step)]
    if not os.access(a.ours, os.X_OK):
        sys.exit(f"our binary {a.ours} is missing: cargo build --release --bin hounsfield")

    def once(which):
        if which == "ours":
            wall, out = run(ours_argv, ours_env)
            m = OURS_RE.search(out)
            return {"wall_s": wall, "op_s": float(m.group(2)) if m else float("nan")}
        wall, out = run(peer_argv, peer_env)
        m = PEER_RE.search(out)
        if not m:
            raise RuntimeError(f"no timing line from the peer: {out[-500:]}")
        load_s, frame_s, gif_s = (float(m.group(i)) for i in (1, 2, 3))
        timed, n = int(m.group(4)), int(m.group(5))
        # Wall time of a full run: add the frames that were not computed.
        return {"wall_s": wall + (n - timed) * frame_s, "op_s": n * frame_s,
                "frame_s": frame_s, "timed": timed, "n": n}

    once("ours"), once("peer")  # warm-up: page cache, .pyc files
    res = {"ours": [], "peer": []}
    for r in range(a.rounds):
        order = ("ours", "peer") if r % 2 == 0 else ("peer", "ours")
        for w in order:
            res[w].append(once(w))
            print(f"round {r + 1} {w:5s} wall {res[w][-1]['wall_s']:8.3f} s  op {res[w][-1]['op_s']:8.3f} s",
                  flush=True)
    med = {w: {k: statistics.median(s[k] for s in v) for k in ("wall_s", "op_s")} for w, v in res.items()}
    mins = {w: min(s["wall_s"] for s in v) for w, v in res.items()}
    p0 = res["peer"][0]
    extrap = "" if p0["timed"] == p0["n"] else \
        f" (peer: {p0['timed']} of {p0['n']} frames timed, the rest extrapolated at the median per frame)"
    print(f"\nrotating MIP GIF, {p0['n']} frames, step {a.step}°, reshape={a.reshape}, "
          f"{a.rounds} rounds{extrap}")
    print(f"{'tool':6s} {'wall med s':>10s} {'wall min s':>10s} {'op med s':>9s}")
    for w in ("peer", "ours"):
        print(f"{w:6s} {med[w]['wall_s']:10.3f} {mins[w]:10.3f} {med[w]['op_s']:9.3f}")
    print(f"ratio peer/ours: wall {med['peer']['wall_s'] / med['ours']['wall_s']:.1f}x, "
          f"projection only {med['peer']['op_s'] / med['ours']['op_s']:.1f}x "
          f"(peer per frame {statistics.median(s['frame_s'] for s in res['peer']):.3f} s)")
    print(f"ours: {a.ours} mip-gif {a.data} --out OUT.gif --step {a.step:g}  (HOUNSFIELD_TIMING=1 prints load_s/op_s)")
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("peer")
    p.add_argument("data")
    p.add_argument("out")
    c = sub.add_parser("compare")
    c.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 3)))
    c.add_argument("--data", default=os.environ.get("DATA", os.path.join(ROOT, "..", "shared", "data", "chest-ct")))
    c.add_argument("--ours", default=os.environ.get("HOUNSFIELD", os.path.join(ROOT, "target", "release", "hounsfield")))
    for s in (p, c):
        s.add_argument("--frames", type=int, default=None, help="frames to time (default: all)")
        s.add_argument("--step", type=float, default=10.0)
        s.add_argument("--reshape", action="store_true", help="scipy rotate(reshape=True)")
    a = ap.parse_args()
    if a.cmd == "peer":
        peer(a.data, a.out, a.frames, a.step, a.reshape)
    else:
        compare(a)


if __name__ == "__main__":
    main()
