# Shared by the bench scripts: timing with peak RSS, and test data. Not a test: figures only.
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AIRLOCK="${AIRLOCK:-node $BENCH_ROOT/bin/run.js}"   # AIRLOCK=dist/airlock-linux-x64 measures the single executable

# measure LABEL CMD...: runs CMD $RUNS times (default 3; the machine is shared, so the best run is the
# one least disturbed), records the best seconds, that run's CPU seconds (user + system, children
# included) and the highest peak RSS (KB) in $SECS, $CPU and $RSS_KB
measure() {
  local label=$1; shift
  local out tf s r c
  SECS=; CPU=; RSS_KB=0
  for _ in $(seq 1 "${RUNS:-3}"); do
    tf=$(mktemp)
    /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" >/dev/null 2>&1
    out=$(tail -1 "$tf"); rm -f "$tf"
    read -r s u y r <<<"$out"
    c=$(echo "$u + $y" | bc -l)
    if [ -z "$SECS" ] || [ "$(echo "$s < $SECS" | bc -l)" = 1 ]; then SECS=$s; CPU=$c; fi
    [ "$r" -gt "$RSS_KB" ] && RSS_KB=$r
    [ -z "${MEASURE_CLEANUP:-}" ] || eval "$MEASURE_CLEANUP"
  done
  printf '  %-34s %7.2f s  %7.2f s CPU  %7.1f MB peak RSS\n' "$label" "$SECS" "$CPU" "$(echo "$RSS_KB / 1024" | bc -l)"
}

ratio() { echo "scale=3; $1 / $2" | bc -l; }

# make_files DIR TOTAL_MB COUNT: COUNT random files adding up to TOTAL_MB (blobs are incompressible)
make_files() {
  local dir=$1 total=$2 count=$3
  mkdir -p "$dir/src"
  local each=$(( total / count ))
  for i in $(seq 1 "$count"); do
    [ -f "$dir/src/blob$i.bin" ] || head -c "$(( each * 1024 * 1024 ))" /dev/urandom > "$dir/src/blob$i.bin"
  done
  {
    echo "apiVersion: airlock.dev/v1"
    echo "kind: Bundle"
    echo "metadata: {name: bench, version: ${total}m}"
    echo "spec:"
    echo "  files:"
    for i in $(seq 1 "$count"); do echo "    - {source: ./src/blob$i.bin, as: blob$i.bin}"; done
  } > "$dir/spec.yaml"
}

# bench_setup [SIZES_MB...]: build airlock, make a signing key in $work, set $sizes (default 1 GB, 2 GB)
bench_setup() {
  cd "$BENCH_ROOT" && npm run -s build >/dev/null
  work=${BENCH_DIR:-/tmp/airlock-bench}
  mkdir -p "$work"
  $AIRLOCK keys generate --out "$work/key" --force >/dev/null
  sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1024 2048)
}

# s3_bench_env: sets $ref to `aws` (installing Debian's awscli if it is missing) or, failing that,
# `curl` (--aws-sigv4, single PUT / GET); exports s3rver's credentials for both clients
s3_bench_env() {
  ref=aws
  if ! command -v aws >/dev/null; then
    echo "aws CLI missing: installing Debian's awscli"
    (apt-get install -y -q awscli >/dev/null 2>&1) || ref=curl
  fi
  [ "$ref" = curl ] && echo "awscli could not be installed: comparing with curl --aws-sigv4 instead"
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  # s3rver predates flexible checksums: both clients are told to send them only when required
  export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required
  export NODE_NO_WARNINGS=1
}

# start_s3rver DIR: s3rver on 127.0.0.1 (a free port) storing in DIR/store, bucket `bench`; sets
# $endpoint and $s3pid (the caller's EXIT trap stops it)
start_s3rver() {
  local dir=$1
  rm -rf "$dir/store" "$dir/port"; mkdir -p "$dir/store"
  node -e "
    const S3rver = require('$BENCH_ROOT/node_modules/s3rver');
    new S3rver({address: '127.0.0.1', port: 0, silent: true, directory: '$dir/store', configureBuckets: [{name: 'bench'}]})
      .run().then((a) => require('fs').writeFileSync('$dir/port', String(a.port)));
  " &
  s3pid=$!
  for _ in $(seq 1 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
  endpoint="http://127.0.0.1:$(cat "$dir/port")"
}
