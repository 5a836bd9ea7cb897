# rtlm-sim --suite over a short slice of each regime's trace, one seed and three policies: every
# regime runs (R5 with its own policies), and the JSON holds each regime's server, each policy's figures at each load and
# its sustainable rates, with ratios over vllm_fcfs (1 for vllm_fcfs itself).
# Usage: cmake -DSIM=<rtlm-sim> -DOUT=<scratch folder> -P rtlm_sim_suite.cmake
file(REMOVE_RECURSE "${OUT}")
execute_process(
  COMMAND "${SIM}" --suite --quiet --duration 120 --seeds 1
          --policies vllm_fcfs,predicted_sjf,oracle_srpt --out "${OUT}" --json "${OUT}/suite.json"
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "rtlm-sim --suite failed (${status}): ${err}")
endif()
file(READ "${OUT}/suite.json" json)
foreach(key IN ITEMS "R0.server.capacity_requests_per_second"
                     "R0_load080.vllm_fcfs.mean_latency_over_vllm_fcfs\": 1,"
                     "R0_load110.oracle_srpt.slo_attainment"
                     "R1_load100.predicted_sjf.normalized_latency"
                     "R2_mooncake_load100.vllm_fcfs.ttft_p99"
                     "R2_l4.server.kv_tokens"
                     "R3_load080.oracle_srpt.preemptions"
                     "R4_load100.vllm_fcfs.tpot_p99"
                     "R4.predicted_sjf.sustainable_rate_10pct"
                     "R4.predicted_sjf.sustainable_rate_1pct"
                     "R5.R0.rtlm_slo.interactive.attainment"
                     "R5.R0.oracle_slo.batch.throughput"
                     "R5.R1.edf.goodput"
                     "R5.R1.rtlm_slo.sustainable_rate_over_vllm_fcfs"
                     "R5.R0_tenants_load150.rtlm_slo_vtc.jain")
  string(FIND "${json}" "\"${key}" at)
  if(at LESS 0)
    message(FATAL_ERROR "rtlm-sim --suite wrote no '${key}':\n${json}")
  endif()
endforeach()
foreach(regime IN ITEMS R0 R1 R2_mooncake R2_l4 R3 R4)
  if(NOT EXISTS "${OUT}/suite_${regime}_latency_cdf.svg")
    message(FATAL_ERROR "rtlm-sim --suite wrote no plot for ${regime}")
  endif()
endforeach()
string(FIND "${out}" "| regime | true load |" at)
if(at LESS 0)
  message(FATAL_ERROR "rtlm-sim --suite printed no summary table:\n${out}")
endif()
message(STATUS "rtlm-sim --suite: every regime ran")
