#!/usr/bin/env bash
# Bundles that never touch local disk (issue 20), against s3rver, side by side with the two-step path:
#   build --out s3://KEY            vs  build --out FILE  +  aws s3 cp FILE s3://KEY
#   verify s3://KEY                 vs  aws s3 cp s3://KEY FILE  +  verify FILE
# Targets: each one-step time <= 0.7 x its two-step path; peak RSS <= 200 MB.
# Usage: bench/s3-direct.sh [SIZE_MB]   (default 1024)
# Needs the `aws` CLI (installs Debian's awscli if missing, else compares with curl --aws-sigv4).
source "$(dirname "$0")/lib.sh"
# one run each: the machine is shared, and every run writes a GB to the store
RUNS=1
cd "$BENCH_ROOT" && npm run -s build >/dev/null
mb=${1:-1024}
work=${BENCH_DIR:-/tmp/airlock-bench}/s3-direct-$mb
mkdir -p "$work"
[ -f "$work/key.key" ] || $AIRLOCK keys generate --out "$work/key" --force >/dev/null
make_files "$work" "$mb" 8
export SOURCE_DATE_EPOCH=1735689600

s3_bench_env
start_s3rver "$work"
trap 'kill $s3pid 2>/dev/null || true; rm -rf "$work/store" "$work/two-step" "$work/down.tar"' EXIT
cat "$work"/src/*.bin > /dev/null  # warm the page cache for both paths alike
echo "$mb MB of files against s3rver at $endpoint, $(nproc) cores; reference: $ref; load $(cut -d' ' -f1-3 /proc/loadavg)"
# s3rver is one node process and the bottleneck of every upload: its CPU seconds per step show how much
# of the two cores each client leaves it
srv_cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$s3pid/stat"; }
srv_mark() { SRV0=$(srv_cpu); }
srv_report() { printf '  %-34s %7.2f s CPU of s3rver\n' "  (store side)" "$(echo "$(srv_cpu) - $SRV0" | bc -l)"; }

ref_up() {
  if [ "$ref" = aws ]; then aws --endpoint-url "$endpoint" s3 cp --only-show-errors "$work/two-step/bench.tar" s3://bench/two-step/bench.tar
  else curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -T "$work/two-step/bench.tar" "$endpoint/bench/two-step/bench.tar"; fi
}
ref_down() {
  if [ "$ref" = aws ]; then aws --endpoint-url "$endpoint" s3 cp --only-show-errors s3://bench/direct/bench.tar "$work/down.tar"
  else curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -o "$work/down.tar" "$endpoint/bench/direct/bench.tar"; fi
}
export -f ref_up ref_down; export ref endpoint work

echo "build"
mkdir -p "$work/two-step"; rm -f "$work/two-step/bench.tar"
measure "build --out FILE" $AIRLOCK bundle build "$work/spec.yaml" --key "$work/key.key" --out "$work/two-step/bench.tar"; t_b=$SECS; rss_b=$RSS_KB
srv_mark; measure "$ref s3 cp (upload)" bash -c ref_up; t_up=$SECS; srv_report
srv_mark; measure "build --out s3://" $AIRLOCK bundle build "$work/spec.yaml" --key "$work/key.key" --out s3://bench/direct/bench.tar --endpoint "$endpoint"; t_bs=$SECS; rss_bs=$RSS_KB; srv_report
# same bytes either way (SOURCE_DATE_EPOCH; the file name VERIFY.txt prints is the same)
sum_file=$(sha256sum "$work/two-step/bench.tar" | cut -d' ' -f1)
sum_s3=$(cut -d' ' -f1 "$work/store/bench/direct/bench.tar.sha256._S3rver_object")
[ "$sum_file" = "$sum_s3" ] && echo "  the object's SHA-256 equals the local build's" || echo "  SHA-256 DIFFERS: $sum_file vs $sum_s3"
rm -f "$work/two-step/bench.tar"

echo "verify"
rm -f "$work/down.tar"
measure "$ref s3 cp (download)" bash -c ref_down; t_down=$SECS
measure "verify FILE" $AIRLOCK bundle verify "$work/down.tar" --trust "$work/key.pub"; t_v=$SECS
measure "verify s3://" $AIRLOCK bundle verify s3://bench/direct/bench.tar --trust "$work/key.pub" --endpoint "$endpoint"; t_vs=$SECS; rss_vs=$RSS_KB
rm -f "$work/down.tar"

two_b=$(echo "$t_b + $t_up" | bc -l); two_v=$(echo "$t_down + $t_v" | bc -l)
echo "  build to S3 / (build + $ref s3 cp)    = $(ratio "$t_bs" "$two_b")   (target <= 0.7; two-step ${two_b}s)"
echo "  verify from S3 / ($ref s3 cp + verify) = $(ratio "$t_vs" "$two_v")   (target <= 0.7; two-step ${two_v}s)"
echo "  load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  peak RSS: build to S3 $(( rss_bs / 1024 )) MB, verify from S3 $(( rss_vs / 1024 )) MB, build to file $(( rss_b / 1024 )) MB (target <= 200)"
