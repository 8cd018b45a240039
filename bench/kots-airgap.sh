#!/usr/bin/env bash
# kots config --app-config APP.airgap against GNU tar pulling the same Config out of the same file,
# side by side. The app.tar.gz is placed after the image blobs, the worst case for a streaming scan.
# Figures only: the ratio includes the CLI start-up (loading every command); peak RSS stays flat with size
# because only YAML entries are buffered.
# Usage: bench/kots-airgap.sh [SIZE_MB]   (default: 256)
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT" && npm run -s build >/dev/null
mb=${1:-256}
d=${BENCH_DIR:-/tmp/airlock-bench}/airgap-$mb
mkdir -p "$d/stage/images" "$d/app/manifests"
[ -f "$d/stage/images/blob.bin" ] || head -c "$(( mb * 1024 * 1024 ))" /dev/urandom > "$d/stage/images/blob.bin"
cat > "$d/app/manifests/config.yaml" <<'YAML'
apiVersion: kots.io/v1beta1
kind: Config
metadata: {name: bench}
spec:
  groups:
    - name: g
      items:
        - {name: wallaroo_domain, type: text, required: true}
        - {name: ingress_mode, type: select_one, default: internal, items: [{name: internal}, {name: external}, {name: none}]}
        - {name: jupyter_mode, type: radio, default: single, items: [{name: single}, {name: multiple}]}
        - {name: enable_alerting, type: bool}
        - {name: enable_model_validation, type: bool}
        - {name: enable_plateau, type: bool}
        - {name: enable_model_insights, type: bool}
YAML
tar -czf "$d/stage/app.tar.gz" -C "$d/app" manifests
echo 'apiVersion: kots.io/v1beta1' > "$d/stage/airgap.yaml"
[ -f "$d/app.airgap" ] || tar -czf "$d/app.airgap" -C "$d/stage" airgap.yaml images app.tar.gz
cat "$d/app.airgap" > /dev/null
echo ".airgap of $mb MB of image data ($(stat -c %s "$d/app.airgap") bytes), $(nproc) cores"
measure "tar -xzOf | tar -xzO (reference)" sh -c "tar -xzOf '$d/app.airgap' app.tar.gz | tar -xzO manifests/config.yaml"; t_ref=$SECS
measure "airlock --version (start-up)" $AIRLOCK --version; t_boot=$SECS
measure "airlock kots config --app-config" $AIRLOCK kots config --size 16 --domain a.example.com --app-config "$d/app.airgap"; t_air=$SECS; rss=$RSS_KB
echo "  airlock / reference              = $(ratio "$t_air" "$t_ref")"
echo "  (airlock - start-up) / reference = $(ratio "$(echo "$t_air - $t_boot" | bc -l)" "$t_ref")"
echo "  airlock peak RSS                 = $(( rss / 1024 )) MB"
