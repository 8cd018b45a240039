#!/usr/bin/env bash
# bundle publish / fetch against s3rver, side by side with `aws s3 cp` to the same endpoint.
# Targets (issue 8): airlock / aws <= 1.0 for both directions; peak RSS of both <= 200 MB.
# Usage: bench/s3.sh [SIZE_MB]   (default 1024; the issue says 2 GB, 1 GB spares the shared machine)
# Needs the `aws` CLI: if it is missing, this script installs Debian's awscli (and says so); if that
# fails too, it compares with curl --aws-sigv4 (single PUT / GET) instead.
source "$(dirname "$0")/lib.sh"
# one run each: a second publish of the same bundle finds it published and sends nothing
RUNS=1
cd "$BENCH_ROOT" && npm run -s build >/dev/null
mb=${1:-1024}
work=${BENCH_DIR:-/tmp/airlock-bench}/s3-$mb
mkdir -p "$work"
# a bundle kept from an earlier run must still match its key: make both together
[ -f "$work/key.key" ] && [ -f "$work/bundle.tar" ] || { rm -f "$work/bundle.tar"; $AIRLOCK keys generate --out "$work/key" --force >/dev/null; }
make_files "$work" "$mb" 8
[ -f "$work/bundle.tar" ] || $AIRLOCK bundle build "$work/spec.yaml" --key "$work/key.key" --out "$work/bundle.tar" >/dev/null

s3_bench_env
start_s3rver "$work"
trap 'kill $s3pid 2>/dev/null || true' EXIT

size=$(stat -c %s "$work/bundle.tar")
cat "$work/bundle.tar" > /dev/null  # warm the page cache for both alike
echo "bundle of $mb MB ($size bytes) against s3rver at $endpoint, $(nproc) cores; reference: $ref ($( [ "$ref" = aws ] && aws --version 2>&1 | cut -d' ' -f1))"

ref_up() {
  if [ "$ref" = aws ]; then aws --endpoint-url "$endpoint" s3 cp --only-show-errors "$work/bundle.tar" s3://bench/ref/bundle.tar
  else curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -T "$work/bundle.tar" "$endpoint/bench/ref/bundle.tar"; fi
}
ref_down() {
  if [ "$ref" = aws ]; then aws --endpoint-url "$endpoint" s3 cp --only-show-errors s3://bench/ref/bundle.tar "$work/ref-down.tar"
  else curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -o "$work/ref-down.tar" "$endpoint/bench/ref/bundle.tar"; fi
}
export -f ref_up ref_down; export ref endpoint work

echo "upload"
measure "$ref s3 cp (upload)" bash -c ref_up; t_ref_up=$SECS; rss_ref_up=$RSS_KB
measure "airlock bundle publish" $AIRLOCK bundle publish "$work/bundle.tar" s3://bench/air/ --endpoint "$endpoint"; t_up=$SECS; rss_up=$RSS_KB
echo "download"
rm -f "$work/ref-down.tar" "$work/air-down.tar"
measure "$ref s3 cp (download)" bash -c ref_down; t_ref_down=$SECS; rss_ref_down=$RSS_KB
measure "airlock bundle fetch" $AIRLOCK bundle fetch s3://bench/air/bundle.tar --out "$work/air-down.tar" --endpoint "$endpoint"; t_down=$SECS; rss_down=$RSS_KB
measure "airlock bundle fetch --trust" $AIRLOCK bundle fetch s3://bench/air/bundle.tar --out "$work/air-down2.tar" --endpoint "$endpoint" --trust "$work/key.pub"; t_down_v=$SECS
cmp -s "$work/bundle.tar" "$work/air-down.tar" && echo "  fetched file is identical to the bundle"

echo "  publish / $ref         = $(ratio "$t_up" "$t_ref_up")   (target <= 1.0)"
echo "  fetch / $ref           = $(ratio "$t_down" "$t_ref_down")   (target <= 1.0)"
echo "  fetch --trust / $ref   = $(ratio "$t_down_v" "$t_ref_down")   (download + signature and every digest)"
echo "  peak RSS: publish $(( rss_up / 1024 )) MB, fetch $(( rss_down / 1024 )) MB, $ref up $(( rss_ref_up / 1024 )) MB, down $(( rss_ref_down / 1024 )) MB (target <= 200)"
rm -f "$work/ref-down.tar" "$work/air-down.tar" "$work/air-down2.tar"
