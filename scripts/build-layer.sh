#!/usr/bin/env bash
# Build the shared layer with precompiled bytecode: what `sam build` puts in the layer, plus .pyc.
#
#   scripts/build-layer.sh OUT_DIR
#
# Lambda's code directories are read-only, so a layer without .pyc is compiled again on every cold
# start (`make bench` measures the cost). Meant for `BuildMethod: makefile` on SharedLayer, where
# sam runs `make build-SharedLayer` with ARTIFACTS_DIR set: that target calls this script with
# "$ARTIFACTS_DIR". Wheels are for the deployed runtime (Python 3.13 on arm64), whatever the
# build machine is; boto3/botocore are not installed (the runtime has them).
set -euo pipefail

out=${1:?usage: scripts/build-layer.sh OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3.13}
command -v "$python" >/dev/null || python=python3

"$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else "the runtime is Python 3.13: .pyc must be compiled by 3.13")'

mkdir -p "$out/python"
"$python" -m pip install --quiet --no-compile --target "$out/python" \
  --platform manylinux2014_aarch64 --implementation cp --python-version 3.13 --only-binary=:all: \
  -r "$root/layers/requirements.txt"
rm -rf "$out/python/s2s"
cp -R "$root/layers/s2s" "$out/python/s2s"
find "$out/python" -name __pycache__ -type d -prune -exec rm -rf {} +
# unchecked-hash: a deployed layer never changes, so the runtime need not stat sources to trust
# the .pyc (and extracted mtimes cannot make it recompile).
"$python" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$out/python"
if find "$out/python" -maxdepth 1 \( -name boto3 -o -name botocore -o -name s3transfer \) | grep -q .; then
  echo "build-layer: boto3/botocore must not be bundled (the runtime has them)" >&2
  exit 1
fi
du -sh "$out"
