# rtlm-sim's flags: a bad value is refused with the flag and the value named, and --step-tokens
# reaches the simulated GPU (its measured capacity changes with it).
# Usage: cmake -DSIM=<rtlm-sim> -DOUT=<scratch folder> -P rtlm_sim_flags.cmake
file(REMOVE_RECURSE "${OUT}")
foreach(bad IN ITEMS "--step-tokens;0;--step-tokens = 0: must be a whole number"
                     "--step-tokens;1.5;--step-tokens = 1.5: must be a whole number"
                     "--kv-tokens;1e30;--kv-tokens = 1e+30: must be a whole number"
                     "--step-tokens;many;--step-tokens = many: must be a number")
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
foreach(tokens IN ITEMS 512 8192)
  execute_process(
    COMMAND "${SIM}" --duration 120 --loads "" --policies fcfs --quiet --step-tokens ${tokens}
            --out "${OUT}/${tokens}" --json "${OUT}/${tokens}.json"
    RESULT_VARIABLE status OUTPUT_QUIET)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "rtlm-sim --step-tokens ${tokens} failed: ${status}")
  endif()
  file(STRINGS "${OUT}/${tokens}.json" line REGEX "summary.capacity_requests_per_second")
  set(capacity_${tokens} "${line}")
endforeach()
if(capacity_512 STREQUAL capacity_8192 OR capacity_512 STREQUAL "")
  message(FATAL_ERROR "--step-tokens did not change the capacity: '${capacity_512}'")
endif()
message(STATUS "rtlm-sim flags: bad values refused; ${capacity_512} vs ${capacity_8192}")
