#!/bin/sh
# Joins the bundle's parts, checks them against SHA256SUMS and unpacks the bundle:
#   sh join.sh [DIR]    unpacks into DIR (default: this folder) and prints the path of run.sh
# Needs sh, cat, sha256sum and tar; xz where the host has it, else the static busybox beside the parts.
set -eu
cd "$(dirname "$0")"
dest=${1:-.}
archive=webgpu-inference-server-linux-x64.tar.xz
grep '\.part-' SHA256SUMS | sha256sum -c --quiet
cat "$archive".part-* >"$archive"
grep " $archive\$" SHA256SUMS | sha256sum -c --quiet
mkdir -p "$dest"
if command -v xz >/dev/null 2>&1; then
  xz -dc "$archive" | tar -x -C "$dest"
else
  ./busybox xzcat "$archive" | tar -x -C "$dest"
fi
echo "unpacked: $(cd "$dest" && pwd -P)/webgpu-inference-server-linux-x64/run.sh"
