#!/usr/bin/env bash
# A 3 mm closing of chest-ct's bone mask (HU 300..4000), interleaved:
# hounsfield against scipy.ndimage.binary_closing with the same footprint
# (every offset within 3 mm on the 2 × 0.98 × 0.98 mm grid, border_value=0;
# the two results are checked equal first).
#
#   bench/effects.sh          # env: ROUNDS (default 5, after 1 warm-up), HOUNSFIELD, DATA
#
# Ours: `HOUNSFIELD_TIMING=1 hounsfield seg morph CT bone.nrrd --op close
# --radius-mm 3 --out x.nrrd`, the `internal: op_s` line (the closing alone,
# not reading the series or writing) and the whole process's wall time.
# scipy: bench/effects_reference.py --time close:3 (perf_counter around
# binary_closing alone, median of 3 calls per round, after a warm-up call).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
HOUNSFIELD="${HOUNSFIELD:-$root/target/release/hounsfield}"
DATA="${DATA:-$root/../shared/data/chest-ct}"
ROUNDS="${ROUNDS:-5}"
[ -x "$HOUNSFIELD" ] || { echo "build ours first: cargo build --release" >&2; exit 2; }
[ -d "$DATA" ] || { echo "no data at $DATA (set DATA=...)" >&2; exit 2; }
bash "$root/scripts/references" setup
venv="${HOUNSFIELD_REFS_VENV:-$root/target/references-venv}"
py="$venv/bin/python"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$HOUNSFIELD" seg threshold "$DATA" --range 300,4000 --out "$tmp/bone.nrrd" 2>"$tmp/err" \
  || { cat "$tmp/err" >&2; exit 1; }
grep threshold "$tmp/err"

run_ours() {
  local t0 t1
  t0=$(date +%s.%N)
  HOUNSFIELD_TIMING=1 "$HOUNSFIELD" seg morph "$DATA" "$tmp/bone.nrrd" --op close --radius-mm 3 \
    --out "$tmp/ours.nrrd" 2>"$tmp/err" >/dev/null || { cat "$tmp/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  local op; op="$(grep -o 'op_s=[0-9.]*' "$tmp/err" | cut -d= -f2)"
  echo "$op $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}
run_scipy() {
  "$py" "$here/effects_reference.py" "$tmp/bone.nrrd" --time close:3 --rounds 3 | grep -o 'op_s=[0-9.]*' | cut -d= -f2
}

# Same result first.
run_ours >/dev/null
"$py" "$here/effects_reference.py" "$tmp/bone.nrrd" --out "$tmp/ref" close=close:3 2>/dev/null
"$py" -c "
import sys, numpy as np
sys.path.insert(0, '$here')
import effects_reference as r
ours = r.read_nrrd('$tmp/ours.nrrd')[0] != 0
ref = np.load('$tmp/ref/close.npy') != 0
assert ours.shape == ref.shape and (ours == ref).all(), f'{int((ours != ref).sum())} voxels differ'
print(f'same result: {int(ours.sum())} voxels')
"

echo "== ours $("$HOUNSFIELD" --version); scipy $("$py" -c 'import scipy; print(scipy.__version__)')"
ours=(); whole=(); sp=()
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 )); then a="$(run_ours)"; b="$(run_scipy)"; else b="$(run_scipy)"; a="$(run_ours)"; fi
  read -r o w <<<"$a"; ours+=("$o"); whole+=("$w"); sp+=("$b")
  echo "round $r: ours ${ours[-1]} s (whole process ${whole[-1]} s), scipy ${sp[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mo="$(median "${ours[@]}")"; mw="$(median "${whole[@]}")"; ms="$(median "${sp[@]}")"
echo "median: ours $mo s (whole process $mw s), scipy binary_closing $ms s"
awk -v o="$mo" -v s="$ms" -v w="$mw" 'BEGIN { printf "ratio scipy/ours: operation %.1fx (target >= 10x); against our whole process %.1fx\n", s/o, s/w }'
