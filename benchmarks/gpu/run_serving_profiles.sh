#!/usr/bin/env bash
# The serving-grid profiles of both committed models in one GPU call (docs/estimator.md,
# 'Serving shapes and a second machine'): profile_gpu.py --grid serving for Llama-3.1-8B, then
# Qwen2.5-7B, each under a time limit so both fit one call. SEED=0 keeps the grid's sizes; another
# seed moves them off it (the held-out profile of a second machine).
# Usage: OUT=DIR [SEED=N] [LIMIT=S] bash benchmarks/gpu/run_serving_profiles.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seed=${SEED:-0}
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | grep -oiE 'h100|h200' |
  tr 'A-Z' 'a-z' || echo gpu)
for model in llama-3.1-8b qwen2.5-7b; do
  PYTHONUNBUFFERED=1 python3 benchmarks/gpu/profile_gpu.py --model "$model" --grid serving \
    --grid-seed "$seed" --repeats 8 --min-repeats 4 --big-budget-s 2 \
    --time-limit-s "${LIMIT:-250}" --out "$OUT/${gpu}_${model}_serving_s$seed.csv" \
    > "$OUT/${model}_s$seed.log" 2>&1
  echo "$model: exit $?"
  grep -E 'serving grid|KV budget|WARNING|^wrote|spread over|FAIL' "$OUT/${model}_s$seed.log"
done
