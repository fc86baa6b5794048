#!/usr/bin/env bash
# The GPU checks, for a machine with CUDA; about 3 minutes there. Run from the repository root:
#   MNISTCONV_DATA=/path/to/mnist bash benchmarks/gpu_check.sh
#   bash benchmarks/gpu_check.sh --dry-run    # without a GPU: the same steps on the CPU, nothing written
# Uses .venv when present, else python3 with torch already installed (the project is installed
# into it without dependencies, so it needs no network).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
"$PYTHON" -c "import mnistconv.core" 2>/dev/null || "$PYTHON" -m pip install --quiet --no-deps --no-build-isolation -e .
if [ "${1:-}" = "--dry-run" ]; then
  timeout 600 "$PYTHON" benchmarks/gpu_check.py --dry-run
  QT_QPA_PLATFORM=offscreen timeout 300 "$PYTHON" -m pytest -q -m cuda -p no:cacheprovider tests/core
  exit 0
fi
"$PYTHON" -c "import torch, sys; print('torch', torch.__version__, 'CUDA', torch.cuda.is_available()); sys.exit(0 if torch.cuda.is_available() else 2)"
timeout 480 "$PYTHON" benchmarks/gpu_check.py
QT_QPA_PLATFORM=offscreen timeout 180 "$PYTHON" -m pytest -q -m cuda -p no:cacheprovider tests/core
