#!/usr/bin/env bash
# Generates Python stubs for the server's .proto files (and grpc.health.v1) into $1, with Debian's
# protoc and gRPC plugin: apt-get install python3-grpcio protobuf-compiler protobuf-compiler-grpc
set -euo pipefail
out=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
for tool in /usr/bin/protoc /usr/bin/grpc_python_plugin; do
  [ -x "$tool" ] || { echo "needs $tool: apt-get install python3-grpcio protobuf-compiler protobuf-compiler-grpc" >&2; exit 3; }
done
/usr/bin/python3 -c 'import grpc' 2>/dev/null || { echo "needs Debian's python3-grpcio: apt-get install python3-grpcio" >&2; exit 3; }
health=$(dirname "$(node -p 'require("grpc-health-check").protoPath')")
mkdir -p "$out"
# Flat module names, as TorchServe's own scripts generate them (inference_pb2, management_pb2).
/usr/bin/protoc -I "$root/protos/torchserve" -I "$root/protos/kserve" -I "$root/protos" -I "$health" \
  --python_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin \
  inference.proto management.proto grpc_predict_v2.proto health.proto google/rpc/status.proto
