#!/usr/bin/env bash
# Runs reference.py with the system Python, which has Debian's PIL and numpy:
#   apt-get install python3-pil python3-numpy
# Arguments pass through: run.sh --out DIR IMAGE...
set -euo pipefail
py=/usr/bin/python3
if ! "$py" -c 'import PIL, numpy' 2>/dev/null; then
  echo "The PIL reference needs Debian's python3-pil and python3-numpy: apt-get install python3-pil python3-numpy" >&2
  exit 3
fi
exec "$py" "$(dirname "$0")/reference.py" "$@"
