// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// rtlm-sim's command line: its options, their defaults and the parser, apart from the program so
// that a fuzz target (fuzz/fuzz_sim_flags.cpp) can drive the parser without running anything.

#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/schedule/scheduler_config.hpp"
#include "rtlm/sim/serving_metrics.hpp"
#include "rtlm/sim/simulation.hpp"

namespace rtlm_sim {

/// `rtlm-sim --help`.
extern const std::string_view usage;

/// Everything the command line sets; the defaults are the default scenario. Plain data.
struct options {
  std::string data_dir;  // the bundled data (benchmarks/data)
  std::string trace;
  std::string profile;  // empty: the bundled profile of the GPU and model
  std::string errors;
  std::string errors_model = "Meta-Llama-3-8B-Instruct";
  std::string model = "llama-3.1-8b";
  std::string gpu = "h100";         // the simulated GPU (rtlm::accelerators::by_name)
  int tp = 1;                       // tensor-parallel degree
  double memory_utilization = 0.9;  // vLLM's gpu_memory_utilization
  rtlm::kv_reservation rtlm_kv_rule = rtlm::kv_reservation::on_demand;  // rtlm's policies
  int replicas = 1;
  std::vector<std::string> policies = {
      "vllm_fcfs",      "vllm_priority",  "prompt_sjf",   "edf",
      "predicted_sjf",  "predicted_srpt", "least_laxity", "uncertainty_aware",
      "remaining_work", "gittins",        "tie",          "srpt_strict",
      "gittins_strict", "tie_strict",     "oracle_srpt",  "oracle_edf"};
  double load = 0.9;
  std::vector<double> loads = {0.5, 0.7, 0.9, 1.1};
  rtlm::sim::deadline_rule deadlines;
  rtlm::sim::slo_target slo{.ttft = rtlm::seconds(2.0), .tpot = rtlm::seconds(0.1)};
  std::string predictor = "noise";  // noise, oracle, none or tau (--predictor tau:X)
  double predictor_tau = 0.0;       // tau:X's Kendall tau, in (0, 1)
  rtlm::admission_mode admission = rtlm::admission_mode::reject;
  bool consolidate = false;
  bool preempt = false;
  double preemption_limit = std::numeric_limits<double>::infinity();  // --preemption-limit C
  bool preemption_cost = false;                                       // --preemption-cost
  bool admission_at_current_pace = false;
  bool evict = false;
  double size_weight = 0.01;
  double swap_gbps = 0.0;        // 0: no swapping
  std::int64_t kv_tokens = 0;    // 0: from the GPU's memory
  int max_batch = 0;             // 0: vLLM V1's default for the GPU
  std::int64_t step_tokens = 0;  // 0: vLLM V1's default for the GPU
  rtlm::admission_basis admission_length = rtlm::admission_basis::expected_length_when_saturated;
  double duration = 0.0;  // 0: the whole trace
  // Arrivals: "trace" (the trace's own, stretched to the load), "poisson", "gamma" (at the
  // load's rate, with coefficient of variation arrival_cv) or "all_at_once".
  std::string arrivals = "trace";
  double arrival_cv = 1.0;
  std::int64_t burst_requests = 0;  // --burst N@T: N requests injected at T seconds
  double burst_at = 0.0;
  bool prefix_cache = false;  // --prefix-cache: the engine caches prompt prefix blocks
  // --classes: SLO classes and each one's share of the requests (a mixed workload).
  std::vector<rtlm::slo_class> classes;
  std::vector<double> class_shares;
  std::vector<double> tenant_shares;  // --tenants: each tenant's share of the requests
  bool fairness = false;              // --fairness: rtlm's policies share by VTC
  rtlm::relegation_mode relegation = rtlm::relegation_mode::off;  // --relegation, rtlm's
  bool slo_steps = false;  // --slo-steps: rtlm's steps serve TTFT first and fit TPOT targets
  bool suite = false;      // --suite: the regimes R0 to R5
  std::vector<std::string> regimes;        // --regimes: the suite's regimes to run (empty: all)
  bool seeds_given = false;                // --seed or --seeds was passed
  bool admission_given = false;            // --admission was passed
  bool deadlines_given = false;            // --deadline was passed
  std::vector<std::uint64_t> seeds = {1};  // the first one makes the table, CSVs and plots
  std::string out = "rtlm-sim-out";
  std::string json;
  bool quiet = false;
  bool help = false;  // --help: print `usage` and run nothing

  /// The default scenario, with the bundled data under `data_dir` (benchmarks/data).
  explicit options(std::string data_dir);
};

/// A policy as rtlm-sim names it: the scheduler's policy and where its predictions come from.
/// rtlm's policies run with rtlm's admission control (and, with --consolidate, dynamic
/// consolidation); the baselines run as their serving engines do, with neither (and the oracle as
/// a pure ordering bound).
struct policy_run {
  std::string name;
  rtlm::policy_kind kind;
  bool rtlm_policy;       // one of rtlm's prediction-driven policies (competes for "best")
  bool oracle;            // predictions are the true lengths (a bound, not a competitor)
  bool no_aging = false;  // strict order by its key's size term (vllm_priority, oracle_srpt)
};

/// The policy rtlm-sim calls `name`; throws rtlm::error naming `--policies` for an unknown one.
[[nodiscard]] policy_run policy_named(const std::string& name);

/// The longest a simulated time may be, in seconds after the first arrival: the library's bound
/// on absolute times (rtlm::sim::max_time_seconds).
inline constexpr double max_seconds = rtlm::sim::max_time_seconds;

/// Parses rtlm-sim's arguments (`args`: argv without the program name) over the defaults of
/// `options(data_dir)`. Every value is checked here, before anything runs: a bad one throws
/// rtlm::error naming the flag and the value (`--replicas = 1.9: must be a whole number in
/// 1..64`). `--help` stops the parse and returns options with `help` set. Reads no file.
[[nodiscard]] options parse_flags(std::span<const std::string> args,
                                  const std::string& data_dir = "benchmarks/data");

}  // namespace rtlm_sim
