// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// rtlm-sim: replays a real trace through rtlm's scheduler on simulated GPUs, once per policy,
// and compares them (docs/simulator.md). With no arguments it runs the default scenario on the
// bundled data: the Azure 2023 conversation trace at load 0.9 of one simulated H100 serving
// Llama-3.1-8B (steps timed by the estimator fitted to the committed profile, times the
// profile's measured noise), with FCFS, prompt-length shortest-job-first (a baseline proposed for
// vLLM, not merged), EDF, rtlm's policies and oracle SRPT as a bound.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/profile_csv.hpp"
#include "rtlm/sim/length_noise.hpp"
#include "rtlm/sim/simulation.hpp"
#include "rtlm/sim/svg_plot.hpp"

#ifndef RTLM_SIM_DATA_DIR
#define RTLM_SIM_DATA_DIR "benchmarks/data"
#endif

namespace {

constexpr std::string_view usage =
    R"(rtlm-sim: replay a trace through rtlm's scheduling policies on simulated GPUs

usage: rtlm-sim [options]

  --trace PATH         arrivals and token counts: an Azure LLM trace .csv, a Mooncake .jsonl, or
                       a timestamp_ms,input_length,output_length .csv
                       (default: the bundled Azure 2023 conversation trace, 1 hour)
  --profile PATH       the GPU profile whose fitted estimator and measured noise time the steps
                       (default: the bundled H100 Llama-3.1-8B profile)
  --model NAME         the model shape the profile was measured on (default: llama-3.1-8b)
  --replicas N         simulated GPUs (default: 1)
  --policies LIST      comma-separated: fcfs, prompt_sjf, edf, predicted_sjf, predicted_srpt,
                       least_laxity, uncertainty_aware, oracle_srpt (default: all)
  --load X             offered load as a fraction of the simulated server's measured capacity
                       (default: 0.9)
  --loads LIST         loads for the deadline-miss plot (default: 0.5,0.7,0.9,1.1; empty: none)
  --deadline RULE      slack:F (deadline = arrival + F x isolated service time; default slack:5),
                       slo:TTFT,TPOT (seconds: arrival + TTFT + TPOT x (output - 1)), or none
  --admission MODE     what rtlm's policies do with a request whose deadline no backend can meet:
                       reject (default), downgrade (keep it as best effort), relax (relax its
                       deadline) or accept (no admission control). The baselines (fcfs,
                       prompt_sjf, edf, oracle_srpt) run as vLLM does: no admission control, no
                       consolidation
  --admission-length B the output length admission control judges on: saturated (the predicted
                       mean while a backend is saturated, one token otherwise; default) or
                       expected (the predicted mean, always)
  --admission-pace P   the pace admission control judges a deadline at: alone (the request run
                       by itself; default) or current (after the GPU's predicted queueing wait,
                       every step as slow as the GPU's last planned one)
  --evict              rtlm's policies run on GPUs that can evict KV: a request with a deadline
                       keeps the least fraction of its prompt's KV that meets it (TimeBill's
                       solver); the table's alpha column is the mean evicted fraction
  --consolidate        rtlm's policies also hold back admissions that would make a running
                       request miss its deadline (dynamic consolidation; off by default)
  --preempt            rtlm's policies and oracle_srpt preempt the least urgent running request
                       (by recompute, or by swap with --swap) when the batch or the KV is full
                       and a waiting request outranks it by more than 1 s of key (preemption for
                       priority; off by default, as in vLLM)
  --swap GBPS          the simulated GPUs can swap a preempted request's KV to host memory and
                       back over a link of GBPS GB/s, charged to the step that moves it, instead
                       of recomputing it (every policy; default 0: recompute only, as in vLLM V1)
  --size-weight S      virtual seconds per predicted output token in the keys of the size-based
                       policies (predicted_sjf, predicted_srpt, uncertainty_aware, oracle_srpt;
                       default 0.01); larger is closer to pure shortest-first, with less aging
  --step-tokens N      tokens one step may compute, prefill chunks and decodes together (vLLM's
                       max_num_batched_tokens; default 8192)
  --kv-tokens N        the simulated GPU's KV capacity in tokens (default: 80 GB less the
                       weights and 10%)
  --max-batch N        sequences one step may hold on the simulated GPU (default 256)
  --predictor KIND     noise (the rtlm predictor's measured error, calibrated on AlpacaEval by
                       cross-validation; default), oracle (true lengths), or none
  --length-errors PATH the measured predictor errors the noise predictor draws from
                       (default: the bundled AlpacaEval cross-validation errors)
  --length-errors-model NAME
                       whose errors (default: Meta-Llama-3-8B-Instruct)
  --duration S         use only the first S seconds of the trace
  --seed N             seed of the step-time noise and of the noise predictor's draws
                       (default: 1)
  --seeds LIST         comma-separated seeds: the main load runs once per seed (the table, CSVs and
                       plots are the first seed's) and a second table shows each figure's mean
                       and range over the seeds, and each policy's mean latency over FCFS's
  --out DIR            per-request CSV and SVG plots go here (default: rtlm-sim-out)
  --json PATH          also write the summary as JSON
  --quiet              no progress bar
  --help               this text
)";

struct options {
  std::string trace = std::string(RTLM_SIM_DATA_DIR) +
                      "/traces/azure-llm-2023/"
                      "AzureLLMInferenceTrace_conv.csv";
  std::string profile = std::string(RTLM_SIM_DATA_DIR) + "/profiles/h100_llama-3.1-8b.csv";
  std::string errors = std::string(RTLM_SIM_DATA_DIR) + "/length_errors/alpaca_eval_cv.csv";
  std::string errors_model = "Meta-Llama-3-8B-Instruct";
  std::string model = "llama-3.1-8b";
  int replicas = 1;
  std::vector<std::string> policies = {
      "fcfs",         "prompt_sjf",        "edf",        "predicted_sjf", "predicted_srpt",
      "least_laxity", "uncertainty_aware", "oracle_srpt"};
  double load = 0.9;
  std::vector<double> loads = {0.5, 0.7, 0.9, 1.1};
  rtlm::sim::deadline_rule deadlines;
  std::string predictor = "noise";
  rtlm::admission_mode admission = rtlm::admission_mode::reject;
  bool consolidate = false;
  bool preempt = false;
  bool admission_at_current_pace = false;
  bool evict = false;
  double size_weight = 0.01;
  double swap_gbps = 0.0;      // 0: no swapping
  std::int64_t kv_tokens = 0;  // 0: from the GPU's memory
  int max_batch = 256;
  std::int64_t step_tokens = 8192;
  rtlm::admission_basis admission_length = rtlm::admission_basis::expected_length_when_saturated;
  double duration = 0.0;
  std::vector<std::uint64_t> seeds = {1};  // the first one makes the table, CSVs and plots
  std::string out = "rtlm-sim-out";
  std::string json;
  bool quiet = false;
};

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = std::min(s.find(',', start), s.size());
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

double number(std::string_view flag, const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw rtlm::error(std::string(flag), text, "must be a number");
}

std::uint64_t seed_of(std::string_view flag, const std::string& text) {
  const double v = number(flag, text);
  rtlm::detail::require(v >= 0 && v <= 0x1p53 && v == std::floor(v), flag, text,
                        "must be a whole number in 0..2^53");
  return static_cast<std::uint64_t>(v);
}

options parse(int argc, char** argv) {
  options o;
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw rtlm::error(a, "missing", "needs a value (see --help)");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      fmt::print("{}", usage);
      std::exit(0);
    } else if (a == "--trace") {
      o.trace = value();
    } else if (a == "--profile") {
      o.profile = value();
    } else if (a == "--model") {
      o.model = value();
    } else if (a == "--replicas") {
      o.replicas = static_cast<int>(number(a, value()));
      rtlm::detail::require(o.replicas >= 1 && o.replicas <= 64, a, o.replicas, "must be 1..64");
    } else if (a == "--policies") {
      o.policies = split(value());
    } else if (a == "--load") {
      o.load = number(a, value());
      rtlm::detail::require(o.load > 0 && o.load <= 10, a, o.load, "must be in (0, 10]");
    } else if (a == "--loads") {
      o.loads.clear();
      for (const std::string& l : split(value())) o.loads.push_back(number(a, l));
    } else if (a == "--deadline") {
      const std::string& v = value();
      if (v == "none") {
        o.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
      } else if (v.rfind("slack:", 0) == 0) {
        o.deadlines.rule = rtlm::sim::deadline_rule::kind::slack;
        o.deadlines.slack = number(a, v.substr(6));
      } else if (v.rfind("slo:", 0) == 0) {
        const std::vector<std::string> parts = split(v.substr(4));
        rtlm::detail::require(parts.size() == 2, a, v, "must be slo:TTFT,TPOT");
        o.deadlines.rule = rtlm::sim::deadline_rule::kind::slo;
        o.deadlines.ttft = rtlm::seconds(number(a, parts[0]));
        o.deadlines.tpot = rtlm::seconds(number(a, parts[1]));
      } else {
        throw rtlm::error(a, v, "must be slack:F, slo:TTFT,TPOT or none");
      }
      o.deadlines.validate();
    } else if (a == "--predictor") {
      o.predictor = value();
      rtlm::detail::require(
          o.predictor == "noise" || o.predictor == "oracle" || o.predictor == "none", a,
          o.predictor, "must be noise, oracle or none");
    } else if (a == "--admission") {
      const std::string& v = value();
      const std::optional<rtlm::admission_mode> m =
          rtlm::admission_mode_from_string(v == "relax" ? "relax_deadline" : v);
      if (!m) throw rtlm::error(a, v, "must be reject, downgrade, relax or accept");
      o.admission = *m;
    } else if (a == "--admission-length") {
      const std::string& v = value();
      if (v == "saturated") {
        o.admission_length = rtlm::admission_basis::expected_length_when_saturated;
      } else if (v == "expected") {
        o.admission_length = rtlm::admission_basis::expected_length;
      } else {
        throw rtlm::error(a, v, "must be saturated or expected");
      }
    } else if (a == "--admission-pace") {
      const std::string& v = value();
      if (v != "alone" && v != "current") throw rtlm::error(a, v, "must be alone or current");
      o.admission_at_current_pace = v == "current";
    } else if (a == "--size-weight") {
      o.size_weight = number(a, value());
      rtlm::detail::require(o.size_weight >= 0, a, o.size_weight, "must be >= 0");
    } else if (a == "--kv-tokens") {
      const double v = number(a, value());
      rtlm::detail::require(v >= 1 && v <= 1e12 && v == std::floor(v), a, v,
                            "must be a whole number in 1..1e12");
      o.kv_tokens = static_cast<std::int64_t>(v);
    } else if (a == "--max-batch") {
      const double v = number(a, value());
      rtlm::detail::require(v >= 1 && v <= 65536 && v == std::floor(v), a, v,
                            "must be a whole number in 1..65536");
      o.max_batch = static_cast<int>(v);
    } else if (a == "--step-tokens") {
      const double v = number(a, value());
      rtlm::detail::require(v >= 1 && v <= 16777216 && v == std::floor(v), a, v,
                            "must be a whole number in 1..16777216");
      o.step_tokens = static_cast<std::int64_t>(v);
    } else if (a == "--evict") {
      o.evict = true;
    } else if (a == "--consolidate") {
      o.consolidate = true;
    } else if (a == "--preempt") {
      o.preempt = true;
    } else if (a == "--swap") {
      o.swap_gbps = number(a, value());
      rtlm::detail::require(o.swap_gbps >= 0 && o.swap_gbps <= 1e6, a, o.swap_gbps,
                            "must be GB/s in 0..1e6 (0: no swapping)");
    } else if (a == "--length-errors") {
      o.errors = value();
    } else if (a == "--length-errors-model") {
      o.errors_model = value();
    } else if (a == "--duration") {
      o.duration = number(a, value());
    } else if (a == "--seed") {
      o.seeds = {seed_of(a, value())};
    } else if (a == "--seeds") {
      o.seeds.clear();
      for (const std::string& s : split(value())) o.seeds.push_back(seed_of(a, s));
      rtlm::detail::require(!o.seeds.empty(), a, "", "must name at least one seed");
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--json") {
      o.json = value();
    } else if (a == "--quiet") {
      o.quiet = true;
    } else {
      throw rtlm::error("argument", a, "is not an option (see --help)");
    }
  }
  return o;
}

// A policy as rtlm-sim names it: the scheduler's policy and where its predictions come from.
// rtlm's policies run with rtlm's admission control (and, with --consolidate, dynamic
// consolidation); the baselines run as their serving engines do, with neither (and the oracle as a
// pure ordering bound).
struct policy_run {
  std::string name;
  rtlm::policy_kind kind;
  bool rtlm_policy;  // one of rtlm's prediction-driven policies (competes for "best")
  bool oracle;       // predictions are the true lengths (a bound, not a competitor)
};

policy_run policy_named(const std::string& name) {
  using k = rtlm::policy_kind;
  static const std::map<std::string, policy_run, std::less<>> known = {
      {"fcfs", {"fcfs", k::first_come_first_served, false, false}},
      {"prompt_sjf", {"prompt_sjf", k::shortest_prompt_first, false, false}},
      {"edf", {"edf", k::earliest_deadline_first, false, false}},
      {"predicted_sjf", {"predicted_sjf", k::shortest_predicted_first, true, false}},
      {"predicted_srpt", {"predicted_srpt", k::shortest_predicted_remaining, true, false}},
      {"least_laxity", {"least_laxity", k::least_laxity_first, true, false}},
      {"uncertainty_aware", {"uncertainty_aware", k::uncertainty_aware_priority, true, false}},
      {"oracle_srpt", {"oracle_srpt", k::shortest_predicted_remaining, false, true}},
  };
  const auto it = known.find(name);
  if (it == known.end()) throw rtlm::error("--policies", name, "is not a known policy");
  return it->second;
}

// One simulated H100 (or whatever the profile measured) running the model.
rtlm::sim::backend_spec gpu(const rtlm::step_time_estimator& e, const rtlm::sim::step_noise& noise,
                            const rtlm::model_shape& shape, std::uint64_t seed, int index) {
  rtlm::sim::backend_spec b;
  b.config.capabilities.name = fmt::format("gpu{}", index);
  // 80 GB less the weights and 10% for activations, in KV tokens.
  const double kv_bytes = 0.9 * 80e9 - shape.parameter_count() * shape.config().bytes_per_weight;
  b.config.capabilities.kv_capacity =
      rtlm::tokens(static_cast<std::int64_t>(kv_bytes / shape.kv_bytes_per_token()));
  b.config.capabilities.max_batch_size = 256;
  b.config.capabilities.max_step_tokens = rtlm::tokens(8192);
  b.config.capabilities.can_chunk_prefill = true;
  b.config.capabilities.can_preempt_recompute = true;
  b.config.noise = noise;
  b.config.seed = seed;
  b.estimator = &e;
  return b;
}

// A terminal progress bar on stderr; silent when stderr is not a terminal or --quiet.
class progress_bar {
 public:
  progress_bar(std::size_t total, bool enabled)
      : total_(total), enabled_(enabled && isatty(fileno(stderr)) != 0) {}
  void step(std::string_view what) {
    ++done_;
    if (!enabled_) return;
    const std::size_t width = 30;
    const std::size_t filled = width * done_ / std::max<std::size_t>(total_, 1);
    fmt::print(stderr, "\r[{}{}] {}/{} {:<40}", std::string(filled, '#'),
               std::string(width - filled, ' '), done_, total_, what);
    if (done_ == total_) fmt::print(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  std::size_t total_;
  std::size_t done_ = 0;
  bool enabled_;
};

void write_records(const std::string& path, const rtlm::sim::simulation_result& r) {
  std::ofstream f(path);
  if (!f) throw rtlm::error("--out", path, "cannot be written");
  f << "index,arrival,deadline,admitted,first_token,finish,prompt_tokens,output_tokens,outcome,"
       "reason,backend,preemptions\n";
  const auto num = [](double v) {
    return std::isnan(v) ? std::string() : fmt::format("{:.6f}", v);
  };
  for (const rtlm::sim::request_record& x : r.records) {
    f << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}\n", x.index, num(x.arrival),
                     num(x.deadline), num(x.admitted), num(x.first_token), num(x.finish),
                     x.prompt.count(), x.output.count(), rtlm::to_string(x.outcome),
                     rtlm::to_string(x.reason), x.backend, x.preemptions);
  }
}

int run(const options& o) {
  const auto wall_start = std::chrono::steady_clock::now();
  rtlm::sim::trace trace = rtlm::sim::load_trace(o.trace);
  if (o.duration > 0) trace = rtlm::sim::first_seconds(trace, o.duration);
  rtlm::detail::require(trace.requests.size() >= 2, "--trace", o.trace,
                        "must hold at least 2 requests");
  const rtlm::profile prof = rtlm::load_profile_csv(o.profile);
  const std::optional<rtlm::model_config> model = rtlm::models::by_name(o.model);
  if (!model) throw rtlm::error("--model", o.model, "is not a known model shape");
  const rtlm::model_shape shape(*model);
  const rtlm::roofline_fit fit = rtlm::fit_roofline_estimator(
      rtlm::step_featurizer{shape, rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())}, prof);
  const rtlm::sim::step_noise noise = rtlm::sim::noise_of(prof);
  std::optional<rtlm::sim::length_noise_model> lengths;
  if (o.predictor == "noise") lengths = rtlm::sim::load_length_errors(o.errors, o.errors_model);

  // Seed `seed` times the steps with its own noise stream and draws request i's prediction error
  // with key i + (seed - 1) x (the trace's size): seed 1 keys by the index alone.
  const auto config_for = [&](const policy_run& p, std::uint64_t seed) {
    rtlm::sim::simulation_config c;
    c.scheduler.policy = p.kind;
    c.scheduler.admission = p.rtlm_policy ? o.admission : rtlm::admission_mode::accept;
    c.scheduler.consolidate = p.rtlm_policy && o.consolidate;
    c.scheduler.preempt_for_priority = (p.rtlm_policy || p.oracle) && o.preempt;
    c.scheduler.admission_length = o.admission_length;
    c.scheduler.admission_at_current_pace = o.admission_at_current_pace;
    c.scheduler.policies.predicted_length.seconds_per_token = o.size_weight;
    c.scheduler.policies.uncertainty_aware.seconds_per_token = o.size_weight;
    for (int i = 0; i < o.replicas; ++i) {
      c.backends.push_back(gpu(fit.estimator, noise, shape, seed, i));
      c.backends.back().config.capabilities.can_evict_kv = o.evict && p.rtlm_policy;
      c.backends.back().config.capabilities.max_step_tokens = rtlm::tokens(o.step_tokens);
      if (o.kv_tokens > 0)
        c.backends.back().config.capabilities.kv_capacity = rtlm::tokens(o.kv_tokens);
      c.backends.back().config.capabilities.max_batch_size = o.max_batch;
      if (o.swap_gbps > 0) {
        c.backends.back().config.capabilities.can_preempt_swap = true;
        c.backends.back().config.swap_seconds_per_token =
            shape.kv_bytes_per_token() / (o.swap_gbps * 1e9);
      }
    }
    c.deadlines = o.deadlines;
    if (p.oracle || o.predictor == "oracle") {
      c.predict = rtlm::sim::true_length;
    } else if (lengths) {
      const std::uint64_t offset = (seed - 1) * trace.requests.size();
      c.predict = [&lengths, offset](std::size_t i, const rtlm::sim::trace_request& q) {
        return std::optional<rtlm::length_estimate>(lengths->predict(q.output, i + offset));
      };
    }
    return c;
  };

  // The server's capacity: requests per second it sustains when saturated (every request of a
  // 2,000-request sample queued at once, FCFS).
  rtlm::sim::trace sample = trace;
  sample.requests.resize(std::min<std::size_t>(sample.requests.size(), 2000));
  for (rtlm::sim::trace_request& r : sample.requests) r.arrival = 0.0;
  const rtlm::sim::simulation_result saturated =
      rtlm::sim::simulate(sample, config_for(policy_named("fcfs"), o.seeds.front()));
  const double capacity = static_cast<double>(sample.requests.size()) / saturated.simulated_seconds;
  const auto at_load = [&](double load) {
    return rtlm::sim::stretch_arrivals(trace, trace.arrival_rate() / (load * capacity));
  };

  std::vector<policy_run> runs;
  for (const std::string& name : o.policies) runs.push_back(policy_named(name));
  std::vector<double> plot_loads;
  for (const double l : o.loads) {
    if (std::abs(l - o.load) > 1e-9) plot_loads.push_back(l);
  }
  progress_bar bar(runs.size() * (o.seeds.size() + plot_loads.size()), !o.quiet);

  std::filesystem::create_directories(o.out);
  std::vector<rtlm::sim::simulation_metrics> main_metrics;
  std::vector<rtlm::sim::simulation_result> main_results;
  std::map<std::string, std::vector<std::pair<double, double>>> miss_by_load;
  double simulated = 0.0;
  const rtlm::sim::trace main_trace = at_load(o.load);
  for (const policy_run& p : runs) {
    rtlm::sim::simulation_result r = rtlm::sim::simulate(main_trace, config_for(p, o.seeds[0]));
    simulated += r.simulated_seconds;
    const rtlm::sim::simulation_metrics m = rtlm::sim::summarize(r);
    miss_by_load[p.name].emplace_back(o.load, m.deadline_miss_rate);
    write_records(fmt::format("{}/requests_{}.csv", o.out, p.name), r);
    main_metrics.push_back(m);
    main_results.push_back(std::move(r));
    bar.step(fmt::format("{} at load {}", p.name, o.load));
  }
  // by_seed[k][i]: policy i's figures at the main load with seed k (k = 0 is the table's).
  std::vector<std::vector<rtlm::sim::simulation_metrics>> by_seed = {main_metrics};
  for (std::size_t k = 1; k < o.seeds.size(); ++k) {
    by_seed.emplace_back();
    for (const policy_run& p : runs) {
      const rtlm::sim::simulation_result r =
          rtlm::sim::simulate(main_trace, config_for(p, o.seeds[k]));
      simulated += r.simulated_seconds;
      by_seed.back().push_back(rtlm::sim::summarize(r));
      bar.step(fmt::format("{} at load {}, seed {}", p.name, o.load, o.seeds[k]));
    }
  }
  for (const double l : plot_loads) {
    const rtlm::sim::trace t = at_load(l);
    for (const policy_run& p : runs) {
      const rtlm::sim::simulation_result r = rtlm::sim::simulate(t, config_for(p, o.seeds[0]));
      simulated += r.simulated_seconds;
      miss_by_load[p.name].emplace_back(l, rtlm::sim::summarize(r).deadline_miss_rate);
      bar.step(fmt::format("{} at load {}", p.name, l));
    }
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  // The table.
  fmt::print(
      "trace {}: {} requests over {:.0f} s, replayed at load {} of the server's capacity "
      "({:.2f} requests/s on {} simulated GPU(s); arrivals x {:.3f})\n",
      trace.name, trace.requests.size(), trace.span(), o.load, capacity * o.replicas, o.replicas,
      trace.arrival_rate() / (o.load * capacity));
  fmt::print("steps: estimator fitted to {}, times its measured run-to-run noise (seed {})\n",
             o.profile, o.seeds[0]);
  fmt::print("predictions: {}\n", o.predictor == "noise"    ? lengths->describe()
                                  : o.predictor == "oracle" ? std::string("oracle (true lengths)")
                                                            : std::string("none"));
  fmt::print("deadlines: {}\n\n",
             o.deadlines.rule == rtlm::sim::deadline_rule::kind::none ? std::string("none")
             : o.deadlines.rule == rtlm::sim::deadline_rule::kind::slack
                 ? fmt::format("arrival + {} x isolated service time", o.deadlines.slack)
                 : fmt::format("arrival + {} s + {} s x (output - 1)", o.deadlines.ttft.count(),
                               o.deadlines.tpot.count()));
  fmt::print("{:<18} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6}\n", "policy",
             "mean (s)", "p50 (s)", "p99 (s)", "TTFT", "TPOT ms", "miss rate", "goodput",
             "max wait", "util", "reject", "alpha");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const rtlm::sim::simulation_metrics& m = main_metrics[i];
    fmt::print(
        "{:<18} {:>9.3f} {:>9.3f} {:>9.3f} {:>8.3f} {:>8.1f} {:>9.4f} {:>9.3f} {:>9.1f} "
        "{:>9.3f} {:>6} {:>6.3f}\n",
        runs[i].name + (runs[i].oracle ? " *" : ""), m.mean_latency, m.p50_latency, m.p99_latency,
        m.mean_ttft, 1000 * m.mean_tpot, m.deadline_miss_rate, m.goodput, m.max_queue_wait,
        m.utilization, m.rejected, m.mean_eviction);
  }
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].rtlm_policy &&
        (!best || main_metrics[i].mean_latency < main_metrics[*best].mean_latency)) {
      best = i;
    }
  }
  const double speed = simulated / wall;
  fmt::print(
      "\n* oracle SRPT knows every true length: a bound, not a competitor.\n"
      "fcfs, prompt_sjf, edf and oracle_srpt run as vLLM does (no admission control, no "
      "consolidation); rtlm's policies with admission control ({}, on the {} length{}){}{}{}.\n",
      rtlm::to_string(o.admission),
      o.admission_length == rtlm::admission_basis::expected_length ? "expected"
                                                                   : "expected-when-saturated",
      o.admission_at_current_pace ? ", at the GPU's current pace" : "",
      o.evict ? ", KV eviction" : "", o.consolidate ? ", dynamic consolidation" : "",
      o.preempt ? ", preemption for priority (oracle_srpt too)" : "");
  if (o.swap_gbps > 0)
    fmt::print("preemption swaps KV to host memory at {} GB/s (every policy)\n", o.swap_gbps);
  if (best) fmt::print("best rtlm policy (lowest mean latency): {}\n", runs[*best].name);

  // Over the seeds: each figure's mean and range, and mean latency over FCFS's in the same seed.
  const auto figure = [](const rtlm::sim::simulation_metrics& m, std::size_t f) {
    const std::array<double, 4> all = {m.mean_latency, m.p99_latency, m.deadline_miss_rate,
                                       m.goodput};
    return all[f];
  };
  constexpr std::array<std::string_view, 4> figure_names = {"mean_latency", "p99_latency",
                                                            "deadline_miss_rate", "goodput"};
  struct spread {
    double mean = 0.0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
  };
  const auto spread_of = [&](const auto& value_of) {
    spread s;
    for (std::size_t k = 0; k < by_seed.size(); ++k) {
      const double v = value_of(k);
      s.mean += v / static_cast<double>(by_seed.size());
      s.min = std::min(s.min, v);
      s.max = std::max(s.max, v);
    }
    return s;
  };
  std::optional<std::size_t> fcfs;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].name == "fcfs") fcfs = i;
  }
  std::vector<std::array<spread, 4>> spreads(runs.size());
  std::vector<std::optional<spread>> over_fcfs(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t f = 0; f < figure_names.size(); ++f)
      spreads[i][f] = spread_of([&](std::size_t k) { return figure(by_seed[k][i], f); });
    if (fcfs) {
      over_fcfs[i] = spread_of([&](std::size_t k) {
        return by_seed[k][i].mean_latency / by_seed[k][*fcfs].mean_latency;
      });
    }
  }
  if (o.seeds.size() > 1) {
    std::string seeds;
    for (const std::uint64_t seed : o.seeds)
      seeds += fmt::format("{}{}", seeds.empty() ? "" : ",", seed);
    fmt::print("\nover {} seeds ({}): mean [min, max]\n", o.seeds.size(), seeds);
    fmt::print("{:<18} {:>22} {:>22} {:>22} {:>22} {:>22}\n", "policy", "mean (s)", "p99 (s)",
               "miss rate", "goodput", "mean / fcfs's");
    const auto cell = [](const spread& s, int digits) {
      return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", s.mean, digits, s.min, digits, s.max,
                         digits);
    };
    for (std::size_t i = 0; i < runs.size(); ++i) {
      fmt::print("{:<18} {:>22} {:>22} {:>22} {:>22} {:>22}\n",
                 runs[i].name + (runs[i].oracle ? " *" : ""), cell(spreads[i][0], 3),
                 cell(spreads[i][1], 2), cell(spreads[i][2], 4), cell(spreads[i][3], 3),
                 over_fcfs[i] ? cell(*over_fcfs[i], 3) : std::string("-"));
    }
  }
  fmt::print("simulated {:.0f} s in {:.2f} s of wall time ({:.0f} simulated s per wall s)\n",
             simulated, wall, speed);

  // Plots.
  {
    rtlm::sim::svg_plot cdf("End-to-end latency (s)", "fraction of requests finished");
    for (std::size_t i = 0; i < runs.size(); ++i) {
      std::vector<double> l;
      for (const rtlm::sim::request_record& x : main_results[i].records) {
        if (x.finished()) l.push_back(x.latency());
      }
      std::sort(l.begin(), l.end());
      std::vector<std::pair<double, double>> points;
      const std::size_t stride = std::max<std::size_t>(1, l.size() / 400);
      for (std::size_t k = 0; k < l.size(); k += stride) {
        points.emplace_back(l[k], static_cast<double>(k + 1) / static_cast<double>(l.size()));
      }
      if (!l.empty()) points.emplace_back(l.back(), 1.0);
      cdf.add_series(runs[i].name, std::move(points));
    }
    cdf.set_log_x(true);
    cdf.write(o.out + "/latency_cdf.svg",
              fmt::format("Latency CDF, {} at load {}",
                          std::filesystem::path(trace.name).filename().string(), o.load));
  }
  if (!plot_loads.empty()) {
    rtlm::sim::svg_plot miss("offered load (fraction of capacity)", "deadline-miss rate");
    for (const policy_run& p : runs) {
      std::vector<std::pair<double, double>> pts = miss_by_load[p.name];
      std::sort(pts.begin(), pts.end());
      miss.add_series(p.name, std::move(pts));
    }
    miss.write(o.out + "/miss_rate_vs_load.svg", "Deadline-miss rate against load");
  }
  fmt::print("wrote {}/requests_<policy>.csv, latency_cdf.svg{}\n", o.out,
             plot_loads.empty() ? "" : ", miss_rate_vs_load.svg");

  if (!o.json.empty()) {
    std::ofstream f(o.json);
    if (!f) throw rtlm::error("--json", o.json, "cannot be written");
    f << "{\n";
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const rtlm::sim::simulation_metrics& m = main_metrics[i];
      const auto put = [&](std::string_view key, double v) {
        f << fmt::format("  \"{}.{}\": {},\n", runs[i].name, key,
                         std::isfinite(v) ? fmt::format("{:.9g}", v) : std::string("null"));
      };
      put("mean_latency", m.mean_latency);
      put("p50_latency", m.p50_latency);
      put("p99_latency", m.p99_latency);
      put("mean_ttft", m.mean_ttft);
      put("mean_tpot", m.mean_tpot);
      put("deadline_miss_rate", m.deadline_miss_rate);
      put("goodput", m.goodput);
      put("throughput", m.throughput);
      put("max_queue_wait", m.max_queue_wait);
      put("utilization", m.utilization);
      put("rejected", static_cast<double>(m.rejected));
      put("mean_eviction", m.mean_eviction);
      put("preemptions", static_cast<double>(m.preemptions));
      if (o.seeds.size() > 1) {
        for (std::size_t k = 0; k < figure_names.size(); ++k) {
          put(fmt::format("{}_over_seeds", figure_names[k]), spreads[i][k].mean);
          put(fmt::format("{}_min_over_seeds", figure_names[k]), spreads[i][k].min);
          put(fmt::format("{}_max_over_seeds", figure_names[k]), spreads[i][k].max);
        }
        if (over_fcfs[i]) {
          put("mean_latency_over_fcfs_over_seeds", over_fcfs[i]->mean);
          put("mean_latency_over_fcfs_min_over_seeds", over_fcfs[i]->min);
          put("mean_latency_over_fcfs_max_over_seeds", over_fcfs[i]->max);
        }
      }
    }
    f << fmt::format("  \"summary.capacity_requests_per_second\": {:.9g},\n",
                     capacity * o.replicas);
    f << fmt::format("  \"summary.sim_seconds_per_wall_second\": {:.9g},\n", speed);
    f << fmt::format("  \"summary.best_rtlm_policy\": \"{}\"\n}}\n",
                     best ? runs[*best].name : std::string());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    fmt::print(stderr, "rtlm-sim: {}\n", e.what());
    return 1;
  }
}
