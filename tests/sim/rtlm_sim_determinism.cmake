# Runs rtlm-sim twice with the same seed and checks that everything it writes is the same byte
# for byte: the per-request CSVs, the plots, and the JSON summary (less its wall-clock speed).
# Usage: cmake -DSIM=<rtlm-sim> -DOUT=<scratch folder> -P rtlm_sim_determinism.cmake
file(REMOVE_RECURSE "${OUT}")
foreach(run IN ITEMS a b)
  execute_process(
    COMMAND "${SIM}" --duration 240 --loads 0.5,1.1 --quiet --seed 3 --out "${OUT}/${run}"
            --json "${OUT}/${run}/summary.json"
    RESULT_VARIABLE status OUTPUT_QUIET)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "rtlm-sim run ${run} failed: ${status}")
  endif()
endforeach()
file(GLOB outputs RELATIVE "${OUT}/a" "${OUT}/a/*")
list(LENGTH outputs count)
if(count LESS 10)
  message(FATAL_ERROR "rtlm-sim wrote only ${count} files: ${outputs}")
endif()
foreach(name IN LISTS outputs)
  file(READ "${OUT}/a/${name}" first)
  file(READ "${OUT}/b/${name}" second)
  if(name STREQUAL "summary.json")
    string(REGEX REPLACE "\"summary.sim_seconds_per_wall_second\": [^\n]*\n" "" first "${first}")
    string(REGEX REPLACE "\"summary.sim_seconds_per_wall_second\": [^\n]*\n" "" second
                         "${second}")
  endif()
  if(NOT first STREQUAL second)
    message(FATAL_ERROR "rtlm-sim's ${name} differs between two runs with the same seed")
  endif()
endforeach()
message(STATUS "rtlm-sim: ${count} files identical across two runs")
