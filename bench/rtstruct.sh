#!/usr/bin/env bash
# RTSTRUCT rasterisation, interleaved: hounsfield against plastimatch on the
# same structure set (5 ROIs written by rt-utils on chest-ct: a ball, a ring
# with a hole, two islands per slice, the body outline with the lungs as
# holes, the air inside the body; see rtstruct_reference.py).
#
#   bench/rtstruct.sh          # env: ROUNDS (default 5, after 1 warm-up), HOUNSFIELD, DATA
#
# Both are whole processes that read the CT and the structure set and write
# the masks on the CT grid: ours `hounsfield seg convert CT RS --out x.nrrd`
# (one label map; `internal: seg_s` is the read + placement alone),
# plastimatch `convert --input RS --referenced-ct CT --prefix-format nrrd
# --xor-contours` (one NRRD per ROI). Wall time and peak RSS from GNU time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
HOUNSFIELD="${HOUNSFIELD:-$root/target/release/hounsfield}"
DATA="${DATA:-$root/../shared/data/chest-ct}"
ROUNDS="${ROUNDS:-5}"
[ -x "$HOUNSFIELD" ] || { echo "build ours first: cargo build --release" >&2; exit 2; }
[ -d "$DATA" ] || { echo "no data at $DATA (set DATA=...)" >&2; exit 2; }
bash "$root/scripts/references" setup
/usr/bin/time -f %M true >/dev/null 2>&1 || apt-get install -y -qq time >/dev/null

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rs="$tmp/rs.dcm"
bash "$root/scripts/references" make "$DATA" "$rs"
venv="${HOUNSFIELD_REFS_VENV:-$root/target/references-venv}"

run_ours() {
  HOUNSFIELD_TIMING=1 /usr/bin/time -f "%e %M" -o "$tmp/t" \
    "$HOUNSFIELD" seg convert "$DATA" "$rs" --out "$tmp/ours.nrrd" 2>"$tmp/err" >/dev/null
  local seg; seg="$(grep -o 'seg_s=[0-9.]*' "$tmp/err" | cut -d= -f2)"
  echo "$(cat "$tmp/t") $seg"
}
run_plastimatch() {
  rm -rf "$tmp/pm"
  /usr/bin/time -f "%e %M" -o "$tmp/t" plastimatch convert --input "$rs" --referenced-ct "$DATA" \
    --output-prefix "$tmp/pm" --prefix-format nrrd --xor-contours >/dev/null 2>&1
  cat "$tmp/t"
}

echo "== $(plastimatch --version 2>&1 | head -1); ours $("$HOUNSFIELD" --version)"
run_ours >/dev/null; run_plastimatch >/dev/null   # warm-up (page cache)
ours=(); seg=(); pm=(); ours_rss=(); pm_rss=()
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 )); then a="$(run_ours)"; b="$(run_plastimatch)"; else b="$(run_plastimatch)"; a="$(run_ours)"; fi
  read -r t m s <<<"$a"; ours+=("$t"); ours_rss+=("$m"); seg+=("$s")
  read -r t m <<<"$b"; pm+=("$t"); pm_rss+=("$m")
  echo "round $r: ours ${ours[-1]} s (${ours_rss[-1]} KB, read+place ${seg[-1]} s), plastimatch ${pm[-1]} s (${pm_rss[-1]} KB)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mo="$(median "${ours[@]}")"; mp="$(median "${pm[@]}")"; ms="$(median "${seg[@]}")"
echo "median: ours $mo s (read + place $ms s, peak $(median "${ours_rss[@]}") KB), plastimatch $mp s (peak $(median "${pm_rss[@]}") KB)"
awk -v o="$mo" -v p="$mp" -v s="$ms" 'BEGIN { printf "ratio plastimatch/ours: whole process %.1fx, against our read + place alone %.1fx\n", p/o, p/s }'
