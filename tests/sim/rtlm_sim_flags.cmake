# rtlm-sim's flags: a bad value is refused with the flag and the value named, --step-tokens and
# --max-batch reach the simulated GPU (its measured capacity changes with each), --swap reaches
# it too (the saturated capacity run swaps, so the load and the latency move),
# --admission-pace reaches rtlm's admission control (its refusals change), and --seeds adds
# figures over the seeds without changing the first seed's.
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
                     "--swap;fast;--swap = fast: must be a number"
                     "--seed;-1;--seed = -1: must be a whole number"
                     "--seed;1.5;--seed = 1.5: must be a whole number"
                     "--seeds;1,x;--seeds = x: must be a number"
                     "--seeds;,;--seeds = : must name at least one seed")
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
# --seeds: the table is the first seed's (the same figures as --seed 1 alone), and the figures
# over the seeds span more than one value (each seed its own step noise and prediction draws).
foreach(run IN ITEMS "one;1" "three;1,2,3")
  list(GET run 0 tag)
  list(GET run 1 seeds)
  execute_process(
    COMMAND "${SIM}" --duration 300 --loads "" --policies fcfs,uncertainty_aware --quiet --seeds
            ${seeds} --out "${OUT}/seeds_${tag}" --json "${OUT}/seeds_${tag}.json"
    RESULT_VARIABLE status OUTPUT_VARIABLE table_${tag})
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "rtlm-sim --seeds ${seeds} failed: ${status}")
  endif()
  file(STRINGS "${OUT}/seeds_${tag}.json" line_${tag} REGEX "\"uncertainty_aware.mean_latency\"")
endforeach()
if(NOT "${line_one}" STREQUAL "${line_three}" OR "${line_one}" STREQUAL "")
  message(FATAL_ERROR "--seeds 1,2,3 changed the first seed's figure: '${line_one}', '${line_three}'")
endif()
file(STRINGS "${OUT}/seeds_three.json" lowest REGEX "uncertainty_aware.mean_latency_min_over_seeds")
file(STRINGS "${OUT}/seeds_three.json" highest REGEX "uncertainty_aware.mean_latency_max_over_seeds")
string(REGEX REPLACE ".*: ([^,]*),?" "\\1" lowest "${lowest}")
string(REGEX REPLACE ".*: ([^,]*),?" "\\1" highest "${highest}")
if("${lowest}" STREQUAL "" OR NOT lowest LESS highest)
  message(FATAL_ERROR "--seeds 1,2,3: mean latency over the seeds spans '${lowest}' to '${highest}'")
endif()
string(FIND "${table_three}" "over 3 seeds (1,2,3)" at)
if(at LESS 0)
  message(FATAL_ERROR "--seeds 1,2,3 printed no table over the seeds")
endif()
message(STATUS "rtlm-sim --seeds 1,2,3: mean latency ${lowest} to ${highest} s")
message(STATUS "rtlm-sim flags: bad values refused")
