#!/usr/bin/env python3
"""3D rigid registration: SimpleITK against `hounsfield register` on a known-transform pair (issue 8).

    registration_reference.py make-pair [--out bench/out/reg] [--data DIR]
    registration_reference.py sitk      [--dir bench/out/reg] [--out DIR/sitk.json]
                                        [--sampling 0.1] [--min-step 1e-4] [--init GEOMETRY|MOMENTS] ...
    registration_reference.py tre       TRANSFORM.json [--dir bench/out/reg] [--truth DIR/truth.json]
    registration_reference.py bench     [--rounds 3] [--dir bench/out/reg] [--hounsfield BIN]

Run with bench/.venv/bin/python (`bash bench/setup.sh`: SimpleITK, numpy, scipy).

Transform convention (the same as issue 8's JSON and SimpleITK's registration result)
-------------------------------------------------------------------------------------
All points are in the fixed image's LPS world, in mm (what SimpleITK/ITK call physical points).
A 4x4 matrix M acts on column vectors [x, y, z, 1] and is stored row-major as a list of 4 rows:
q = M[:3, :3] @ p + M[:3, 3].

* `moving_from_fixed` maps a point p of the fixed image to the point of the moving image that shows
  the same anatomy. Resampling the moving image onto the fixed grid reads moving(moving_from_fixed(p))
  at each fixed voxel p. SimpleITK's ImageRegistrationMethod optimises exactly this transform
  (fixed(p) ~ moving(T(p))), so its result is stored as `moving_from_fixed` without inversion.
* `fixed_from_moving` is its inverse.

The known pair (make-pair)
--------------------------
G = rotation by 8 deg about the axis (1, 2, 3)/|(1, 2, 3)| (LPS) about the fixed image's physical
centre c (centre of the voxel grid: origin + D diag(spacing) (size-1)/2), then translation
t = (12, -7, 5) mm: G(p) = R (p - c) + c + t.
G is the truth's `moving_from_fixed`: anatomy at fixed point p is at G(p) in the moving image,
i.e. moving(y) = fixed(G^-1(y)), built as sitk.Resample(fixed, fixed, G.GetInverse(), linear, -1024).
The moving image then gets an intensity change 0.9*HU + 40 and independent Gaussian noise
(sigma 25 HU, numpy seed 8), is rounded and written as int16 on the fixed grid. A correct
registration returns T ~ G; T ~ G^-1 is the classic sign mistake (`tre` checks both).

Files in the pair directory: fixed.nii.gz (int16 HU, chest-ct's geometry), moving.nii.gz,
body_mask.nii.gz (uint8: fixed HU > -400, largest 26-connected component, holes filled per axial
slice, so the lungs count as body), truth.json.

TRE (tre)
---------
Over every 2nd voxel (in x, y and z) of the body mask: |T(p) - G(p)| in mm; prints mean / p95 / max,
the same against G^-1, the recovered rotation axis/angle and translation (t = T(c) - c with the
rotation about c, the fixed centre) next to the truth's.

SimpleITK registration (sitk)
-----------------------------
Float32 images; Euler3DTransform initialised by CenteredTransformInitializer(GEOMETRY) (centre of
rotation = fixed grid centre, zero initial translation: both images share the grid, so this is the
identity; MOMENTS is ill-defined on HU, whose "mass" is mostly negative); Mattes MI, 50 bins;
RANDOM sampling of 10 % of the voxels of each level, seed 8 (a fixed seed makes runs repeatable);
linear interpolation; regular-step gradient descent (learning rate 1, min step 1e-4, 200 iterations,
relaxation 0.5, scales from physical shift); 3 levels, shrink factors 4, 2, 1, smoothing sigmas
2, 1, 0 mm (physical units). Timed end to end inside the process (reading both NIfTI files +
registration) and written to sitk.json with the metric value per iteration count.

bench
-----
Runs the SimpleITK registration (`sitk`, a separate Python process) and ours
(`hounsfield register fixed.nii.gz moving.nii.gz --metric mi --out ours.json`) interleaved,
--rounds rounds (alternating which goes first, no warm-up: a run is ~tens of seconds and the
inputs are in the page cache after make-pair), timing each whole process; then TRE of every output.
If the binary is missing or has no `register` command yet, says so and runs SimpleITK alone.
Results: a table on stdout and DIR/results-register.json.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data")
PAIR_DIR = os.path.join(HERE, "out", "reg")
BIN = os.path.join(HERE, "..", "target", "release", "hounsfield")

ANGLE_DEG = 8.0
AXIS = (1.0, 2.0, 3.0)
TRANSLATION = (12.0, -7.0, 5.0)
INTENSITY = (0.9, 40.0)  # moving = a*HU + b (+ noise)
NOISE_SIGMA = 25.0
SEED = 8
BODY_HU = -400.0
TRE_STEP = 2  # every 2nd voxel in each axis

# issue 8 acceptance for ours
REQ_MEAN_TRE, REQ_MAX_TRE, REQ_SPEEDUP = 0.1, 0.25, 5.0


# ------------------------------------------------------------ geometry helpers
def grid_centre(img):
    """Physical (LPS mm) centre of the voxel grid: the centre between the first and last voxel centres."""
    return img.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2.0 for n in img.GetSize()])


def matrix_of(tx):
    """4x4 matrix (numpy) of an affine SimpleITK transform (any kind, composite too), from 4 points."""
    import numpy as np

    o = np.asarray(tx.TransformPoint((0.0, 0.0, 0.0)))
    m = np.eye(4)
    for i in range(3):
        e = [0.0, 0.0, 0.0]
        e[i] = 1.0
        m[:3, i] = np.asarray(tx.TransformPoint(tuple(e))) - o
    m[:3, 3] = o
    # check on a far point that the transform really is affine
    p = np.array([123.0, -234.0, 345.0])
    assert np.allclose(m[:3, :3] @ p + m[:3, 3], tx.TransformPoint(tuple(p)), atol=1e-6)
    return m


def rows(m):
    return [[float(v) for v in r] for r in m]


def find_key(obj, key):
    """First value of `key` anywhere in a JSON object (ours may nest it)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find_key(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_key(v, key)
            if r is not None:
                return r
    return None


def load_matrix(path, key="moving_from_fixed"):
    """4x4 from a JSON file: `key` as 4 rows of 4 or 16 numbers, row-major."""
    import numpy as np

    with open(path) as f:
        doc = json.load(f)
    v = find_key(doc, key)
    if v is None:
        sys.exit(f"{path}: no `{key}`")
    m = np.asarray(v, dtype=float).reshape(4, 4)
    if not np.allclose(m[3], [0, 0, 0, 1]):
        sys.exit(f"{path}: `{key}` last row is {m[3]}, expected [0, 0, 0, 1] (row-major?)")
    return m, doc


def axis_angle(r):
    """(unit axis, angle in degrees) of a rotation matrix."""
    import numpy as np

    ang = math.acos(max(-1.0, min(1.0, (np.trace(r) - 1.0) / 2.0)))
    v = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    n = np.linalg.norm(v)
    axis = v / n if n > 1e-12 else np.array([0.0, 0.0, 1.0])
    return axis, math.degrees(ang)


# ------------------------------------------------------------ make-pair
def read_series(folder):
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    return sitk.Cast(reader.Execute(), sitk.sitkInt16)  # HU (GDCM applies slope/intercept)


def body_mask(fixed_arr):
    """fixed HU > -400, largest 26-connected component, holes filled per axial slice. [z,y,x] uint8."""
    import numpy as np
    from scipy import ndimage

    m = fixed_arr > BODY_HU
    lab, n = ndimage.label(m, structure=np.ones((3, 3, 3), bool))
    if n > 1:
        counts = np.bincount(lab.ravel())
        counts[0] = 0
        m = lab == int(np.argmax(counts))
    for z in range(m.shape[0]):
        m[z] = ndimage.binary_fill_holes(m[z])
    return m.astype(np.uint8)


def truth_transform(center):
    import SimpleITK as sitk

    ax = [a / math.sqrt(sum(x * x for x in AXIS)) for a in AXIS]
    g = sitk.VersorRigid3DTransform()
    g.SetCenter(tuple(center))
    g.SetRotation(ax, math.radians(ANGLE_DEG))
    g.SetTranslation(TRANSLATION)
    return g, ax


def cmd_make_pair(a):
    import numpy as np
    import SimpleITK as sitk

    os.makedirs(a.out, exist_ok=True)
    fixed_path = os.path.join(a.out, "fixed.nii.gz")
    sitk.WriteImage(read_series(a.data), fixed_path)
    # read it back so G's centre and the moving grid use exactly the geometry stored in the NIfTI
    fixed = sitk.ReadImage(fixed_path)
    c = grid_centre(fixed)
    g, ax = truth_transform(c)
    gm = matrix_of(g)

    # moving(y) = fixed(G^-1(y)): Resample(out(x) = in(T(x))) with T = G^-1
    moved = sitk.Resample(fixed, fixed, g.GetInverse(), sitk.sitkLinear, -1024.0, sitk.sitkFloat32)
    arr = sitk.GetArrayFromImage(moved).astype(np.float64)
    rng = np.random.default_rng(SEED)
    arr = INTENSITY[0] * arr + INTENSITY[1] + rng.normal(0.0, NOISE_SIGMA, arr.shape)
    arr = np.clip(np.rint(arr), -32768, 32767).astype(np.int16)
    moving = sitk.GetImageFromArray(arr)
    moving.CopyInformation(fixed)
    sitk.WriteImage(moving, os.path.join(a.out, "moving.nii.gz"))

    mask = body_mask(sitk.GetArrayViewFromImage(fixed))
    mimg = sitk.GetImageFromArray(mask)
    mimg.CopyInformation(fixed)
    sitk.WriteImage(mimg, os.path.join(a.out, "body_mask.nii.gz"))

    truth = {
        "description": (
            "Known rigid transform of the pair. Points are LPS mm in the fixed image's world; "
            "4x4 row-major, q = M @ [p, 1]. moving_from_fixed = G maps a fixed point p to the moving "
            "point showing the same anatomy: moving(y) = fixed(G^-1(y)). A registration of "
            "(fixed, moving) should recover moving_from_fixed ~ G (SimpleITK's result directly)."
        ),
        "moving_from_fixed": rows(gm),
        "fixed_from_moving": rows(np.linalg.inv(gm)),
        "center_lps_mm": list(c),
        "rotation_axis_lps": ax,
        "rotation_deg": ANGLE_DEG,
        "translation_mm": list(TRANSLATION),
        "form": "G(p) = R (p - center) + center + translation",
        "moving_intensity": f"round({INTENSITY[0]} * resampled_HU + {INTENSITY[1]} + N(0, {NOISE_SIGMA}^2)), "
                            f"numpy default_rng({SEED}); outside the fixed volume resampled_HU = -1024",
        "body_mask": f"fixed HU > {BODY_HU}, largest 26-connected component, holes filled per axial slice",
        "body_voxels": int(mask.sum()),
        "size_xyz": list(fixed.GetSize()),
        "spacing_mm": list(fixed.GetSpacing()),
        "origin_lps_mm": list(fixed.GetOrigin()),
        "direction": list(fixed.GetDirection()),
    }
    with open(os.path.join(a.out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=2)
    print(f"wrote {a.out}/fixed.nii.gz, moving.nii.gz, body_mask.nii.gz ({int(mask.sum())} voxels), truth.json")
    print(f"centre {np.round(c, 4).tolist()} mm; G: {ANGLE_DEG} deg about {np.round(ax, 4).tolist()}, "
          f"t = {list(TRANSLATION)} mm")
    print("moving_from_fixed =\n" + np.array2string(gm, precision=6, suppress_small=True))


# ------------------------------------------------------------ SimpleITK registration
def cmd_sitk(a):
    import SimpleITK as sitk

    t0 = time.perf_counter()
    fixed = sitk.ReadImage(os.path.join(a.dir, "fixed.nii.gz"), sitk.sitkFloat32)
    moving = sitk.ReadImage(os.path.join(a.dir, "moving.nii.gz"), sitk.sitkFloat32)
    t1 = time.perf_counter()

    init = sitk.CenteredTransformInitializer(
        fixed, moving, sitk.Euler3DTransform(), getattr(sitk.CenteredTransformInitializerFilter, a.init))
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=a.bins)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(a.sampling, SEED)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=a.learning_rate, minStep=a.min_step, numberOfIterations=a.iterations,
        relaxationFactor=0.5, gradientMagnitudeTolerance=1e-8)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([4, 2, 1])
    reg.SetSmoothingSigmasPerLevel([2.0, 1.0, 0.0])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    reg.SetInitialTransform(init, inPlace=False)

    levels = []
    reg.AddCommand(sitk.sitkMultiResolutionIterationEvent, lambda: levels.append([]))
    reg.AddCommand(sitk.sitkIterationEvent, lambda: levels[-1].append(reg.GetMetricValue()))
    tx = reg.Execute(fixed, moving)
    t2 = time.perf_counter()

    import numpy as np

    m = matrix_of(tx)
    out = {
        "tool": f"SimpleITK {sitk.Version.VersionString()}",
        "moving_from_fixed": rows(m),
        "fixed_from_moving": rows(np.linalg.inv(m)),
        "convention": "LPS mm of the fixed image, 4x4 row-major; SimpleITK's registration transform "
                      "maps fixed points to moving points, so it is moving_from_fixed as is",
        "time_s": t2 - t0,
        "read_s": t1 - t0,
        "register_s": t2 - t1,
        "threads": sitk.ProcessObject.GetGlobalDefaultNumberOfThreads(),
        "stop": reg.GetOptimizerStopConditionDescription(),
        "final_metric": reg.GetMetricValue(),
        "iterations_per_level": [len(l) for l in levels],
        "metric_per_level": levels,
        "config": {
            "transform": f"Euler3DTransform, CenteredTransformInitializer {a.init}",
            "initial_moving_from_fixed": rows(matrix_of(init)),
            "metric": f"Mattes MI, {a.bins} bins, RANDOM sampling {a.sampling:.0%} per level, seed {SEED}",
            "interpolator": "linear",
            "optimizer": f"RegularStepGradientDescent lr={a.learning_rate} minStep={a.min_step} "
                         f"iters={a.iterations} relaxation=0.5, scales from physical shift",
            "pyramid": "shrink 4,2,1; smoothing sigmas 2,1,0 mm (physical)",
        },
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"internal: load_s={t1 - t0:.4f} op_s={t2 - t1:.4f}")
    print(f"sitk: {t2 - t0:.2f} s (read {t1 - t0:.2f} s), iterations per level "
          f"{out['iterations_per_level']}, final metric {out['final_metric']:.5f}; {out['stop']}")
    print(f"wrote {a.out}")


# ------------------------------------------------------------ TRE
def body_points(pair_dir):
    """Physical points (N, 3) of every TRE_STEP-th body voxel of the fixed image."""
    import numpy as np
    import SimpleITK as sitk

    mpath = os.path.join(pair_dir, "body_mask.nii.gz")
    if os.path.exists(mpath):
        mimg = sitk.ReadImage(mpath)
        mask = sitk.GetArrayViewFromImage(mimg)
    else:
        mimg = sitk.ReadImage(os.path.join(pair_dir, "fixed.nii.gz"))
        mask = body_mask(sitk.GetArrayViewFromImage(mimg))
    s = TRE_STEP
    zyx = np.argwhere(mask[::s, ::s, ::s]) * s
    ijk = zyx[:, ::-1].astype(np.float64)  # index (x, y, z)
    d = np.asarray(mimg.GetDirection()).reshape(3, 3)
    sp = np.asarray(mimg.GetSpacing())
    return (ijk * sp) @ d.T + np.asarray(mimg.GetOrigin())


def tre_stats(m, ref, pts):
    import numpy as np

    a = pts @ m[:3, :3].T + m[:3, 3]
    b = pts @ ref[:3, :3].T + ref[:3, 3]
    e = np.linalg.norm(a - b, axis=1)
    return {"mean": float(e.mean()), "p95": float(np.percentile(e, 95)), "max": float(e.max())}


def evaluate(path, truth_path, pair_dir, pts=None, quiet=False):
    import numpy as np

    g, truth = load_matrix(truth_path)
    m, doc = load_matrix(path)
    if pts is None:
        pts = body_points(pair_dir)
    res = tre_stats(m, g, pts)
    inv = tre_stats(m, np.linalg.inv(g), pts)
    res["vs_inverse_truth"] = inv
    res["sign_mistake"] = inv["mean"] < res["mean"]
    res["points"] = int(len(pts))
    fm = find_key(doc, "fixed_from_moving")
    if fm is not None:
        res["fixed_from_moving_error"] = float(np.abs(np.asarray(fm, float).reshape(4, 4) @ m - np.eye(4)).max())
    if quiet:
        return res

    c = np.asarray(truth["center_lps_mm"])
    print(f"{path}: {len(pts)} body points (every {TRE_STEP}nd voxel)")
    print(f"  TRE vs G    (truth moving_from_fixed): mean {res['mean']:.4f}  p95 {res['p95']:.4f}  "
          f"max {res['max']:.4f} mm")
    print(f"  TRE vs G^-1 (truth fixed_from_moving): mean {inv['mean']:.4f}  p95 {inv['p95']:.4f}  "
          f"max {inv['max']:.4f} mm")
    for name, mm in (("truth G  ", g), ("recovered", m)):
        ax, ang = axis_angle(mm[:3, :3])
        t = mm[:3, :3] @ c + mm[:3, 3] - c
        print(f"  {name}: {ang:8.4f} deg about ({ax[0]:+.4f}, {ax[1]:+.4f}, {ax[2]:+.4f}), "
              f"t = T(c) - c = ({t[0]:+.4f}, {t[1]:+.4f}, {t[2]:+.4f}) mm")
    dax, dang = axis_angle(m[:3, :3] @ g[:3, :3].T)
    print(f"  rotation error |R R_G^T| = {dang:.5f} deg; translation error at c = "
          f"{np.linalg.norm(m[:3, :3] @ c + m[:3, 3] - (g[:3, :3] @ c + g[:3, 3])):.4f} mm")
    if "fixed_from_moving_error" in res:
        e = res["fixed_from_moving_error"]
        print(f"  fixed_from_moving @ moving_from_fixed - I: max {e:.2e}" + ("  !! NOT INVERSES" if e > 1e-6 else ""))
    if res["sign_mistake"]:
        print("  !! SIGN MISTAKE: the transform is closer to G^-1 than to G "
              "(moving_from_fixed and fixed_from_moving swapped?)")
    ok = res["mean"] <= REQ_MEAN_TRE and res["max"] <= REQ_MAX_TRE
    print(f"  issue 8 accuracy (mean <= {REQ_MEAN_TRE}, max <= {REQ_MAX_TRE} mm): {'PASS' if ok else 'FAIL'}")
    return res


def cmd_tre(a):
    evaluate(a.transform, a.truth or os.path.join(a.dir, "truth.json"), a.dir)


# ------------------------------------------------------------ bench
def peer_env():
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    return env


def ours_available(binary):
    """(True, '') or (False, reason)."""
    if not os.path.exists(binary):
        return False, f"no binary at {binary} (cargo build --release)"
    p = subprocess.run([binary, "register", "--help"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        msg = (p.stderr or p.stdout).strip().splitlines()
        return False, (f"{binary} has no `register` command yet (issue 8 pending): "
                       f"{msg[0] if msg else 'exit ' + str(p.returncode)}")
    return True, ""


def timed(argv, env):
    t = time.perf_counter()
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(argv)}\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    return wall, p


def cmd_bench(a):
    import SimpleITK as sitk

    for f in ("fixed.nii.gz", "moving.nii.gz", "truth.json"):
        if not os.path.exists(os.path.join(a.dir, f)):
            sys.exit(f"no {a.dir}/{f}: run `{sys.argv[0]} make-pair --out {a.dir}` first")
    truth = os.path.join(a.dir, "truth.json")
    have_ours, why = ours_available(a.hounsfield)
    if not have_ours:
        print(f"!! ours SKIPPED: {why}", flush=True)

    pts = body_points(a.dir)
    fixed, moving = os.path.join(a.dir, "fixed.nii.gz"), os.path.join(a.dir, "moving.nii.gz")
    with tempfile.TemporaryDirectory(dir=a.dir) as tmp:
        tools = {"sitk": lambda r: ([sys.executable, os.path.abspath(__file__), "sitk", "--dir", a.dir,
                                     "--out", os.path.join(tmp, f"sitk-{r}.json")], peer_env(),
                                    os.path.join(tmp, f"sitk-{r}.json"))}
        if have_ours:
            tools["ours"] = lambda r: ([a.hounsfield, "register", fixed, moving, "--metric", "mi",
                                        "--out", os.path.join(tmp, f"ours-{r}.json")], dict(os.environ),
                                       os.path.join(tmp, f"ours-{r}.json"))
        samples = {k: [] for k in tools}
        for r in range(a.rounds):
            names = list(tools) if r % 2 == 0 else list(reversed(tools))
            line = []
            for name in names:
                argv, env, out = tools[name](r)
                wall, p = timed(argv, env)
                tre = evaluate(out, truth, a.dir, pts=pts, quiet=True)
                samples[name].append({"wall_s": wall, "tre": tre, "argv": argv,
                                      "stdout_tail": p.stdout[-1500:], "stderr_tail": p.stderr[-1500:]})
                line.append(f"{name} {wall:.2f} s (TRE mean {tre['mean']:.4f} max {tre['max']:.4f} mm"
                            f"{', SIGN MISTAKE' if tre['sign_mistake'] else ''})")
            print(f"round {r + 1}/{a.rounds}: " + "; ".join(line), flush=True)
        for name in tools:  # keep the last outputs next to the pair
            os.replace(os.path.join(tmp, f"{name}-{a.rounds - 1}.json"), os.path.join(a.dir, f"bench-{name}.json"))

    summary = {}
    for name, s in samples.items():
        w = [x["wall_s"] for x in s]
        summary[name] = {
            "wall_med_s": statistics.median(w), "wall_min_s": min(w), "wall_max_s": max(w),
            "tre_mean_mm_worst": max(x["tre"]["mean"] for x in s),
            "tre_max_mm_worst": max(x["tre"]["max"] for x in s),
            "sign_mistake": any(x["tre"]["sign_mistake"] for x in s),
        }
    print(f"\nchest-ct known-transform pair, {a.rounds} rounds interleaved, whole process "
          f"(read both NIfTI + register + write JSON)")
    print(f"{'tool':<6} {'wall med s':>10} {'wall min s':>10} {'ratio':>7} {'TRE mean mm':>12} {'TRE max mm':>11}")
    for name, s in summary.items():
        ratio = (summary["sitk"]["wall_med_s"] / s["wall_med_s"]) if "ours" in summary else float("nan")
        print(f"{name:<6} {s['wall_med_s']:10.2f} {s['wall_min_s']:10.2f} "
              f"{ratio if name == 'ours' else 1.0:7.2f} {s['tre_mean_mm_worst']:12.4f} {s['tre_max_mm_worst']:11.4f}"
              f"{'  SIGN MISTAKE (T ~ G^-1)' if s['sign_mistake'] else ''}")
    print("ratio = sitk median / ours median (> 1: ours faster); TRE = worst over the rounds, body voxels")
    if "ours" in summary:
        o = summary["ours"]
        speed = summary["sitk"]["wall_med_s"] / o["wall_med_s"]
        ok_acc = o["tre_mean_mm_worst"] <= REQ_MEAN_TRE and o["tre_max_mm_worst"] <= REQ_MAX_TRE
        print(f"issue 8: accuracy (mean <= {REQ_MEAN_TRE}, max <= {REQ_MAX_TRE} mm) "
              f"{'PASS' if ok_acc and not o['sign_mistake'] else 'FAIL'}; speed >= {REQ_SPEEDUP}x "
              f"{'PASS' if speed >= REQ_SPEEDUP else 'FAIL'} ({speed:.2f}x)")
    else:
        print("ours: pending (no `register` command)")

    res = {"rounds": a.rounds, "summary": summary, "samples": samples, "ours_skipped": None if have_ours else why,
           "SimpleITK": sitk.Version.VersionString(), "python": sys.version.split()[0],
           "tre_points": int(len(pts))}
    path = os.path.join(a.dir, "results-register.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    print(f"wrote {path}")


# ------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mp = sub.add_parser("make-pair", help="write fixed/moving/body mask/truth")
    mp.add_argument("--out", default=PAIR_DIR)
    mp.add_argument("--data", default=os.path.join(DATA, "chest-ct"))
    s = sub.add_parser("sitk", help="SimpleITK registration → sitk.json")
    s.add_argument("--dir", default=PAIR_DIR)
    s.add_argument("--out")
    s.add_argument("--bins", type=int, default=50)
    s.add_argument("--sampling", type=float, default=0.10, help="fraction of voxels per level (RANDOM)")
    s.add_argument("--learning-rate", type=float, default=1.0)
    s.add_argument("--min-step", type=float, default=1e-4)
    s.add_argument("--iterations", type=int, default=200)
    s.add_argument("--init", choices=["GEOMETRY", "MOMENTS"], default="GEOMETRY")
    t = sub.add_parser("tre", help="TRE of a transform JSON against the truth")
    t.add_argument("transform")
    t.add_argument("--dir", default=PAIR_DIR)
    t.add_argument("--truth")
    b = sub.add_parser("bench", help="SimpleITK vs hounsfield register, interleaved")
    b.add_argument("--rounds", type=int, default=3)
    b.add_argument("--dir", default=PAIR_DIR)
    b.add_argument("--hounsfield", default=BIN)
    a = ap.parse_args()
    if getattr(a, "out", None) is None and a.cmd == "sitk":
        a.out = os.path.join(a.dir, "sitk.json")
    {"make-pair": cmd_make_pair, "sitk": cmd_sitk, "tre": cmd_tre, "bench": cmd_bench}[a.cmd](a)


if __name__ == "__main__":
    main()
