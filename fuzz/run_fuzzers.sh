#!/usr/bin/env bash
# Runs every libFuzzer target of a build for a while and prints each one's executions and rate.
# Usage: fuzz/run_fuzzers.sh BUILD_DIR [SECONDS [TARGET...]]   (defaults: 60 s, every target)
# Each target starts from a copy of fuzz/corpus/<name>/ (so the repository is not modified) plus
# fuzz/regressions/<name>/; new inputs and crash artifacts go under BUILD_DIR/fuzz-run/<name>/.
# Fails when any target finds a crash, a sanitizer report, a failed invariant or a hang. Targets
# run side by side, one per core (RTLM_FUZZ_JOBS overrides).
set -euo pipefail
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_dir="$(cd "$1" && pwd)"
seconds="${2:-60}"
shift $(($# < 2 ? $# : 2))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(sed -n '/^set(rtlm_fuzz_targets/,/)/p' "$source_dir/CMakeLists.txt" |
    sed -e 's/set(rtlm_fuzz_targets//' -e 's/)//' | tr -s ' \n' ' '))
fi

# One target: its log, its exit status in $work/status.
run_one() {
  local name=$1 binary="$build_dir/fuzz/rtlm_fuzz_$1" work="$build_dir/fuzz-run/$1"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -R "$source_dir/corpus/$name/." "$work/corpus/"
  local inputs=("$work/corpus")
  if [ -d "$source_dir/regressions/$name" ]; then inputs+=("$source_dir/regressions/$name"); fi
  # -timeout: an input that runs for 10 s is a hang, and a finding.
  local status=0
  (cd "$work" && "$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -artifact_prefix="$work/artifacts/" "${inputs[@]}" >"$work/log.txt" 2>&1) || status=$?
  echo "$status" >"$work/status"
}

# As many targets at once as there are cores: each is one process on one core.
parallel=${RTLM_FUZZ_JOBS:-$(nproc)}
for name in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  echo "--- fuzz_$name for ${seconds}s"
  run_one "$name" &
done
wait

failed=()
summary=()
for name in "${targets[@]}"; do
  work="$build_dir/fuzz-run/$name"
  status=$(cat "$work/status" 2>/dev/null || echo 1)
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt" 2>/dev/null || true)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log.txt" 2>/dev/null || true)
  summary+=("$(printf '%-20s %12s executions %8s exec/s' "$name" "${executed:-?}" "${rate:-?}")")
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$work/log.txt" 2>/dev/null || true
    echo "fuzz_$name FAILED (exit $status); the input is in $work/artifacts/:" \
      "add it to fuzz/regressions/$name/ with the fix (fuzz/README.md)"
    failed+=("$name")
  fi
done

echo "--- fuzzing summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "findings in: ${failed[*]}" >&2
  exit 1
fi
