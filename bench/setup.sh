#!/usr/bin/env bash
# Create/refresh the peer venv bench/.venv (idempotent) and print tool versions.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3}"

# GNU time for peak RSS (/usr/bin/time -f %M).
if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
  echo "installing GNU time (apt)" >&2
  apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pkgs=(pydicom SimpleITK dcm2niix numpy scipy threadpoolctl imageio pillow scikit-image)
# Only hit pip when something is missing; BENCH_UPGRADE=1 forces an upgrade.
if [ "${BENCH_UPGRADE:-0}" = 1 ] || ! "$venv/bin/python" -c 'import pydicom, SimpleITK, numpy, scipy, threadpoolctl, imageio, skimage' 2>/dev/null \
   || [ ! -x "$venv/bin/dcm2niix" ]; then
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q ${BENCH_UPGRADE:+--upgrade} "${pkgs[@]}"
fi

echo "== peer versions (bench/.venv)"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" - <<'PY'
import sys, pydicom, SimpleITK, numpy, scipy
print(f"python     {sys.version.split()[0]}")
print(f"pydicom    {pydicom.__version__}")
print(f"SimpleITK  {SimpleITK.Version.VersionString()}")
print(f"numpy      {numpy.__version__}")
print(f"scipy      {scipy.__version__}")
try:
    from threadpoolctl import threadpool_info
    for i in threadpool_info():
        if i.get("internal_api") == "openblas":
            print(f"openblas   {i.get('version')} core={i.get('architecture')} threads={i.get('num_threads')} (OPENBLAS_* unset)")
except Exception as e:  # informational only
    print(f"threadpoolctl: {e}")
PY
printf 'dcm2niix   '; "$venv/bin/dcm2niix" --version 2>&1 | grep -m1 -oE 'v[0-9][^ ]*' || true
