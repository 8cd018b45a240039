#!/usr/bin/env bash
# bundle verify against the reference hashers over the same bundle, side by side, at two sizes.
# Targets (issue 3): verify / sha256sum <= 1.15; peak RSS <= 200 MB and flat from 1 GB to 2 GB.
# Usage: bench/verify.sh [SIZES_MB...]   (default: 1024 2048)
source "$(dirname "$0")/lib.sh"
bench_setup "$@"
for mb in "${sizes[@]}"; do
  d="$work/verify-$mb"
  make_files "$d" "$mb" 16
  rm -f "$d/bundle.tar"
  $AIRLOCK bundle build "$d/spec.yaml" --key "$work/key.key" --out "$d/bundle.tar" >/dev/null
  cat "$d/bundle.tar" > /dev/null  # warm the page cache for every reader alike
  echo "bundle of $mb MB ($(stat -c %s "$d/bundle.tar") bytes), $(nproc) cores"
  measure "sha256sum" sha256sum "$d/bundle.tar"; t_sum=$SECS
  measure "openssl dgst -sha256" openssl dgst -sha256 "$d/bundle.tar"; t_ossl=$SECS
  measure "airlock bundle verify" $AIRLOCK bundle verify "$d/bundle.tar" --trust "$work/key.pub"; t_air=$SECS; rss=$RSS_KB
  echo "  verify / sha256sum       = $(ratio "$t_air" "$t_sum")   (target <= 1.15)"
  echo "  verify / openssl dgst    = $(ratio "$t_air" "$t_ossl")"
  echo "  verify peak RSS          = $(( rss / 1024 )) MB (target <= 200)"
done
