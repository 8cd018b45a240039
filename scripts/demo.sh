#!/usr/bin/env bash
# The main job on the offline demo: a signing key, a bundle from bundles/demo.yaml, verify, inspect.
# Everything lands in .demo/ (ignored by git); run it again to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
rm -rf .demo && mkdir -p .demo
airlock() { node bin/run.js "$@"; }
echo "== keys generate"
airlock keys generate --out .demo/release
echo "== bundle build"
airlock bundle build bundles/demo.yaml --key .demo/release.key --out .demo/demo-1.0.0.tar
echo "== bundle verify"
airlock bundle verify .demo/demo-1.0.0.tar --trust .demo/release.pub
echo "== bundle inspect"
airlock bundle inspect .demo/demo-1.0.0.tar
