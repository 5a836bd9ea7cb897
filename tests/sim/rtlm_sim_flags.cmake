# rtlm-sim's flags: a bad value is refused with the flag and the value named, before anything
# runs; times that would overflow the simulated clock, a --model other than the profile's and a
# full disk are refused too; --step-tokens and
# --max-batch reach the simulated GPU (its measured capacity changes with each), --swap reaches
# it too (the saturated capacity run swaps, so the load and the latency move),
# --admission-pace reaches rtlm's admission control (its refusals change), and --seeds adds
# figures over the seeds without changing the first seed's.
# Usage: cmake -DSIM=<rtlm-sim> -DOUT=<scratch folder> -P rtlm_sim_flags.cmake
cmake_policy(SET CMP0007 NEW)  # keep the empty value of "--policies;;..."
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
                     "--seeds;,;--seeds = : must name at least one seed"
                     "--policies;;--policies = : must name at least one policy"
                     "--policies;vllm_fcfs,edf,vllm_fcfs;--policies = vllm_fcfs: is named twice"
                     "--policies;vllm_fcfs,srtf;--policies = srtf: is not a known policy"
                     "--duration;-5;--duration = -5: must be seconds in (0, 4e9]"
                     "--duration;0;--duration = 0: must be seconds in (0, 4e9]"
                     "--replicas;1.9;--replicas = 1.9: must be a whole number in 1..64"
                     "--replicas;1e10;--replicas = 1e10: must be a whole number in 1..64"
                     "--loads;0.5,0;--loads = 0: must be in (0, 10]"
                     "--deadline;slack:1e300;--deadline = slack:1e300: the slack factor must be"
                     "--deadline;slo:1e10,0.1;--deadline = slo:1e10,0.1: TTFT must be in [0, 1e9]"
                     "--gpu;v100;--gpu = v100: must be h100, h200, a100-80gb, a100-40gb or l4"
                     "--tp;3;--tp = 3: must be 1, 2, 4 or 8"
                     "--tp;16;--tp = 16: must be 1, 2, 4 or 8"
                     "--gpu-memory-utilization;1.5;--gpu-memory-utilization = 1.5: must be in (0, 1]"
                     "--rtlm-kv;lazy;--rtlm-kv = lazy: must be on_demand or predicted_bound"
                     "--arrivals;weibull;--arrivals = weibull: must be trace, poisson, gamma:CV"
                     "--arrivals;gamma:0;--arrivals = gamma:0: the coefficient of variation"
                     "--burst;5;--burst = 5: must be N@T"
                     "--burst;0@5;--burst = 0: must be N@T with N a whole number"
                     "--burst;5@-1;--burst = 5@-1: must be N@T with T seconds"
                     "--slo;1;--slo = 1: must be TTFT,TPOT"
                     "--slo;1,-1;--slo = 1,-1: TPOT must be in [0, 1e9]"
                     "--predictor;tau:1.5;--predictor = tau:1.5: the Kendall tau must be in (0, 1)"
                     "--predictor;tau:abc;--predictor = abc: must be a number"
                     "--predictor;oracles;--predictor = oracles: must be noise, oracle, none or tau:X"
                     "--classes;chat;--classes = chat: each class must be NAME:SHARE"
                     "--classes;chat:x;--classes = x: must be a number"
                     "--classes;chat:1:tpot=0;--classes = chat:1:tpot=0: tpot must be in (0, 1e9]"
                     "--classes;chat:1:speed=2;--classes = chat:1:speed=2: a class's options are"
                     "--classes;a:1,a:1;--classes = a:1,a:1: scheduler_config.slo.classes[1].name"
                     "--classes;a:0,b:0;--classes = a:0,b:0: request_mix.class_shares must not"
                     "--tenants;1,-1;--tenants = 1,-1: a share must be in [0, 1e6]"
                     "--tenants;0,0;--tenants = 0,0: request_mix.tenant_shares must not all be 0"
                     "--relegation;drop;--relegation = drop: must be off, demote or shed_sheddable")
  list(GET bad 0 flag)
  list(GET bad 1 value)
  list(GET bad 2 expected)
  execute_process(COMMAND "${SIM}" ${flag} "${value}" --quiet --out "${OUT}/refused"
                  RESULT_VARIABLE status OUTPUT_QUIET ERROR_VARIABLE err)
  if(status EQUAL 0)
    message(FATAL_ERROR "rtlm-sim ${flag} ${value} was accepted")
  endif()
  string(FIND "${err}" "${expected}" at)
  if(at LESS 0)
    message(FATAL_ERROR "rtlm-sim ${flag} ${value}: expected '${expected}', got '${err}'")
  endif()
endforeach()
# Flags are checked before anything runs: a refused value leaves no output behind (a bad
# --loads was once found only after the main runs had written their CSVs).
if(EXISTS "${OUT}/refused")
  message(FATAL_ERROR "a refused flag still wrote ${OUT}/refused")
endif()

# rtlm-sim with `ARGN` (over a short slice of the trace, one policy) must exit non-zero with
# `expected` on stderr. OUTPUT_FILE, when set, is where its stdout goes.
function(expect_refusal expected)
  set(stdout_to OUTPUT_QUIET)
  if(DEFINED OUTPUT_FILE)
    set(stdout_to OUTPUT_FILE "${OUTPUT_FILE}")
  endif()
  execute_process(COMMAND "${SIM}" --quiet --policies vllm_fcfs --loads "" ${ARGN}
                  RESULT_VARIABLE status ${stdout_to} ERROR_VARIABLE err)
  if(status EQUAL 0)
    message(FATAL_ERROR "rtlm-sim ${ARGN} exited 0; expected '${expected}'")
  endif()
  string(FIND "${err}" "${expected}" at)
  if(at LESS 0)
    message(FATAL_ERROR "rtlm-sim ${ARGN}: expected '${expected}', got '${err}'")
  endif()
endfunction()
# Times that would overflow the simulated clock (int64 nanoseconds) are refused, naming the flag:
# at load 1e-8 the first 600 s of arrivals stretch to 2e10 s; a slack of 1e9 times a request's
# service time puts its deadline beyond 1e9 s after its arrival.
expect_refusal("--load = 1e-08: stretches the trace's 600 s of arrivals to"
               --duration 600 --load 1e-8 --out "${OUT}/overflow")
expect_refusal("--loads = 1e-08: stretches" --duration 600 --loads 0.5,1e-8
               --out "${OUT}/overflow")
expect_refusal("deadline = " --duration 60 --deadline slack:1e9 --out "${OUT}/overflow")
# A length set has no times: its arrivals must come from --arrivals.
expect_refusal("is a length set without times: pass --arrivals"
               --trace "${DATA}/sharegpt/sharegpt_8k_filtered_stats_llama2_tokenizer.csv"
               --out "${OUT}/untimed")
# Fairness shares between tenants: without them there is nothing to share.
expect_refusal("--fairness = on: needs --tenants" --duration 60 --fairness --out "${OUT}/fair")
# A prefix cache needs prompt blocks to look up; Mooncake's trace has them.
expect_refusal("needs a trace with prefix blocks" --duration 60 --prefix-cache
               --out "${OUT}/prefix")
execute_process(COMMAND "${SIM}" --quiet --policies vllm_fcfs --loads "" --duration 600
                        --trace "${DATA}/mooncake/conversation_trace.jsonl" --prefix-cache
                        --out "${OUT}/prefix" --json "${OUT}/prefix.json"
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(STRINGS "${OUT}/prefix.json" cached REGEX "vllm_fcfs.cached_prefill_tokens")
if(NOT status EQUAL 0 OR NOT cached MATCHES ": [1-9]")
  message(FATAL_ERROR "rtlm-sim --prefix-cache served nothing from the cache: ${err} ${cached}")
endif()
# A TP degree no profile measured runs on the nearest one, carried over, and says so.
execute_process(COMMAND "${SIM}" --quiet --policies vllm_fcfs --loads "" --duration 60
                        --model llama-3.1-70b --tp 8 --out "${OUT}/tp8"
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(FIND "${out}" "(h100 at TP 4), its efficiencies carried over to the h100's ceilings at TP 8"
       at)
if(NOT status EQUAL 0 OR at LESS 0)
  message(FATAL_ERROR "rtlm-sim --model llama-3.1-70b --tp 8: ${status} ${err}\n${out}")
endif()
# Generated arrivals and a burst run, and the table says what arrived.
execute_process(COMMAND "${SIM}" --quiet --policies vllm_fcfs --loads ""
                        --trace "${DATA}/sharegpt/sharegpt_8k_filtered_stats_llama2_tokenizer.csv"
                        --arrivals gamma:2 --burst 100@10 --out "${OUT}/generated"
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(FIND "${out}" "arrivals: gamma, CV 2, plus 100 at 10 s" at)
if(NOT status EQUAL 0 OR at LESS 0)
  message(FATAL_ERROR "rtlm-sim with gamma arrivals and a burst: ${status} ${err}\n${out}")
endif()
# --predictor tau:X runs the controlled predictor, and the table says what tau it measured.
execute_process(COMMAND "${SIM}" --quiet --policies vllm_fcfs --loads "" --duration 60
                        --predictor tau:0.5 --out "${OUT}/tau"
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(tau_line "predictions: controlled predictor: Kendall tau 0.50 [^\n]*measured on this trace: 0")
if(NOT status EQUAL 0 OR NOT out MATCHES "${tau_line}\\.[0-9][0-9]\\)")
  message(FATAL_ERROR "rtlm-sim --predictor tau:0.5: ${status} ${err}\n${out}")
endif()
# A profile measured on one model does not time another: --model must match its `# model:`.
expect_refusal("--model = qwen2.5-7b: differs from the model of --profile" --duration 60
               --model qwen2.5-7b --profile "${DATA}/profiles/h100_llama-3.1-8b.csv"
               --out "${OUT}/model")
# A full disk (Linux's /dev/full: every write fails with ENOSPC) is an error naming the file,
# for the JSON, a per-request CSV, a plot and the table on stdout; never "wrote ..." and exit 0.
if(EXISTS /dev/full)
  expect_refusal("--json = /dev/full: cannot be written: No space left on device" --duration 60
                 --out "${OUT}/full" --json /dev/full)
  foreach(name IN ITEMS requests_vllm_fcfs.csv latency_cdf.svg)
    file(REMOVE_RECURSE "${OUT}/full")
    file(MAKE_DIRECTORY "${OUT}/full")
    file(CREATE_LINK /dev/full "${OUT}/full/${name}" SYMBOLIC)
    expect_refusal("${OUT}/full/${name}: cannot be written: No space left on device" --duration 60
                   --out "${OUT}/full")
  endforeach()
  set(OUTPUT_FILE /dev/full)
  expect_refusal("stdout = standard output: cannot be written: No space left on device"
                 --duration 60 --out "${OUT}/stdout")
  unset(OUTPUT_FILE)
  message(STATUS "rtlm-sim: a full disk is refused for the JSON, the CSVs, the plots and stdout")
endif()

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
check_figure_moves(--step-tokens 512 8192 vllm_fcfs summary.capacity_requests_per_second 120)
check_figure_moves(--max-batch 8 256 vllm_fcfs summary.capacity_requests_per_second 120)
check_figure_moves(--admission-pace alone current uncertainty_aware
                   uncertainty_aware.deadline_miss_rate 600)
check_figure_moves(--swap 0 25 uncertainty_aware uncertainty_aware.mean_latency 300)
# --seeds: the table is the first seed's (the same figures as --seed 1 alone), and the figures
# over the seeds span more than one value (each seed its own step noise and prediction draws).
foreach(run IN ITEMS "one;1" "three;1,2,3")
  list(GET run 0 tag)
  list(GET run 1 seeds)
  execute_process(
    COMMAND "${SIM}" --duration 300 --loads "" --policies vllm_fcfs,uncertainty_aware --quiet --seeds
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

# A request whose KV outgrows the simulated GPU fails (kv_exhausted), and rtlm-sim says so beside
# the table and in its JSON, instead of counting it silently out of the latency figures.
file(WRITE "${OUT}/outgrows.csv" "timestamp_ms,input_length,output_length\n0,100,200\n"
     "100,100,2000000\n200,100,300\n")
execute_process(COMMAND "${SIM}" --trace "${OUT}/outgrows.csv" --predictor none --kv-tokens 50000
                        --policies vllm_fcfs --loads "" --out "${OUT}/outgrows" --json
                        "${OUT}/outgrows/summary.json"
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "rtlm-sim on a request that outgrows the GPU failed: ${err}")
endif()
string(FIND "${out}" "vllm_fcfs: 1 request failed unfinished" at)
if(at LESS 0)
  message(FATAL_ERROR "rtlm-sim did not report the failed request:\n${out}")
endif()
file(READ "${OUT}/outgrows/summary.json" summary)
string(FIND "${summary}" "\"vllm_fcfs.failed\": 1," at)
file(READ "${OUT}/outgrows/requests_vllm_fcfs.csv" rows)
string(FIND "${rows}" ",failed,kv_exhausted," row_at)
if(at LESS 0 OR row_at LESS 0)
  message(FATAL_ERROR "the JSON or the CSV does not name the failed request:\n${summary}")
endif()
