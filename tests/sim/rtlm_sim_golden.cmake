# Runs rtlm-sim on a short, fixed-seed slice of the bundled trace and compares what it writes
# with the output recorded when the simulator took vLLM V1's rules (tests/sim/golden/): the
# JSON summary (less its wall-clock speed) and every per-request CSV (by SHA-256), byte for byte.
# A change that moves any figure fails here; one that means to (a defect fix) records the new
# output with -DRECORD=ON and says why in its commit.
# Usage: cmake -DSIM=<rtlm-sim> -DOUT=<scratch> -DGOLDEN=<tests/sim/golden/NAME>
#              -DARGS=<flags, ;-separated> [-DRECORD=ON] -P rtlm_sim_golden.cmake
file(REMOVE_RECURSE "${OUT}")
execute_process(
  COMMAND "${SIM}" --quiet --out "${OUT}" --json "${OUT}/summary.json" ${ARGS}
  RESULT_VARIABLE status OUTPUT_QUIET)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "rtlm-sim ${ARGS} failed: ${status}")
endif()

file(STRINGS "${OUT}/summary.json" lines)
list(FILTER lines EXCLUDE REGEX "\"summary.sim_seconds_per_wall_second\"")
list(JOIN lines "\n" summary)
file(GLOB csvs RELATIVE "${OUT}" "${OUT}/requests_*.csv")
list(SORT csvs)
set(sums "")
foreach(name IN LISTS csvs)
  file(SHA256 "${OUT}/${name}" digest)
  string(APPEND sums "${digest}  ${name}\n")
endforeach()

if(RECORD)
  file(WRITE "${GOLDEN}/summary.json" "${summary}\n")
  file(WRITE "${GOLDEN}/requests.sha256" "${sums}")
  message(STATUS "recorded ${GOLDEN}")
  return()
endif()

file(READ "${GOLDEN}/summary.json" expected_summary)
string(STRIP "${expected_summary}" expected_summary)
if(NOT summary STREQUAL expected_summary)
  message(FATAL_ERROR "rtlm-sim ${ARGS}: ${OUT}/summary.json differs from ${GOLDEN}/summary.json")
endif()
file(READ "${GOLDEN}/requests.sha256" expected_sums)
if(NOT sums STREQUAL expected_sums)
  message(FATAL_ERROR "rtlm-sim ${ARGS}: the per-request CSVs differ from ${GOLDEN}/requests.sha256:\n"
                      "got\n${sums}")
endif()
list(LENGTH csvs count)
message(STATUS "rtlm-sim ${ARGS}: the summary and ${count} CSVs match ${GOLDEN}")
