# rtlm-sim's flags: a bad value is refused with the flag and the value named, --step-tokens and
# --max-batch reach the simulated GPU (its measured capacity changes with each), --swap reaches
# it too (the saturated capacity run swaps, so the load and the latency move), and
# --admission-pace reaches rtlm's admission control (its refusals change).
# Usage: cmake -DSIM=<rtlm-sim> -DOUT=<scratch folder> -P rtlm_sim_flags.cmake
file(REMOVE_RECURSE "${OUT}")
foreach(bad IN ITEMS "--step-tokens;0;--step-tokens = 0: must be a whole number"
                     "--step-tokens;1.5;--step-tokens = 1.5: must be a whole number"
                     "--kv-tokens;1e30;--kv-tokens = 1e+30: must be a whole number"
                     "--step-tokens;many;--step-tokens = many: must be a number"
                     "--max-batch;0;--max-batch = 0: must be a whole number"
                     "--max-batch;2.5;--max-batch = 2.5: must be a whole number"
                     "--admission-pace;fast;--admission-pace = fast: must be alone or current"
                     "--swap;-1;--swap = -1: must be GB/s in 0..1e6"
                     "--swap;fast;--swap = fast: must be a number")
  list(GET bad 0 flag)
  list(GET bad 1 value)
  list(GET bad 2 expected)
  execute_process(COMMAND "${SIM}" ${flag} ${value} --quiet RESULT_VARIABLE status
                  OUTPUT_QUIET ERROR_VARIABLE err)
  if(status EQUAL 0)
    message(FATAL_ERROR "rtlm-sim ${flag} ${value} was accepted")
  endif()
  string(FIND "${err}" "${expected}" at)
  if(at LESS 0)
    message(FATAL_ERROR "rtlm-sim ${flag} ${value}: expected '${expected}', got '${err}'")
  endif()
endforeach()
# The figure `key` of `policy` that rtlm-sim measures with `flag` at `low` and at `high` (over
# the trace's first `seconds`) must differ.
function(check_figure_moves flag low high policy key seconds)
  foreach(value IN ITEMS ${low} ${high})
    set(name "${OUT}/${flag}_${value}")
    execute_process(
      COMMAND "${SIM}" --duration ${seconds} --loads "" --policies ${policy} --quiet ${flag}
              ${value} --out "${name}" --json "${name}.json"
      RESULT_VARIABLE status OUTPUT_QUIET)
    if(NOT status EQUAL 0)
      message(FATAL_ERROR "rtlm-sim ${flag} ${value} failed: ${status}")
    endif()
    file(STRINGS "${name}.json" line REGEX "${key}")
    set(figure_${value} "${line}")
  endforeach()
  if(figure_${low} STREQUAL figure_${high} OR figure_${low} STREQUAL "")
    message(FATAL_ERROR "${flag} did not change ${key}: '${figure_${low}}'")
  endif()
  message(STATUS "rtlm-sim ${flag} ${low}: ${figure_${low}}; ${high}: ${figure_${high}}")
endfunction()
check_figure_moves(--step-tokens 512 8192 fcfs summary.capacity_requests_per_second 120)
check_figure_moves(--max-batch 8 256 fcfs summary.capacity_requests_per_second 120)
check_figure_moves(--admission-pace alone current uncertainty_aware
                   uncertainty_aware.deadline_miss_rate 600)
check_figure_moves(--swap 0 25 uncertainty_aware uncertainty_aware.mean_latency 300)
message(STATUS "rtlm-sim flags: bad values refused")
