#!/usr/bin/env bash
# Rebuild the shipped default model (data/models/uwac-default.onnx, its int8 variant when it passes the gate) and
# its model card from the committed recipe:
# 1800 minutes of 12-s single-contact renders at 16 kHz (renderer seed 61), training/configs/default.yaml (the physics
# ear), and the real ambient bank from ../shared/realdata when present
# (without it the model trains on synthetic ambient only, and the card says so).
# Usage, from the repository root with the README's venv: bash data/models/build_default.sh [WORK_DIR]
set -euo pipefail
work=${1:-runs/default}
real=${UWAC_REALDATA:-../shared/realdata}
mkdir -p "$work"
if [ -f "$work/data/manifest.csv" ]; then
  echo "$work/data/manifest.csv exists: training on it (delete $work/data to render afresh)"
else
  uwac synth --out "$work/data" --minutes 1800 --clip-seconds 12 --sample-rate 16000 --seed 61 --workers 2
fi
bank=()
if [ -f "$real/manifest.csv" ]; then
  uwac adapt realclips "$real" --out "$work/realclips.csv"
  bank=(--ambient-bank "$work/realclips.csv")
else
  echo "no $real/manifest.csv: training without a real ambient bank and without the real-world check"
fi
uwac train --config training/configs/default.yaml --manifest "$work/data/manifest.csv" --out "$work/run" "${bank[@]}"
uwac export "$work/run" --out data/models/uwac-default.onnx --variants int8
# ship int8 only when its quality gate against fp32 passed (on validation windows)
if ! python -c "import sys; from uwac.acoustics.contract import load_session; load_session(sys.argv[1])" \
     data/models/uwac-default.int8.onnx 2>/dev/null; then
  echo "int8 variant rejected by its gate: not shipped (see data/models/uwac-default.variants.md)"
  rm -f data/models/uwac-default.int8.onnx
fi
uwac evaluate data/models/uwac-default.onnx --manifest "$work/run/manifest.csv" --out "$work/eval_synthetic" \
  --baseline "$work/run/baseline.skops"
evals=(--eval "$work/eval_synthetic")
if [ -f "$work/realclips.csv" ]; then
  uwac evaluate data/models/uwac-default.onnx --manifest "$work/realclips.csv" --out "$work/eval_real"
  evals+=(--eval "$work/eval_real")
fi
uwac card data/models/uwac-default.onnx "${evals[@]}" --out data/models/uwac-default.card.md
