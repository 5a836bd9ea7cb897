# eval_sim_vs_gpu's reading of gpu_host.py's result files: a malformed file is an error that
# names the file and line (and the column and value where one is at fault), never a figure.
# Each case writes a results folder whose first call (h200_served_stream_rounds/call_1, the first
# the program reads) holds the fault.
# Usage: cmake -DEVAL=<eval_sim_vs_gpu> -DPROFILE=<an engine profile> -DOUT=<scratch folder>
#        -P eval_sim_vs_gpu_files.cmake
file(REMOVE_RECURSE "${OUT}")

# Writes the three files of case `name`, runs the program on them and checks that it fails with
# `expected` in its message, after the path of the faulty call's folder. (<semicolon> stands for
# ';' in the log, which would split the function's arguments.)
function(check name log served steps expected)
  set(dir "${OUT}/${name}/h200_served_stream_rounds/call_1")
  file(MAKE_DIRECTORY "${dir}")
  string(REPLACE "<semicolon>" ";" log "${log}")
  file(WRITE "${dir}/log.txt" "${log}")
  file(WRITE "${dir}/served_stream.csv" "${served}")
  file(WRITE "${dir}/steps.csv" "${steps}")
  execute_process(COMMAND "${EVAL}" --results "${OUT}/${name}" --engine-profile "${PROFILE}"
                  RESULT_VARIABLE status OUTPUT_QUIET ERROR_VARIABLE err)
  if(status EQUAL 0)
    message(FATAL_ERROR "${name}: eval_sim_vs_gpu accepted the files")
  endif()
  string(FIND "${err}" "${dir}/${expected}" at)
  if(at LESS 0)
    message(FATAL_ERROR "${name}: expected '${dir}/${expected}', got '${err}'")
  endif()
endfunction()

set(log "capacity 15.90 requests/s<semicolon> arrivals x 0.261 for load 0.9
estimator fitted to benchmarks/data/profiles/h200_llama-3.1-8b.csv
")
set(served "policy,run,round,id,outcome,latency,on_time
first_come_first_served,0,0,0,finished,0.25,True
")
set(steps "policy,run,round,computed,predicted,measured,host_seconds,base_prefill,base_decode,\
prefills,prefill_tokens,decodes,decode_kv_tokens,measured_prefill
")
set(step "first_come_first_served,0,0,1,0.011,0.015,4e-05,0.011,0.0,1,374,0,0,0.015\n")

check(no_capacity_line "estimator fitted to x.csv\n" "${served}" "${steps}"
      "log.txt: no 'capacity ...' line")
check(bad_capacity_line "capacity fast requests/s\n" "${served}" "${steps}"
      "log.txt:1: cannot read the capacity line")
check(latency_not_a_number "${log}"
      "${served}first_come_first_served,0,0,1,finished,soon,True\n" "${steps}"
      "served_stream.csv:3: column 'latency' = 'soon': not a finite number")
check(latency_nan "${log}"
      "${served}first_come_first_served,0,0,1,finished,nan,True\n" "${steps}"
      "served_stream.csv:3: column 'latency' = 'nan': not a finite number")
check(short_row "${log}" "${served}first_come_first_served,0,0,1,finished\n" "${steps}"
      "served_stream.csv:3: 5 fields, the header has 7")
check(ids_out_of_order "${log}" "${served}first_come_first_served,0,0,2,finished,0.3,True\n"
      "${steps}" "served_stream.csv:3: request id 2 out of order (expected 1)")
check(refused_request "${log}" "${served}first_come_first_served,0,0,1,rejected,nan,False\n"
      "${steps}" "served_stream.csv:3: outcome 'rejected'")
check(no_latency_column "${log}"
      "policy,run,round,id,outcome,on_time\nfirst_come_first_served,0,0,0,finished,True\n"
      "${steps}" "served_stream.csv: no column 'latency'")
check(unequal_runs "${log}"
      "${served}uncertainty_aware_priority,1,0,0,finished,0.25,True
uncertainty_aware_priority,1,0,1,finished,0.25,True\n" "${steps}"
      "served_stream.csv: run 'uncertainty_aware_priority' has 2 requests, run \
'first_come_first_served' 1")
check(fractional_tokens "${log}" "${served}"
      "${steps}first_come_first_served,0,0,1,0.011,0.015,4e-05,0.011,0.0,1,374.5,0,0,0.015\n"
      "steps.csv:2: column 'prefill_tokens' = '374.5': not a whole number >= 0")
check(parts_disagree "${log}" "${served}"
      "${steps}first_come_first_served,0,0,2,0.011,0.015,4e-05,0.011,0.0,1,374,0,0,0.015\n"
      "steps.csv:2: prefills 1 + decodes 0 != computed 2")
check(step_of_unknown_run "${log}" "${served}"
      "${steps}${step}first_come_first_served,7,3,1,0.011,0.015,4e-05,0.011,0.0,1,374,0,0,0.015\n"
      "steps.csv:3: a step of run 'first_come_first_served#7'")
