#!/usr/bin/env bash
# Runs every libFuzzer target of a build for a while and prints each one's executions and rate.
# Usage: fuzz/run_fuzzers.sh BUILD_DIR [SECONDS [TARGET...]]   (defaults: 60 s, every target)
# Each target starts from a copy of fuzz/corpus/<name>/ (so the repository is not modified) plus
# fuzz/regressions/<name>/; new inputs and crash artifacts go under BUILD_DIR/fuzz-run/<name>/.
# Fails when any target finds a crash, a sanitizer report, a failed invariant or a hang.
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

failed=()
summary=()
for name in "${targets[@]}"; do
  binary="$build_dir/fuzz/rtlm_fuzz_$name"
  work="$build_dir/fuzz-run/$name"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -R "$source_dir/corpus/$name/." "$work/corpus/"
  inputs=("$work/corpus")
  if [ -d "$source_dir/regressions/$name" ]; then inputs+=("$source_dir/regressions/$name"); fi
  echo "--- fuzz_$name for ${seconds}s"
  # -timeout: an input that runs for 10 s is a hang, and a finding.
  status=0
  (cd "$work" && "$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -artifact_prefix="$work/artifacts/" "${inputs[@]}" >"$work/log.txt" 2>&1) || status=$?
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log.txt")
  summary+=("$(printf '%-20s %12s executions %8s exec/s' "$name" "${executed:-?}" "${rate:-?}")")
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$work/log.txt"
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
