#!/usr/bin/env bash
# Regenerate lineage/_proto from proto/ with grpcio-tools 1.62 (protobuf 4.25 gencode,
# which also loads under protobuf 5 and 6: the SDK runs beside kfp 2.13 and 2.17).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${LINEAGE_VENV:-.venv}/bin/python
OUT=lineage/_proto
"$PY" -m grpc_tools.protoc -Iproto --python_out="$OUT" --grpc_python_out="$OUT" --pyi_out="$OUT" \
    proto/lineage/v1/lineage.proto
# Generated modules import each other as top-level `lineage.v1`; make that package-relative.
sed -i 's/^from lineage\.v1 import lineage_pb2/from lineage._proto.lineage.v1 import lineage_pb2/' \
    "$OUT"/lineage/v1/lineage_pb2_grpc.py
echo "generated $(ls "$OUT"/lineage/v1/*.py | wc -l) modules in $OUT/lineage/v1"
