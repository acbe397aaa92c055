#!/usr/bin/env bash
# Issue 4, item 9: on a lent GPU machine, one CUDA training step loop with mixed precision and the front-end on
# the device; prints windows/s compute-only vs fed by the data loader (is the GPU kept busy?) for 0/4/8 workers.
# Usage (repository root, a venv with a CUDA build of torch): bash bench/gpu_train_check.sh [OUT_DIR]
set -euo pipefail
out=${1:-runs/gpu_check}
mkdir -p "$out"
python - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0),
      "bf16" if torch.cuda.is_bf16_supported() else "fp16")
PY
for workers in 0 4 8; do
  for model in demo transformer; do
    uwac bench train --config "training/configs/${model}.yaml" --device cuda --amp auto --workers "$workers" \
      --batch-size 256 --steps 30 --out "$out/${model}_w${workers}" | tee "$out/${model}_w${workers}.md"
  done
done
