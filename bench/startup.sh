#!/usr/bin/env bash
# Start-up of the packaged executable against `node bin/run.js` and `node -e 0` (the runtime alone),
# side by side, same commands, runs interleaved so that load on the machine hits all three alike.
# Targets: executable / script <= 1.0 (issue 10); `--version` and a small `bundle verify` under 150 ms
# from the executable (issue 19), which on a loaded machine reads as: within 150 ms - `node -e 0`
# of the runtime's own start.
# Usage: bench/startup.sh [RUNS]   (default 15 runs of each command with each program)
source "$(dirname "$0")/lib.sh"
runs=${1:-15}
cd "$BENCH_ROOT"
npm run -s build >/dev/null 2>&1
npm run -s package 2>/dev/null | tail -1
EXE="$BENCH_ROOT/dist/airlock-linux-x64"
SCRIPT="node $BENCH_ROOT/bin/run.js"
work=${BENCH_DIR:-/tmp/airlock-bench}/startup
rm -rf "$work" && mkdir -p "$work/src"
echo 'small file' > "$work/src/a.txt"
printf 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: startup, version: 1.0.0}\nspec:\n  files:\n    - {source: ./src/a.txt, as: a.txt}\n' > "$work/spec.yaml"
"$EXE" keys generate --out "$work/key" --force >/dev/null
"$EXE" bundle build "$work/spec.yaml" --key "$work/key.key" --out "$work/small.tar" --no-include-self >/dev/null

# ms CMD...: wall-clock milliseconds of one run
ms() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
minimum() { sort -n | head -1; }

# compare LABEL ARGS...: node -e 0, the script and the executable, interleaved, $runs times each
compare() {
  local label=$1; shift
  local b=() s=() e=()
  $SCRIPT "$@" >/dev/null 2>&1; "$EXE" "$@" >/dev/null 2>&1   # warm the page cache for both
  for _ in $(seq 1 "$runs"); do
    b+=("$(ms node -e 0)")
    s+=("$(ms $SCRIPT "$@")")
    e+=("$(ms "$EXE" "$@")")
  done
  local bm sm em smin emin
  bm=$(printf '%s\n' "${b[@]}" | median)
  sm=$(printf '%s\n' "${s[@]}" | median); em=$(printf '%s\n' "${e[@]}" | median)
  smin=$(printf '%s\n' "${s[@]}" | minimum); emin=$(printf '%s\n' "${e[@]}" | minimum)
  printf '  %-24s node -e 0 %5s ms   node bin/run.js %5s ms (min %4s)   executable %5s ms (min %4s, node -e 0 + %s)   executable / script = %.2f\n' \
    "$label" "$bm" "$sm" "$smin" "$em" "$emin" "$(awk -v e="$em" -v b="$bm" 'BEGIN {print e - b}')" "$(ratio "$em" "$sm")"
}

echo "start-up, median of $runs runs each, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  executable: $(du -b "$EXE" | cut -f1) bytes ($(( $(stat -c %s "$EXE") / 1048576 )) MiB), node $(node --version)"
compare "--version" --version
compare "bundle inspect" bundle inspect "$work/small.tar"
compare "bundle verify" bundle verify "$work/small.tar" --trust "$work/key.pub"
echo "  (targets: executable / script <= 1.0; executable under 150 ms on an idle machine)"
