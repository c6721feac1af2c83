#!/usr/bin/env bash
# Interleaved benchmark: hounsfield vs pydicom / SimpleITK / dcm2niix / scipy.
#   bench/compare.sh [load|resample|all]      (default: all)
# env: ROUNDS (default 5, after 1 warm-up round), HOUNSFIELD (default target/release/hounsfield),
#      DATA (default ../shared/data/chest-ct), SPACING (resample, default 1)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
op="${1:-all}"
case "$op" in load|resample) ops=("$op") ;; all) ops=(load resample) ;;
  *) echo "usage: $0 [load|resample|all]" >&2; exit 2 ;; esac

bash "$here/setup.sh"          # idempotent: pip runs only if something is missing
export HOUNSFIELD="${HOUNSFIELD:-$here/../target/release/hounsfield}"
export DATA="${DATA:-$here/../../shared/data/chest-ct}"
[ -d "$DATA" ] || { echo "no data at $DATA (set DATA=...)" >&2; exit 2; }

rc=0
for o in "${ops[@]}"; do
  echo
  python3 "$here/compare.py" "$o" --rounds "${ROUNDS:-5}" --spacing "${SPACING:-1}" || rc=1
done
exit $rc
