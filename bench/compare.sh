#!/usr/bin/env bash
# Interleaved benchmark: hounsfield vs pydicom / SimpleITK / dcm2niix / scipy.
#   bench/compare.sh [load|resample|all|mip-gif]      (default: all = load + resample)
# env: ROUNDS (default 5, after 1 warm-up round; mip-gif: 3), HOUNSFIELD (default target/release/hounsfield),
#      DATA (default ../shared/data/chest-ct), SPACING (resample, default 1)
# mip-gif: rotating MIP GIF against scipy.ndimage.rotate + max + imageio (bench/mip_gif_reference.py);
#      extra arguments go to it, e.g. `bench/compare.sh mip-gif --frames 6` (time 6 peer frames, extrapolate).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
op="${1:-all}"
case "$op" in load|resample) ops=("$op") ;; all) ops=(load resample) ;; mip-gif) ops=() ;;
  *) echo "usage: $0 [load|resample|all|mip-gif]" >&2; exit 2 ;; esac

bash "$here/setup.sh"          # idempotent: pip runs only if something is missing
export HOUNSFIELD="${HOUNSFIELD:-$here/../target/release/hounsfield}"
export DATA="${DATA:-$here/../../shared/data/chest-ct}"
[ -d "$DATA" ] || { echo "no data at $DATA (set DATA=...)" >&2; exit 2; }

if [ "$op" = mip-gif ]; then
  shift
  "$here/.venv/bin/python" -c 'import imageio, PIL' 2>/dev/null \
    || "$here/.venv/bin/python" -m pip install -q imageio pillow
  exec "$here/.venv/bin/python" "$here/mip_gif_reference.py" compare --rounds "${ROUNDS:-3}" "$@"
fi

rc=0
for o in "${ops[@]}"; do
  echo
  python3 "$here/compare.py" "$o" --rounds "${ROUNDS:-5}" --spacing "${SPACING:-1}" || rc=1
done
exit $rc
