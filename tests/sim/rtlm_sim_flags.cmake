# rtlm-sim's flags: a bad value is refused with the flag and the value named, and --step-tokens
# and --max-batch reach the simulated GPU (its measured capacity changes with each).
# Usage: cmake -DSIM=<rtlm-sim> -DOUT=<scratch folder> -P rtlm_sim_flags.cmake
file(REMOVE_RECURSE "${OUT}")
foreach(bad IN ITEMS "--step-tokens;0;--step-tokens = 0: must be a whole number"
                     "--step-tokens;1.5;--step-tokens = 1.5: must be a whole number"
                     "--kv-tokens;1e30;--kv-tokens = 1e+30: must be a whole number"
                     "--step-tokens;many;--step-tokens = many: must be a number"
                     "--max-batch;0;--max-batch = 0: must be a whole number"
                     "--max-batch;2.5;--max-batch = 2.5: must be a whole number")
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
foreach(batch IN ITEMS 8 256)
  execute_process(
    COMMAND "${SIM}" --duration 120 --loads "" --policies fcfs --quiet --max-batch ${batch}
            --out "${OUT}/batch_${batch}" --json "${OUT}/batch_${batch}.json"
    RESULT_VARIABLE status OUTPUT_QUIET)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "rtlm-sim --max-batch ${batch} failed: ${status}")
  endif()
  file(STRINGS "${OUT}/batch_${batch}.json" line REGEX "summary.capacity_requests_per_second")
  set(batch_capacity_${batch} "${line}")
endforeach()
if(batch_capacity_8 STREQUAL batch_capacity_256 OR batch_capacity_8 STREQUAL "")
  message(FATAL_ERROR "--max-batch did not change the capacity: '${batch_capacity_8}'")
endif()
message(STATUS "rtlm-sim flags: bad values refused; ${capacity_512} vs ${capacity_8192}; "
               "${batch_capacity_8} vs ${batch_capacity_256}")
