#!/usr/bin/env python3
"""Lung masks: the tutorial's code (scikit-image) against `hounsfield segment lungs`.

    lungs_reference.py bench  [--rounds 5] [--data DIR] [--hounsfield BIN]
    lungs_reference.py dice   [--data LUNG_CT_64_DIR]
    lungs_reference.py tutorial DICOM_DIR OUT.npy      (one run, used by `bench`)

`tutorial` is the lung mask of the Kaggle tutorial by Guido Zuidhof ("Full preprocessing
tutorial"): `load_scan` + `get_pixels_hu` with pydicom, then `segment_lung_mask(image,
fill_lung_structures=True)` (threshold -320 HU, `measure.label`, background = the corner voxel's
label, per-slice fill of the largest solid structure, largest air component), verbatim apart
from the imports; it writes the mask as .npy and prints `internal: load_s=<s> op_s=<s>`.

`bench` runs the tutorial and `hounsfield segment lungs DIR --out OUT.nrrd` (classical) as
separate processes on chest-ct, interleaved: one warm-up round, then `--rounds` rounds, each
running both (alternating which goes first). Prints the medians of the whole process time and
of the segmentation alone (`op_s`), and the ratios tutorial / ours.

`dice` scores the tutorial and ours (classical and kmeans) on lung-ct-64 against
`wholeLung-64.nrrd`.

Run with bench/.venv/bin/python after `bash bench/setup.sh` and `cargo build --release`
(numpy, scipy, pydicom from setup.sh; scikit-image is installed with pip when missing):

    bench/.venv/bin/python bench/lungs_reference.py bench --rounds 5
    bench/.venv/bin/python bench/lungs_reference.py dice
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data")


# ------------------------------------------------------------ the tutorial, verbatim
def load_scan(path):
    import pydicom

    slices = [pydicom.dcmread(path + "/" + s) for s in os.listdir(path)]
    slices.sort(key=lambda x: float(x.ImagePositionPatient[2]))
    try:
        slice_thickness = abs(slices[0].ImagePositionPatient[2] - slices[1].ImagePositionPatient[2])
    except Exception:
        slice_thickness = abs(slices[0].SliceLocation - slices[1].SliceLocation)
    for s in slices:
        s.SliceThickness = slice_thickness
    return slices


def get_pixels_hu(slices):
    import numpy as np

    image = np.stack([s.pixel_array for s in slices])
    image = image.astype(np.int16)
    image[image == -2000] = 0
    for slice_number in range(len(slices)):
        intercept = slices[slice_number].RescaleIntercept
        slope = slices[slice_number].RescaleSlope
        if slope != 1:
            image[slice_number] = slope * image[slice_number].astype(np.float64)
            image[slice_number] = image[slice_number].astype(np.int16)
        image[slice_number] += np.int16(intercept)
    return np.array(image, dtype=np.int16)


def largest_label_volume(im, bg=-1):
    import numpy as np

    vals, counts = np.unique(im, return_counts=True)
    counts = counts[vals != bg]
    vals = vals[vals != bg]
    if len(counts) > 0:
        return vals[np.argmax(counts)]
    else:
        return None


def segment_lung_mask(image, fill_lung_structures=True):
    import numpy as np
    from skimage import measure

    # not actually binary, but 1 and 2.
    # 0 is treated as background, which we do not want
    binary_image = np.array(image > -320, dtype=np.int8) + 1
    labels = measure.label(binary_image)
    # Pick the pixel in the very corner to determine which label is air.
    background_label = labels[0, 0, 0]
    # Fill the air around the person
    binary_image[background_label == labels] = 2
    # Method of filling the lung structures (that is superior to something like
    # morphological closing)
    if fill_lung_structures:
        # For every slice we determine the largest solid structure
        for i, axial_slice in enumerate(binary_image):
            axial_slice = axial_slice - 1
            labeling = measure.label(axial_slice)
            l_max = largest_label_volume(labeling, bg=0)
            if l_max is not None:  # This slice contains some lung
                binary_image[i][labeling != l_max] = 1
    binary_image -= 1  # Make the image actual binary
    binary_image = 1 - binary_image  # Invert it, lungs are now 1
    # Remove other air pockets insided body
    labels = measure.label(binary_image, background=0)
    l_max = largest_label_volume(labels, bg=0)
    if l_max is not None:  # There are air pockets
        binary_image[labels != l_max] = 0
    return binary_image


def cmd_tutorial(folder, out):
    import numpy as np

    t0 = time.perf_counter()
    image = get_pixels_hu(load_scan(folder))
    t1 = time.perf_counter()
    mask = segment_lung_mask(image, True)
    t2 = time.perf_counter()
    np.save(out, mask.astype(np.uint8))
    print(f"internal: load_s={t1 - t0:.4f} op_s={t2 - t1:.4f}")


# ------------------------------------------------------------ helpers
def read_nrrd(path):
    """Minimal NRRD reader (attached raw or gzip data) → array [z, row, col]."""
    import gzip

    import numpy as np

    raw = open(path, "rb").read()
    head, data = raw.split(b"\n\n", 1)
    fields = {}
    for line in head.decode().splitlines()[1:]:
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            fields[k.strip()] = v.strip()
    sizes = [int(s) for s in fields["sizes"].split()]
    dtype = {"uchar": np.uint8, "unsigned char": np.uint8, "short": np.int16,
             "unsigned short": np.uint16, "ushort": np.uint16}[fields["type"]]
    if fields.get("encoding") == "gzip":
        data = gzip.decompress(data)
    return np.frombuffer(data, dtype=dtype).reshape(sizes[::-1])


def dice(a, b):
    a, b = a != 0, b != 0
    return 2.0 * (a & b).sum() / max(a.sum() + b.sum(), 1)


def run(cmd, env=None):
    """Wall time of a process and its `internal:` line (op_s), checked."""
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    op = None
    for line in (p.stdout + p.stderr).splitlines():
        if line.startswith("internal:") and "op_s=" in line:
            op = float(line.split("op_s=")[1].split()[0])
    return wall, op


def peer_env():
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    return env


# ------------------------------------------------------------ commands
def cmd_bench(args):
    import numpy as np

    series = args.data or os.path.join(DATA, "chest-ct")
    ours_bin = args.hounsfield
    if not os.path.exists(ours_bin):
        sys.exit(f"no binary at {ours_bin}: cargo build --release")
    with tempfile.TemporaryDirectory() as tmp:
        tut_out, our_out = os.path.join(tmp, "tutorial.npy"), os.path.join(tmp, "ours.nrrd")
        tools = {
            "tutorial": ([sys.executable, os.path.abspath(__file__), "tutorial", series, tut_out],
                         peer_env()),
            "ours": ([ours_bin, "segment", "lungs", series, "--out", our_out],
                     dict(os.environ, HOUNSFIELD_TIMING="1")),
        }
        samples = {k: [] for k in tools}
        for r in range(args.rounds + 1):
            names = list(tools) if r % 2 == 0 else list(reversed(tools))
            for name in names:
                wall, op = run(*tools[name])
                if r > 0:
                    samples[name].append((wall, op))
            print(f"round {r}{' (warm-up)' if r == 0 else ''}: " + ", ".join(
                f"{n} {samples[n][-1][0]:.3f} s" if r > 0 else n for n in names), flush=True)
        tut = np.load(tut_out)
        ours = read_nrrd(our_out)
    med = {k: (statistics.median(w for w, _ in v), statistics.median(o for _, o in v))
           for k, v in samples.items()}
    print(f"\nchest-ct, {args.rounds} rounds (median)      whole process    segmentation (op_s)")
    for k, (w, o) in med.items():
        print(f"  {k:<10}                      {w:8.3f} s        {o:8.3f} s")
    print(f"  ratio tutorial / ours           {med['tutorial'][0] / med['ours'][0]:8.1f} x"
          f"        {med['tutorial'][1] / med['ours'][1]:8.1f} x")
    print(f"  Dice(ours, tutorial) on chest-ct: {dice(ours, tut):.4f}; "
          f"lung voxels ours {int((ours != 0).sum())}, tutorial {int(tut.sum())}")


def cmd_dice(args):
    root = args.data or os.path.join(DATA, "lung-ct-64")
    ref = read_nrrd(os.path.join(root, "wholeLung-64.nrrd"))
    image = get_pixels_hu(load_scan(os.path.join(root, "dicom")))
    tut = segment_lung_mask(image, True)
    print(f"tutorial segment_lung_mask(fill=True): Dice {dice(tut, ref):.4f}")
    with tempfile.TemporaryDirectory() as tmp:
        for method in ("classical", "kmeans"):
            out = os.path.join(tmp, f"{method}.nrrd")
            run([args.hounsfield, "segment", "lungs", os.path.join(root, "dicom"), "--out", out,
                 "--method", method])
            print(f"hounsfield {method:<9}: Dice {dice(read_nrrd(out), ref):.4f}")


def ensure_skimage():
    """Install scikit-image into this interpreter's environment when missing."""
    try:
        import skimage  # noqa: F401
    except ImportError:
        print("installing scikit-image (pip)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "scikit-image"], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    default_bin = os.path.join(HERE, "..", "target", "release", "hounsfield")
    b = sub.add_parser("bench")
    b.add_argument("--rounds", type=int, default=5)
    b.add_argument("--data")
    b.add_argument("--hounsfield", default=default_bin)
    d = sub.add_parser("dice")
    d.add_argument("--data")
    d.add_argument("--hounsfield", default=default_bin)
    t = sub.add_parser("tutorial")
    t.add_argument("folder")
    t.add_argument("out")
    a = ap.parse_args()
    ensure_skimage()
    if a.cmd == "tutorial":
        cmd_tutorial(a.folder, a.out)
    elif a.cmd == "bench":
        cmd_bench(a)
    else:
        cmd_dice(a)


if __name__ == "__main__":
    main()
