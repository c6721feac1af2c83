#!/usr/bin/env python3
"""Interleaved (round-robin) benchmark of hounsfield against peers. Run via bench/compare.sh.

Stdlib only: it is the driver; the peers run in bench/.venv.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV_PY = os.path.join(HERE, ".venv", "bin", "python")
VENV_BIN = os.path.join(HERE, ".venv", "bin")
PEERS = os.path.join(HERE, "peers.py")
# Peers run without these (they select an old, slow OpenBLAS kernel here; see README).
PEER_ENV_UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
INTERNAL_RE = re.compile(r"internal:\s*load_s=([0-9.eE+-]+)\s+op_s=([0-9.eE+-]+)")


def tools_for(op, data, ours, iso):
    """[(name, kind, argv-builder(outdir) -> (argv, output path))]. kind: 'ours' or 'peer'."""
    py = [VENV_PY, PEERS]
    if op == "load":
        return [
            ("ours", "ours", lambda o: ([ours, "convert", data, "--out", f"{o}/hu.npy"], f"{o}/hu.npy")),
            ("pydicom", "peer", lambda o: (py + ["load-pydicom", data, f"{o}/hu.npy"], f"{o}/hu.npy")),
            ("sitk", "peer", lambda o: (py + ["load-sitk", data, f"{o}/hu.nii"], f"{o}/hu.nii")),
            ("dcm2niix", "peer", lambda o: ([os.path.join(VENV_BIN, "dcm2niix"), "-z", "n", "-o", o, data], o)),
        ]
    s = f"{iso:g}"
    return [
        ("ours", "ours", lambda o: ([ours, "resample", data, "--spacing", s, "--out", f"{o}/iso.npy"], f"{o}/iso.npy")),
        ("sitk", "peer", lambda o: (py + ["resample-sitk", data, f"{o}/iso.npy", "--spacing", s], f"{o}/iso.npy")),
        ("scipy", "peer", lambda o: (py + ["resample-scipy", data, f"{o}/iso.npy", "--spacing", s], f"{o}/iso.npy")),
    ]


def run_once(argv, env, outdir, timefile):
    """One timed process. Returns dict(wall_s, rss_mb, cpu_s, load_s, op_s) or raises."""
    shutil.rmtree(outdir, ignore_errors=True)  # untimed: fresh output dir every run
    os.makedirs(outdir)
    cmd = ["/usr/bin/time", "-f", "%M %U %S", "-o", timefile] + argv
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        tail = (p.stdout + p.stderr).strip().splitlines()[-8:]
        raise RuntimeError(f"exit {p.returncode}: " + "\n    ".join(tail))
    with open(timefile) as f:
        rss_kb, usr, sys_ = f.read().strip().splitlines()[-1].split()
    r = {"wall_s": wall, "rss_mb": int(rss_kb) / 1024.0, "cpu_s": float(usr) + float(sys_)}
    m = None
    for m in INTERNAL_RE.finditer(p.stdout + "\n" + p.stderr):
        pass  # keep the last match
    if m:
        r["load_s"], r["op_s"] = float(m.group(1)), float(m.group(2))
    return r


def summarize(samples, key):
    vals = [s[key] for s in samples if key in s]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def fmt(v, spec="{:.3f}"):
    return "-" if v is None else spec.format(v)


def ratio(peer, ours):
    return None if (peer is None or ours in (None, 0)) else peer / ours


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("op", choices=["load", "resample"])
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 5)))
    ap.add_argument("--data", default=os.environ.get("DATA", os.path.join(ROOT, "..", "shared", "data", "chest-ct")))
    ap.add_argument("--spacing", type=float, default=1.0)
    ap.add_argument("--ours", default=os.environ.get("HOUNSFIELD", os.path.join(ROOT, "target", "release", "hounsfield")))
    a = ap.parse_args()
    data = os.path.abspath(a.data)
    ours = os.path.abspath(a.ours)

    tools = tools_for(a.op, data, ours, a.spacing)
    if not (os.path.isfile(ours) and os.access(ours, os.X_OK)):
        print(f"!! ours SKIPPED: no executable at {ours} (set HOUNSFIELD=/path/to/hounsfield or "
              f"`cargo build --release`); peers only, no ratios.")
        tools = [t for t in tools if t[1] != "ours"]

    base_env = dict(os.environ)
    peer_env = {k: v for k, v in base_env.items() if k not in PEER_ENV_UNSET}
    ours_env = dict(base_env, HOUNSFIELD_TIMING="1")

    tmp = tempfile.mkdtemp(prefix=f"hounsfield-bench-{a.op}-")
    samples = {t[0]: [] for t in tools}
    failed = {}
    commands = {}
    try:
        k = len(tools)
        # round 0 = warm-up (discarded): warms page cache, .pyc, dynamic loader.
        for rnd in range(a.rounds + 1):
            label = "warm-up" if rnd == 0 else f"round {rnd}/{a.rounds}"
            line = []
            # round-robin, start rotated each round so no tool always runs first/after the same one
            for j in range(k):
                name, kind, build = tools[(rnd + j) % k]
                if name in failed:
                    continue
                outdir = os.path.join(tmp, name)
                argv, _ = build(outdir)
                commands[name] = argv
                env = peer_env if kind == "peer" else ours_env
                try:
                    r = run_once(argv, env, outdir, os.path.join(tmp, "time.txt"))
                except RuntimeError as e:
                    failed[name] = str(e)
                    print(f"!! {name} FAILED ({label}): {e}")
                    continue
                if rnd > 0:
                    samples[name].append(r)
                line.append(f"{name} {r['wall_s']:.2f}s")
            print(f"[{label}] " + ", ".join(line), flush=True)

        # untimed output check on the last round's outputs
        spec = {t[0]: t[2](os.path.join(tmp, t[0]))[1] for t in tools if t[0] not in failed}
        check = {}
        try:
            p = subprocess.run([VENV_PY, PEERS, "verify", a.op, json.dumps(spec)], env=peer_env,
                               capture_output=True, text=True, timeout=600)
            check = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else {"error": p.stderr[-500:]}
        except Exception as e:
            check = {"error": str(e)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # ---------------------------------------------------------- results
    res = {}
    for name, kind, _ in tools:
        s = samples[name]
        res[name] = {
            "kind": kind,
            "command": (("env " + " ".join(f"-u {v}" for v in PEER_ENV_UNSET) + " ") if kind == "peer" else "HOUNSFIELD_TIMING=1 ")
                       + " ".join(commands.get(name, [])),
            "failed": failed.get(name),
            "wall_s": summarize(s, "wall_s"),
            "cpu_s": summarize(s, "cpu_s"),
            "peak_rss_mb": max((x["rss_mb"] for x in s), default=None),
            "internal_load_s": summarize(s, "load_s"),
            "internal_op_s": summarize(s, "op_s"),
            "samples": s,
            "check": check.get(name),
        }
    o = res.get("ours")
    o_wall = o["wall_s"]["median"] if o and o["wall_s"] else None
    o_op = o["internal_op_s"]["median"] if o and o["internal_op_s"] else None
    o_rss = o["peak_rss_mb"] if o else None
    for name, r in res.items():
        if name == "ours":
            continue
        r["ratio_wall_peer_over_ours"] = ratio(r["wall_s"]["median"] if r["wall_s"] else None, o_wall)
        r["ratio_op_peer_over_ours"] = ratio(r["internal_op_s"]["median"] if r["internal_op_s"] else None, o_op)
        r["ratio_rss_peer_over_ours"] = ratio(r["peak_rss_mb"], o_rss)

    title = {"load": "LOAD chest-ct to HU volume (+ write)",
             "resample": f"RESAMPLE chest-ct to {a.spacing:g} mm isotropic, linear (+ load + write)"}[a.op]
    print(f"\n== {title}   [{a.rounds} rounds after 1 warm-up, interleaved; ratio = peer/ours, >1 means ours is faster/smaller]")
    hdr = f"{'tool':<9} {'wall med s':>10} {'wall min s':>10} {'ratio':>6} {'peak RSS MB':>11} {'ratio':>6}"
    if a.op == "resample":
        hdr += f"  {'op med s':>8} {'op min s':>8} {'ratio':>6} {'load med s':>10}"
    hdr += "  check"
    print(hdr)
    print("-" * len(hdr))
    for name, r in res.items():
        w = r["wall_s"] or {}
        row = (f"{name:<9} {fmt(w.get('median')):>10} {fmt(w.get('min')):>10} "
               f"{fmt(r.get('ratio_wall_peer_over_ours'), '{:.2f}'):>6} {fmt(r['peak_rss_mb'], '{:.0f}'):>11} "
               f"{fmt(r.get('ratio_rss_peer_over_ours'), '{:.2f}'):>6}")
        if a.op == "resample":
            op, ld = r["internal_op_s"] or {}, r["internal_load_s"] or {}
            row += (f"  {fmt(op.get('median')):>8} {fmt(op.get('min')):>8} "
                    f"{fmt(r.get('ratio_op_peer_over_ours'), '{:.2f}'):>6} {fmt(ld.get('median')):>10}")
        c = r["check"]
        row += "  " + ("FAILED to run" if r["failed"] else "-" if not c else ("ok" if c.get("ok") else "MISMATCH"))
        if c and a.op == "resample" and "vs_sitk_mean_abs" in c:
            row += f" (vs sitk mean|d| {c['vs_sitk_mean_abs']} HU)"
        print(row)
    if a.op == "resample" and "ours" in res and not (res["ours"]["internal_op_s"]):
        print("note: ours printed no `internal: load_s=… op_s=…` line on stderr (HOUNSFIELD_TIMING=1): no op ratio")
    if "error" in check:
        print(f"note: output check failed to run: {check['error']}")
    for name, r in res.items():
        if r["check"] and not r["check"].get("ok") and not r["failed"]:
            print(f"note: {name} output check: {json.dumps(r['check'])}")
    print("\ncommands (OUT = a fresh temp dir per run, removed at the end):")
    for name, r in res.items():
        print(f"  {name:<9} {r['command']}")

    versions = {}
    try:
        p = subprocess.run([VENV_PY, PEERS, "versions"], env=peer_env, capture_output=True, text=True, timeout=120)
        versions = json.loads(p.stdout)
    except Exception:
        pass
    if "ours" in res:
        try:
            versions["hounsfield"] = subprocess.run([ours, "--version"], capture_output=True, text=True,
                                                    timeout=30).stdout.strip()
        except Exception:
            pass
    out = {
        "op": a.op,
        "title": title,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": {"nproc": os.cpu_count(), "machine": platform.machine(), "kernel": platform.release()},
        "rounds": a.rounds,
        "warmup_rounds": 1,
        "data": data,
        "spacing_mm": a.spacing if a.op == "resample" else None,
        "ours_present": "ours" in res,
        "versions": versions,
        "tools": res,
    }
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    path = os.path.join(HERE, "out", f"results-{a.op}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
    print(f"\nJSON: {os.path.relpath(path, os.getcwd())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
