#!/usr/bin/env bash
# Experiment (a) in one GPU call, planned on the engine that runs it: time_budget_gpu.py times
# its own prefills, decode graph and eviction (OUT/profile.csv); eval_time_budget, built here
# header-only, plans on that profile and that eviction cost (OUT/plans.csv); then
# time_budget_gpu.py runs the plans (OUT/runs.csv). RTLM_DEPS as for run_host.sh. The plans
# carry the frontier's operating points (eval_time_budget --frontier: timebill_k1..k10,
# rtlm_q0.50..q0.99); pass --frontier to run them too. They add about a fifth to the runs
# (simulated on the H200 profile: 160 runs, 378 s for the first 30 requests, against 132 and
# 304 s without), so `--frontier --requests 25 --max-seconds 300` fits one 9-minute call.
# Usage: RTLM_DEPS=DIR OUT=DIR bash benchmarks/gpu/run_time_budget.sh [time_budget_gpu.py options]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export RTLM_MODULE_DIR=${RTLM_MODULE_DIR:-$(mktemp -d)}
mkdir -p "$RTLM_MODULE_DIR"
planner=$RTLM_MODULE_DIR/eval_time_budget
c++ -O2 -std=c++20 -DRTLM_HEADER_ONLY -DFMT_HEADER_ONLY -w -Iinclude -I"$RTLM_DEPS/include" \
  -I"$RTLM_DEPS/include/eigen3" -DRTLM_BENCHMARK_DATA_DIR="\"$PWD/benchmarks/data\"" \
  benchmarks/eval_time_budget.cpp -o "$planner" &
building=$!
bash benchmarks/gpu/run_host.sh benchmarks/gpu/time_budget_gpu.py --profile-out "$OUT/profile.csv"
wait "$building"
"$planner" --profile "$OUT/profile.csv" --eviction-cost "$(cat "$OUT/profile.csv.eviction_cost")" \
  --plans "$OUT/plans.csv" --plans-requests 150 --frontier \
  --frontier-models Meta-Llama-3-8B-Instruct > "$OUT/eval_time_budget.log"
grep -E "^summary|^  (points alone|with vanilla):" "$OUT/eval_time_budget.log" | tail -4 || true
bash benchmarks/gpu/run_host.sh benchmarks/gpu/time_budget_gpu.py --plans "$OUT/plans.csv" "$@"
