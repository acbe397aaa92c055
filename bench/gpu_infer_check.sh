#!/usr/bin/env bash
# On a lent GPU machine: `uwac bench infer --providers cuda` (onnxruntime fp32, fp16, int8 at batch 1 and 64, beside
# torch eager and librosa + torch on the CPU), then a parity check: fp32 and fp16 under the CUDA provider against fp32
# on the CPU provider, max |Δp| on the same windows. Prints one summary; writes bench_infer.{md,json,png},
# parity.json and summary.txt into $OUT (the device tool's folder) or runs/gpu_infer_check.
#
# Usage (repository root):  bash bench/gpu_infer_check.sh [RUN [MODEL]]
#   RUN    training run folder (default runs/demo/run; runs/ is git-ignored: carry RUN/checkpoint_best.pt, all it reads)
#   MODEL  fp32 ONNX file; MODEL's <stem>.fp16.onnx / <stem>.int8.onnx beside it are benchmarked too. Default:
#          RUN exported here, fp32 and fp16 (int8 calibrates on the run's data: make it beforehand with
#          `uwac export RUN --out M.onnx --variants fp16 int8`, carry M*.onnx and pass M.onnx).
# The GPU image has torch and a CPU-only onnxruntime but not soundfile, soxr or librosa, and fetches nothing. First,
# where pip works:  bash bench/gpu_infer_check.sh --wheels   writes .whl/ (those, ~2 MiB) and .ortgpu/
# (onnxruntime-gpu 1.31.1 for CUDA 13, 244 MiB in five 50 MiB parts, and its SHA-256), both git-ignored. The tree that
# travels holds 64 MiB a call: carry parts 00-03 one per call on the warm machine (command `true`; parts already there
# stay), then part 04, the .sha256, .whl and the run with this script. Without them the rows run on the CPU, and the
# summary says so; a CUDA provider that cannot load its libraries falls back to the CPU, and the summary warns.
# Knobs: PYTHON (python3), BENCH_SECONDS (120 s of test audio), BENCH_REPEATS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}

if [[ ${1:-} == --wheels ]]; then
  get=("$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp
       --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
       --platform manylinux2014_x86_64)
  "${get[@]}" -d .whl soundfile==0.14.0 soxr==1.1.0 librosa==0.11.0 cffi pycparser audioread decorator pooch platformdirs
  tmp=$(mktemp -d)
  "${get[@]}" -d "$tmp" onnxruntime-gpu==1.31.1  # built for CUDA 13 and cuDNN 9, as the image's torch
  mkdir -p .ortgpu
  for whl in "$tmp"/*.whl; do
    name=$(basename "$whl")
    (cd "$tmp" && sha256sum "$name") > ".ortgpu/$name.sha256"
    split -b 50M -d -a 2 "$whl" ".ortgpu/$name.part-"
  done
  rm -rf "$tmp"
  for ignored in /.whl/ /.ortgpu/; do grep -qxF "$ignored" .git/info/exclude || echo "$ignored" >> .git/info/exclude; done
  ls -l .whl .ortgpu
  exit 0
fi

run=${1:-runs/demo/run}
out=${OUT:-runs/gpu_infer_check}
mkdir -p "$out"
log="$out/summary.txt"
: > "$log"
say() { echo "$*" | tee -a "$log"; }
failed=()

# 1. Carried wheels into /tmp/uwac_site (onnxruntime-gpu put together from its parts, checked against its SHA-256).
shopt -s nullglob
site=/tmp/uwac_site
wheels=(.whl/*.whl)
for sum in .ortgpu/*.whl.sha256; do
  whl=/tmp/$(basename "${sum%.sha256}")
  parts=("${sum%.sha256}".part-*)
  ((${#parts[@]})) && cat "${parts[@]}" > "$whl"
  if [[ -f $whl && $(sha256sum "$whl" | cut -d' ' -f1) == $(cut -d' ' -f1 "$sum") ]]; then
    wheels+=("$whl")
  else
    say "onnxruntime-gpu: its parts are incomplete (${#parts[@]} here); carry every .ortgpu part"
  fi
done
if ((${#wheels[@]})); then
  timeout 180 "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
    "${wheels[@]}"
  export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
# CUDA 13 / cuDNN libraries of the image's pip-installed nvidia-* packages, for onnxruntime's CUDA provider.
nvlibs=$("$py" - <<'PY'
import glob, os, site
paths = site.getsitepackages() + [site.getusersitepackages()]
libs = {os.path.dirname(p) for sp in paths for p in glob.glob(os.path.join(sp, "nvidia", "**", "lib", "*.so*"), recursive=True)}
print(":".join(sorted(libs)))
PY
)
export LD_LIBRARY_PATH="$nvlibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONUNBUFFERED=1

# 2. What is here: the GPU, the packages uwac needs, onnxruntime's providers.
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || true)
say "GPU: ${gpu:-none visible to nvidia-smi}"
"$py" - <<'PY' | tee -a "$log"
import importlib.util, sys
need = ["numpy", "scipy", "yaml", "tqdm", "matplotlib", "sklearn", "onnx", "onnxruntime", "torch", "soundfile", "soxr"]
missing = [m for m in need if importlib.util.find_spec(m) is None]
if missing:
    print(f"missing Python packages: {', '.join(missing)}; run `bash bench/gpu_infer_check.sh --wheels` where pip "
          "works and carry .whl")
    sys.exit(3)
import onnxruntime as ort
print(f"onnxruntime {ort.__version__} from {ort.__file__.rsplit('/', 2)[0]}; providers: "
      f"{', '.join(ort.get_available_providers())}")
if importlib.util.find_spec("librosa") is None:
    print("librosa missing: the librosa + torch rows are not run")
PY
providers=cuda
if ! "$py" -c "import onnxruntime as o, sys; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())"; then
  say "onnxruntime-gpu is MISSING (this onnxruntime has no CUDA provider): every row runs on the CPU"
  providers=cpu
fi

# 3. The model files: MODEL as given, or RUN exported (fp32 and fp16) into /tmp/uwac_gpu_models.
model=${2:-}
if [[ -z $model ]]; then
  model=/tmp/uwac_gpu_models/model.onnx
  mkdir -p "$(dirname "$model")"
  timeout 180 "$py" - "$run" "$model" <<'PY' 2>&1 | tail -3 | tee -a "$log"
import sys
from export.onnx_export import export_run
from export.variants import export_fp16, variant_path
run, model = sys.argv[1:3]
export_run(run, model)
export_fp16(run, variant_path(model, "fp16"), reference=model)
print(f"exported {model} and its fp16 variant (ungated) from {run}")
PY
fi
beside=("$(dirname "$model")/$(basename "${model%.onnx}")".*.onnx)
say "model: $model; variants beside it: ${beside[*]:-none}"

# 4. The benchmark, every onnxruntime row under $providers; batch 1 rows come with --batch 64.
if ! timeout 300 "$py" -m uwac.acoustics bench infer --run "$run" --model "$model" --providers "$providers" --batch 64 \
    --seconds "${BENCH_SECONDS:-120}" --repeats "${BENCH_REPEATS:-3}" --out "$out" > "$out/bench_stdout.txt" 2>&1; then
  failed+=(bench); tail -20 "$out/bench_stdout.txt"
fi

# 5. Parity: fp32 and fp16 on CUDA (and fp16 on the CPU) against fp32 on the CPU, one window set of every class.
if ! timeout 180 "$py" - "$model" "$out/parity.json" "$providers" <<'PY' 2>&1 | tee -a "$log"; then failed+=(parity); fi
import json, sys
from pathlib import Path
import numpy as np
from uwac.acoustics.contract import load_session, run_batch
from uwac.acoustics.synth import render_recording
from uwac.acoustics.windows import cut_windows
from export.variants import variant_path
model, out, accelerator = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
_, info = load_session(model)
audio = [render_recording(label=c, seed=7, duration_s=30.0, sample_rate=info.sample_rate)[0]
         for c in ("ambient", "merchant", "warship", "drone")]
windows = np.ascontiguousarray(np.concatenate([cut_windows(a, info.window_samples, info.hop_samples) for a in audio]),
                               dtype=np.float32)
def probabilities(path, providers):
    session, _ = load_session(path, providers=providers, allow_rejected=True)
    p = np.concatenate([run_batch(session, windows[i:i + 64])["probabilities"] for i in range(0, len(windows), 64)])
    return p, session.get_providers()[0].removesuffix("ExecutionProvider")
ref, _ = probabilities(model, "cpu")
result = {"windows": len(windows)}
fp16 = variant_path(model, "fp16")
for name, path, providers in dict.fromkeys((("fp32", model, accelerator), ("fp16", fp16, accelerator),
                                            ("fp16", fp16, "cpu"))):
    if not path.is_file() or (name, providers) == ("fp32", "cpu"):
        continue
    p, ran_on = probabilities(path, providers)
    result[f"{name} on {ran_on}"] = {"max_abs_dp": float(np.abs(p - ref).max()),
                                     "top1_agreement": float((p.argmax(1) == ref.argmax(1)).mean())}
json.dump(result, open(out, "w"), indent=2)
print(f"parity against fp32 on CPU, {len(windows)} windows of 4 classes:")
for key, r in result.items():
    if key != "windows":
        verdict = "agrees" if r["max_abs_dp"] <= 1e-2 else "DIFFERS"
        print(f"  {key:<13} max |Δp| {r['max_abs_dp']:.1e}, top-1 agreement {100 * r['top1_agreement']:.1f} % ({verdict})")
PY

# 6. One summary: where each onnxruntime row ran and how fast.
if [[ -f $out/bench_infer.json ]]; then
  "$py" - "$out/bench_infer.json" <<'PY' | tee -a "$log"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"bench infer ({r['params']['providers']} asked; {r['params']['windows']} windows, threads {r['params']['threads']}):")
for row in r["rows"]:
    if row["status"] != "ok":
        print(f"  {row['pipeline']:<14} b{row['batch']:<3} {row['status'][:70]}")
        continue
    ran = (row.get("providers") or ["torch CPU"])[0].removesuffix("ExecutionProvider")
    print(f"  {row['pipeline']:<14} b{row['batch']:<3} on {ran:<9} {row['windows_per_s']:>9.0f} windows/s  "
          f"p50 {row['p50_ms']:.3f} ms  p99 {row['p99_ms']:.3f} ms  cold {row['cold_start_s']:.2f} s")
for b, q in r["ratios"].items():
    print(f"  batch {b}: fp16/fp32 {q.get('fp16_vs_fp32') or float('nan'):.2f}×, "
          f"int8/fp32 {q.get('int8_vs_fp32') or float('nan'):.2f}×, onnx/torch {q.get('onnx_vs_torch') or float('nan'):.2f}×")
fell_back = [f"{x['pipeline']} b{x['batch']}" for x in r["rows"] if x["status"] == "ok"
             and x["pipeline"].startswith("ort-") and x["providers"][0] != "CUDAExecutionProvider"]
if r["params"]["providers"] == "cuda" and fell_back:
    print(f"  WARNING: CUDA was asked for but these rows ran on the CPU: {', '.join(fell_back)} "
          "(CUDA 13 / cuDNN libraries not found? see bench_stdout.txt)")
PY
fi
if ((${#failed[@]})); then say "FAILED: ${failed[*]}"; exit 1; fi
say "done: $out"
