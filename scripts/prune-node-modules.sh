#!/bin/sh
# Removes from a production node_modules what the server never loads. The container image
# (Containerfile) and the offline bundle (scripts/bundle/build.sh) both run it, so they ship the
# same tree.
#   sh scripts/prune-node-modules.sh NODE_MODULES_DIR
set -eu
cd "$1"

# Of onnxruntime-web's builds the pages load two (browser-runtime/protocol.ts ORT_BUILD_MODULES)
# with their WASM, and the gateway resolves the package's Node entry: the rest, other builds and
# non-minified copies, is 80 MB nothing reads.
if [ -d onnxruntime-web/dist ]; then
  (cd onnxruntime-web/dist && find . -maxdepth 1 -type f \
    ! -name ort.webgpu.min.mjs ! -name ort.min.mjs ! -name ort.node.min.mjs \
    ! -name 'ort-wasm-simd-threaded.asyncify.*' ! -name 'ort-wasm-simd-threaded.jsep.*' -delete)
fi

# Source maps, TypeScript sources and type declarations, and documentation: Node never reads
# them. Licences and notices stay: they travel with the code.
find . -type f \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \
  -o \( -iname '*.md' ! -iname 'licen[cs]e*' ! -iname 'notice*' \) \) -delete
find . -depth -type d -empty -delete
