#!/usr/bin/env python3
"""Mutation fuzz of the `hounsfield` binary over real files.

Takes the DICOM (and NIfTI/NRRD/NPY) files under the data folder, mutates
them (bit flips, truncation, large length fields, repeated chunks, extreme
values in the image-size attributes), runs `hounsfield info FILE` and
`hounsfield convert FILE --out X.nii` on each, and checks every run:

- exit code 0 or 1 only (101 = a panic; a signal = a crash),
- no "panicked" / "internal error" in stderr,
- inputs of at most 1 MB answered in at most 1 s and 256 MB peak RSS.

Offending inputs are kept in --keep (outside the repo) for reproduction.
Usage:
  python3 bench/mutate.py --bin target/release/hounsfield --data ../shared/data \
      --count 3000 [--seed 1] [--jobs 2] [--keep /tmp/mutate-fails]
Exits 1 if any check failed.
"""

import argparse
import concurrent.futures as cf
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

MAX_SMALL = 1 << 20
TIME_LIMIT_S = 1.0
RSS_LIMIT_KB = 256 * 1024

# Tags whose values drive allocations: (group, element) little endian bytes.
SIZE_TAGS = [
    b"\x28\x00\x10\x00",  # Rows
    b"\x28\x00\x11\x00",  # Columns
    b"\x28\x00\x08\x00",  # NumberOfFrames
    b"\x28\x00\x00\x01",  # BitsAllocated
    b"\x28\x00\x02\x00",  # SamplesPerPixel
    b"\xe0\x7f\x10\x00",  # PixelData (its length)
    b"\xfe\xff\x00\xe0",  # Item (fragment / item lengths)
]
BIG = [0xFFFF, 0x7FFF, 0x8000, 0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFF0, 1 << 24, 4096, 65535]


def seeds(data):
    out = []
    for root, _, files in os.walk(data):
        for f in files:
            p = os.path.join(root, f)
            low = f.lower()
            if low.endswith((".png", ".md", ".txt", ".npz", ".json", ".csv")):
                continue
            try:
                size = os.path.getsize(p)
            except OSError:
                continue
            if 0 < size <= 2 * MAX_SMALL:
                out.append(p)
    out.sort()
    return out


def mutate(buf, rng):
    b = bytearray(buf)
    kind = rng.choice(["flip", "truncate", "length", "repeat", "size_tag", "size_tag", "bytes"])
    if kind == "flip" and b:
        for _ in range(rng.randint(1, 16)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "truncate" and len(b) > 2:
        b = b[: rng.randrange(1, len(b))]
    elif kind == "length" and len(b) > 8:
        i = rng.randrange(len(b) - 4)
        b[i : i + 4] = struct.pack("<I", rng.choice(BIG))
    elif kind == "repeat" and len(b) > 16:
        i = rng.randrange(len(b) - 8)
        n = rng.randint(4, min(4096, len(b) - i))
        chunk = b[i : i + n]
        b[i:i] = chunk * rng.randint(1, 8)
    elif kind == "size_tag":
        tag = rng.choice(SIZE_TAGS)
        hits = []
        start = b.find(tag)
        while start != -1 and len(hits) < 64:
            hits.append(start)
            start = b.find(tag, start + 1)
        if hits:
            i = rng.choice(hits) + 4
            # explicit VR (2 bytes VR + 2 bytes length, or VR + 2 reserved + 4),
            # implicit (4 bytes length): hit the value or the length
            j = i + rng.choice([0, 2, 4, 6, 8])
            if j + 4 <= len(b):
                if rng.random() < 0.5:
                    b[j : j + 2] = struct.pack("<H", rng.choice(BIG) & 0xFFFF)
                else:
                    b[j : j + 4] = struct.pack("<I", rng.choice(BIG))
        elif b:
            b[rng.randrange(len(b))] ^= 0xFF
    elif b:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
    return bytes(b)


# As a user runs it: RUST_BACKTRACE (set by .ci/run and many shells) makes the
# binary keep Rust's default panic hook, whose backtrace report of a *caught*
# decoder panic is a developer's view (many lines, and symbolising it costs
# ~250 MB), not what a user sees.
USER_ENV = {k: v for k, v in os.environ.items() if k != "RUST_BACKTRACE"}


def run_rusage(cmd, cwd):
    """Run cmd, return (code, wall_s, stderr, timed_out, maxrss_kb)."""
    t0 = time.perf_counter()
    errf = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf, cwd=cwd, env=USER_ENV)
    timed_out = False
    deadline = t0 + 30
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid != 0:
            break
        if time.perf_counter() > deadline:
            p.kill()
            timed_out = True
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.002)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    errf.seek(0)
    err = errf.read().decode("utf-8", "replace")
    return p.returncode, wall, err, timed_out, ru.ru_maxrss


def check(binary, path, size, workdir):
    out = []
    for cmd in (
        [binary, "info", path],
        [binary, "convert", path, "--out", os.path.join(workdir, "x.nii")],
    ):
        code, wall, err, timed_out, rss = run_rusage(cmd, workdir)
        problems = []
        if code not in (0, 1):
            problems.append(f"exit {code}")
        # A decoder panic caught by the firewall is a one-line error (exit 1);
        # "internal error" means a panic reached main.
        if "internal error" in err or "thread '" in err:
            problems.append("panic: " + err.strip().splitlines()[-1][:200])
        if code == 1 and len(err.strip().splitlines()) > 1:
            problems.append("more than one line on stderr")
        if timed_out:
            problems.append("timeout 30 s")
        if size <= MAX_SMALL and wall > TIME_LIMIT_S:
            problems.append(f"{wall:.2f} s")
        if size <= MAX_SMALL and rss > RSS_LIMIT_KB:
            problems.append(f"{rss / 1024:.0f} MB RSS")
        out.append((cmd[1], code, wall, rss, problems, err.strip().splitlines()[-1:] or [""]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/hounsfield")
    ap.add_argument("--data", default=os.environ.get("HOUNSFIELD_DATA", "../shared/data"))
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", default="/tmp/mutate-fails")
    args = ap.parse_args()

    files = seeds(args.data)
    if not files:
        sys.exit(f"no seed files under {args.data}")
    rng = random.Random(args.seed)
    binary = os.path.abspath(args.bin)
    os.makedirs(args.keep, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="hf-mutate-")
    cache = {}

    def case(i):
        src = files[rng.randrange(len(files))]
        if src not in cache:
            with open(src, "rb") as f:
                cache[src] = f.read()
        data = mutate(cache[src], rng)
        work = os.path.join(tmp, f"w{i}")
        os.makedirs(work, exist_ok=True)
        name = os.path.basename(src)
        if not name.lower().endswith((".nii", ".nii.gz", ".nrrd", ".npy", ".dcm")):
            name += ".dcm"
        path = os.path.join(work, name)
        with open(path, "wb") as f:
            f.write(data)
        return i, src, path, len(data), work

    cases = [case(i) for i in range(args.count)]
    stats = {"runs": 0, "exit0": 0, "exit1": 0, "fail": 0, "max_wall": 0.0, "max_rss_kb": 0}
    fails = []
    t0 = time.time()
    with cf.ThreadPoolExecutor(args.jobs) as pool:
        futs = {pool.submit(check, binary, path, size, work): (i, src, path, size) for i, src, path, size, work in cases}
        for fut in cf.as_completed(futs):
            i, src, path, size = futs[fut]
            for cmd, code, wall, rss, problems, last in fut.result():
                stats["runs"] += 1
                stats["exit0" if code == 0 else "exit1" if code == 1 else "fail"] += 1
                if size <= MAX_SMALL:
                    stats["max_wall"] = max(stats["max_wall"], wall)
                    stats["max_rss_kb"] = max(stats["max_rss_kb"], rss)
                if problems:
                    keep = os.path.join(args.keep, f"case{i}-{os.path.basename(path)}")
                    shutil.copy(path, keep)
                    fails.append((cmd, keep, src, size, problems, last[0][:200]))
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(cases)} inputs from {len(files)} seeds, {stats['runs']} runs in {time.time() - t0:.0f} s")
    print(f"exit 0: {stats['exit0']}, exit 1: {stats['exit1']}, other exits: {stats['fail']}")
    print(f"inputs <= 1 MB: slowest {stats['max_wall']:.3f} s, peak RSS {stats['max_rss_kb'] / 1024:.0f} MB")
    print(f"{len(fails)} failed checks")
    for cmd, keep, src, size, problems, last in fails[:50]:
        print(f"  {cmd} {keep} (from {src}, {size} B): {'; '.join(problems)} | {last}")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
