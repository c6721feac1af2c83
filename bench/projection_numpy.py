"""numpy reference for `benches/projection.rs`: time np.max / np.mean over
axis 0 (axial MIP / AIP) of the chest CT loaded by `peers.pydicom_hu`.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE bench/.venv/bin/python bench/projection_numpy.py [FOLDER]
Prints: numpy max_s=... mean_s=...  (median of 5 runs each)
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import pydicom_hu  # noqa: E402


def median_time(fn, runs=5):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.environ.get("HOUNSFIELD_DATA", os.path.join(here, "..", "..", "shared", "data"))
    folder = argv[1] if len(argv) > 1 else os.path.join(default, "chest-ct")
    import numpy as np

    vol, _ = pydicom_hu(folder)
    np.max(vol, axis=0)  # warm-up
    max_s = median_time(lambda: np.max(vol, axis=0))
    mean_s = median_time(lambda: np.mean(vol, axis=0))
    print(f"numpy max_s={max_s:.6f} mean_s={mean_s:.6f} shape={vol.shape}")


if __name__ == "__main__":
    main(sys.argv)
