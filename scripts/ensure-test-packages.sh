#!/usr/bin/env bash
# What the tests use beside the server's own packages (ensure-system-packages.sh), installed from
# Debian's packages where this user may: a stock Python gRPC client (python3-grpcio, and protoc
# with its gRPC plugin to generate its stubs from protos/), which tests/integration/grpc-python
# runs against the server; and bubblewrap, with which tests/integration/chromium-sandbox starts
# Chromium where no user namespace may be made. Never needed to run the server.
set -euo pipefail

missing=()
/usr/bin/python3 -c 'import grpc' 2>/dev/null || missing+=(python3-grpcio)
[ -x /usr/bin/protoc ] || missing+=(protobuf-compiler)
[ -x /usr/bin/grpc_python_plugin ] || missing+=(protobuf-compiler-grpc)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get, for the tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "the tests need ${missing[*]} (Debian: apt-get install ${missing[*]})" >&2
fi
