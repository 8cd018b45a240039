#!/usr/bin/env bash
# bundle build against `tar cf` + `sha256sum` of the same files, side by side.
# Target (issue 3): build / (tar cf + sha256sum) <= 1.1.
source "$(dirname "$0")/lib.sh"
bench_setup "$@"
for mb in "${sizes[@]}"; do
  d="$work/build-$mb"
  make_files "$d" "$mb" 16
  cat "$d"/src/* > /dev/null
  echo "build of $mb MB in 16 files, $(nproc) cores"
  rm -f "$d/ref.tar"
  MEASURE_CLEANUP="rm -f $d/ref.tar $d/bundle.tar"
  measure "tar cf" tar -C "$d/src" -cf "$d/ref.tar" .; t_tar=$SECS
  measure "sha256sum (of the files)" sh -c "sha256sum $d/src/*"; t_sum=$SECS
  rm -f "$d/ref.tar" "$d/bundle.tar"
  measure "airlock bundle build" $AIRLOCK bundle build "$d/spec.yaml" --key "$work/key.key" --out "$d/bundle.tar"; t_air=$SECS; rss=$RSS_KB
  echo "  build / (tar cf + sha256sum) = $(ratio "$t_air" "$(echo "$t_tar + $t_sum" | bc -l)")   (target <= 1.1)"
  echo "  build peak RSS               = $(( rss / 1024 )) MB"
  rm -f "$d/bundle.tar"
done
