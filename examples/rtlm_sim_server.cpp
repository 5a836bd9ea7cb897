// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

#include "rtlm_sim_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>
#include <vector>

#include "rtlm/detail/csv.hpp"
#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/kv_capacity.hpp"
#include "rtlm/estimate/profile_csv.hpp"
#include "rtlm/estimate/tensor_parallel_estimator.hpp"
#include "rtlm/sim/rank_correlation.hpp"
#include "rtlm/sim/workload.hpp"

namespace rtlm_sim {

namespace {

constexpr double gib = 1024.0 * 1024.0 * 1024.0;

// The GPU a bundled profile was measured on: "NVIDIA H100 80GB HBM3" is an h100.
std::optional<std::string> gpu_of_profile(const rtlm::profile& p) {
  const auto it = p.metadata.find("gpu");
  if (it == p.metadata.end()) return std::nullopt;
  for (const char* name : {"H100", "H200", "A100", "L4"}) {
    if (it->second.find(name) != std::string::npos) {
      std::string lower(name);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return lower;
    }
  }
  return std::nullopt;
}

// The bundled profile of `gpu` and `model` at `tp` (a TP shard's profile for tp > 1), if any.
std::string bundled_profile(const std::string& dir, const std::string& gpu,
                            const std::string& model, int tp) {
  const std::string name =
      tp == 1 ? fmt::format("{}/profiles/{}_{}.csv", dir, gpu, model)
              : fmt::format("{}/profiles/{}_{}-tp{}-shard.csv", dir, gpu, model, tp);
  return std::filesystem::exists(name) ? name : std::string();
}

}  // namespace

engine_limits vllm_default_limits(double memory_bytes) {
  if (memory_bytes >= 70.0 * gib) return {.max_num_seqs = 1024, .max_num_batched_tokens = 8192};
  return {.max_num_seqs = 256, .max_num_batched_tokens = 2048};
}

server::~server() = default;

server::server(const options& o, const rtlm::sim::trace& w) : o_(o) {
  const std::optional<rtlm::hardware_config> gpu = rtlm::accelerators::by_name(o.gpu);
  if (!gpu) {
    throw rtlm::error("--gpu", o.gpu, "must be h100, h200, a100-80gb, a100-40gb or l4");
  }
  std::optional<rtlm::model_config> model = rtlm::models::by_name(o.model);
  if (!model) throw rtlm::error("--model", o.model, "is not a known model shape");
  model->tensor_parallel = o.tp;
  shape_ = std::make_unique<rtlm::model_shape>(*model);  // checks the TP degree

  // The profile: the one named, else the bundled one of this GPU, model and TP degree, else of
  // the H100, else of another TP degree; what was measured elsewhere has its fitted
  // efficiencies carried over to this GPU's ceilings and this TP's shard (modelled).
  std::string profile_path = o.profile;
  for (const int tp : {o.tp, 1, 2, 4, 8}) {
    for (const std::string& on : {o.gpu, std::string("h100")}) {
      if (profile_path.empty()) profile_path = bundled_profile(o.data_dir, on, o.model, tp);
    }
  }
  if (profile_path.empty()) {
    throw rtlm::error("--profile", "(none)",
                      fmt::format("no bundled profile of {}: pass --profile", o.model));
  }
  const rtlm::profile prof = rtlm::load_profile_csv(profile_path);
  // A profile times one model: fitting it to another's shape gives wrong step times silently.
  if (const auto named = prof.metadata.find("model");
      named != prof.metadata.end() && named->second != o.model) {
    throw rtlm::error("--model", o.model,
                      fmt::format("differs from the model of --profile {} ('{}'); pass --model {} "
                                  "or a profile measured on {}",
                                  profile_path, named->second, named->second, o.model));
  }
  const std::string measured_on = gpu_of_profile(prof).value_or(o.gpu);
  const std::optional<rtlm::hardware_config> measured_gpu =
      rtlm::accelerators::by_name(measured_on);
  // A shard's profile says its TP degree; the fit needs the shape it measured.
  rtlm::model_config measured_model = *model;
  if (const auto tp = prof.metadata.find("tensor_parallel"); tp != prof.metadata.end()) {
    const double degree = rtlm::detail::parse_double(profile_path + " tensor_parallel", tp->second);
    rtlm::detail::require(degree >= 1 && degree <= 64 && degree == std::floor(degree),
                          profile_path + " tensor_parallel", tp->second,
                          "must be a whole number in 1..64");
    measured_model.tensor_parallel = static_cast<int>(degree);
  } else {
    measured_model.tensor_parallel = 1;
  }
  const rtlm::roofline_fit fit = rtlm::fit_roofline_estimator(
      rtlm::step_featurizer{rtlm::model_shape(measured_model),
                            rtlm::hardware_spec(measured_gpu.value_or(*gpu))},
      prof);
  using rtlm::step_regime;
  auto shard = std::make_unique<rtlm::fitted_roofline_estimator>(
      rtlm::step_featurizer{*shape_, rtlm::hardware_spec(*gpu)},
      fit.estimator.coefficients(step_regime::prefill),
      fit.estimator.coefficients(step_regime::chunked_prefill),
      fit.estimator.coefficients(step_regime::single_decode),
      fit.estimator.coefficients(step_regime::batched_decode));
  step_source_ = fmt::format("estimator fitted to {}", profile_path);
  if (measured_on != o.gpu || measured_model.tensor_parallel != o.tp) {
    step_source_ += fmt::format(
        " ({} at TP {}), its efficiencies carried over to the {}'s ceilings at TP {} (modelled, "
        "not measured)",
        measured_on, measured_model.tensor_parallel, o.gpu, o.tp);
  }
  if (o.tp > 1) {
    estimator_ = std::make_unique<rtlm::tensor_parallel_estimator>(
        std::move(shard), *shape_,
        o.gpu.rfind("a100", 0) == 0 ? rtlm::interconnects::nvlink_a100()
                                    : rtlm::interconnects::nvlink_h100());
    step_source_ += fmt::format(", one TP{} shard plus a modelled all-reduce", o.tp);
  } else {
    estimator_ = std::move(shard);
  }
  noise_ = rtlm::sim::noise_of(prof);
  if (o.predictor == "noise") lengths_ = rtlm::sim::load_length_errors(o.errors, o.errors_model);
  if (o.predictor == "tau") {
    std::vector<rtlm::tokens> outputs;
    outputs.reserve(w.requests.size());
    for (const rtlm::sim::trace_request& r : w.requests) outputs.push_back(r.output);
    controlled_.emplace(o.predictor_tau, outputs);
  }

  limits_ = vllm_default_limits(gpu->memory_capacity_bytes);
  if (o.max_batch > 0) limits_.max_num_seqs = o.max_batch;
  if (o.step_tokens > 0) limits_.max_num_batched_tokens = o.step_tokens;
  if (o.kv_tokens > 0) {
    kv_capacity_ = rtlm::tokens(o.kv_tokens);
    kv_source_ = "--kv-tokens";
  } else {
    const rtlm::kv_cache_plan plan =
        rtlm::plan_kv_cache(*shape_, *gpu,
                            {.gpu_memory_utilization = o.memory_utilization,
                             .max_batched_tokens = rtlm::tokens(limits_.max_num_batched_tokens),
                             .max_sequences = limits_.max_num_seqs});
    kv_capacity_ = plan.capacity;
    kv_source_ =
        fmt::format("{:.0f} GB x {} less {:.1f} GB of weights and {:.1f} GB of activations per GPU",
                    gpu->memory_capacity_bytes / 1e9, o.memory_utilization, plan.weight_bytes / 1e9,
                    plan.activation_reserve_bytes / 1e9);
  }
}

std::string server::lengths_description() const {
  if (lengths_) return lengths_->describe();
  if (controlled_) return controlled_->describe();
  return o_.predictor == "oracle" ? "oracle (true lengths)" : "none";
}

std::string server::describe() const {
  return fmt::format(
      "server: {} x {} {} serving {} at TP {}; {} KV tokens ({}) in blocks of 16; "
      "max_num_seqs {}, max_num_batched_tokens {}, chunked prefill\nsteps: {}, times its "
      "measured run-to-run noise",
      o_.replicas, o_.tp, o_.gpu, o_.model, o_.tp, kv_capacity_.count(), kv_source_,
      limits_.max_num_seqs, limits_.max_num_batched_tokens, step_source_);
}

rtlm::sim::simulation_config server::config_for(const policy_run& p, std::uint64_t seed,
                                                const rtlm::sim::trace& t) const {
  const std::size_t trace_size = t.requests.size();
  const options& o = o_;
  rtlm::sim::simulation_config c;
  rtlm::scheduler_config& sc = c.scheduler;
  sc.policy = p.kind;
  sc.policies.predicted_length.seconds_per_token = o.size_weight;
  sc.policies.uncertainty_aware.seconds_per_token = o.size_weight;
  sc.policies.length_distribution.seconds_per_token = o.size_weight;
  sc.slo.classes = o.classes;  // the classes' objectives hold for every policy's requests
  c.mix = {.class_shares = o.class_shares, .tenant_shares = o.tenant_shares, .seed = seed};
  if (p.rtlm_policy) {
    sc.slo.relegation = o.relegation;
    sc.slo.tpot_budget = o.slo_steps;
    sc.slo.ttft_first = o.slo_steps;
    if (o.fairness) sc.fairness.tenants = o.tenant_shares.size();
    sc.admission = o.admission;
    sc.consolidate = o.consolidate;
    sc.preempt_for_priority = o.preempt;
    sc.preemption_limit = o.preemption_limit;
    sc.preemption_cost_counted = o.preemption_cost;
    sc.admission_length = o.admission_length;
    sc.admission_at_current_pace = o.admission_at_current_pace;
    sc.kv_rule = o.rtlm_kv_rule;
  } else {
    // vLLM V1: no admission control, KV on demand, nothing admitted in a step that preempted.
    sc.admission = rtlm::admission_mode::accept;
    sc.kv_rule = rtlm::kv_reservation::on_demand;
    sc.admit_after_preemption = false;
    sc.preempt_for_priority = p.oracle && o.preempt;
  }
  if (p.no_aging) {
    // A strict order by size: vLLM's priority queue, or SRPT on true remaining work.
    sc.policies.predicted_length.age = false;
    sc.policies.remaining_work = {.work_weight = 1.0, .age = false};
    sc.policies.length_distribution.age = false;
  }
  for (int i = 0; i < o.replicas; ++i) {
    rtlm::sim::backend_spec b;
    rtlm::backend_capabilities& caps = b.config.capabilities;
    caps.name = fmt::format("gpu{}", i);
    caps.kv_capacity = kv_capacity_;
    caps.kv_block_size = rtlm::tokens(16);
    caps.max_batch_size = limits_.max_num_seqs;
    caps.max_step_tokens = rtlm::tokens(limits_.max_num_batched_tokens);
    caps.can_chunk_prefill = true;
    caps.can_preempt_recompute = true;
    caps.can_evict_kv = o.evict && p.rtlm_policy;
    if (o.swap_gbps > 0) {
      caps.can_preempt_swap = true;
      b.config.swap_seconds_per_token = shape_->kv_bytes_per_token() / (o.swap_gbps * 1e9);
    }
    if (o.prefix_cache && t.prefix_block_tokens.count() > 0) {
      // vLLM keeps freed blocks' contents until they are reused: the cache holds what the KV
      // holds.
      b.config.prefix_block_tokens = t.prefix_block_tokens;
      b.config.prefix_cache_blocks = static_cast<std::size_t>(
          kv_capacity_.count() / std::max<std::int64_t>(t.prefix_block_tokens.count(), 1));
    }
    b.config.noise = noise_;
    b.config.seed = seed;
    b.estimator = estimator_.get();
    c.backends.push_back(std::move(b));
  }
  c.deadlines = o.deadlines;
  // Deadlines from what is known at arrival, the predicted length: the same for every policy.
  c.deadlines.on_predicted_length = true;
  const rtlm::sim::prediction_source predicted = predictions(seed, trace_size);
  if (p.oracle || o.predictor == "oracle") {
    c.predict = rtlm::sim::true_length;
    c.deadline_basis = predicted;  // the competitors' deadlines
  } else {
    c.predict = predicted;
  }
  return c;
}

rtlm::sim::prediction_source server::predictions(std::uint64_t seed, std::size_t trace_size) const {
  // Seed `seed` draws request i's prediction error with key i + (seed - 1) x (the trace's
  // size): seed 1 keys by the index alone.
  const std::uint64_t offset = (seed - 1) * trace_size;
  if (lengths_) {
    const rtlm::sim::length_noise_model* lengths = &*lengths_;
    return [lengths, offset](std::size_t i, const rtlm::sim::trace_request& q) {
      return std::optional<rtlm::length_estimate>(lengths->predict(q.output, i + offset));
    };
  }
  if (controlled_) {
    const rtlm::sim::controlled_length_noise* controlled = &*controlled_;
    return [controlled, offset](std::size_t i, const rtlm::sim::trace_request& q) {
      return std::optional<rtlm::length_estimate>(controlled->predict(q.output, i + offset));
    };
  }
  return {};
}

double server::measured_kendall_tau(const rtlm::sim::trace& run, std::uint64_t seed,
                                    std::size_t keyed_requests) const {
  const rtlm::sim::prediction_source predicted = predictions(seed, keyed_requests);
  if (!predicted) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> means;
  std::vector<double> truths;
  means.reserve(run.requests.size());
  truths.reserve(run.requests.size());
  for (std::size_t i = 0; i < run.requests.size(); ++i) {
    const rtlm::sim::trace_request& q = run.requests[i];
    means.push_back(predicted(i, q).value().mean_tokens);  // the noise predictors always predict
    truths.push_back(static_cast<double>(q.output.count()));
  }
  return rtlm::sim::kendall_tau(means, truths);
}

workload load_workload(const options& o) {
  // A length set (ShareGPT's statistics, or input_length,output_length) by its header.
  std::string header;
  {
    std::ifstream in(o.trace);
    std::getline(in, header);
  }
  workload w;
  if (header.find("num_prefill_tokens") != std::string::npos ||
      header.rfind("input_length,output_length", 0) == 0) {
    const rtlm::sim::length_set set = rtlm::sim::load_length_set(o.trace);
    w.requests.name = set.name;
    for (const rtlm::sim::request_lengths& r : set.requests) {
      w.requests.requests.push_back({.arrival = 0.0, .prompt = r.prompt, .output = r.output});
    }
    w.timed = false;
    rtlm::detail::require(o.arrivals != "trace", "--trace", o.trace,
                          "is a length set without times: pass --arrivals poisson, gamma:CV or "
                          "all_at_once");
  } else {
    w.requests = rtlm::sim::load_trace(o.trace);
    if (o.duration > 0) w.requests = rtlm::sim::first_seconds(w.requests, o.duration);
  }
  w.requests.requests.shrink_to_fit();  // the loader's growth slack
  rtlm::detail::require(w.requests.requests.size() >= 2, "--trace", o.trace,
                        "must hold at least 2 requests");
  rtlm::detail::require(!o.prefix_cache || !w.requests.prefix_blocks.empty(), "--prefix-cache",
                        o.trace,
                        "needs a trace with prefix blocks (a Mooncake .jsonl with hash_ids)");
  if (o.arrivals == "trace") {
    rtlm::detail::require(w.requests.span() > 0, "--trace", o.trace,
                          "must have arrivals at more than one time (load scaling needs a span)");
  }
  return w;
}

rtlm::sim::trace at_load(const workload& w, const options& o, double capacity, double load,
                         std::uint64_t seed, std::string_view flag) {
  const rtlm::sim::trace& t = w.requests;
  rtlm::sim::trace out;
  if (o.arrivals == "trace") {
    const double stretch = t.arrival_rate() / (load * capacity);
    const double last = t.requests.back().arrival * stretch;
    rtlm::detail::require(
        std::isfinite(last) && last <= max_seconds, flag, load,
        fmt::format("stretches the trace's {:.0f} s of arrivals to {:.3g} s; simulated times must "
                    "stay within 4e9 s (a higher load, or a shorter trace or --duration)",
                    t.span(), last));
    out = rtlm::sim::stretch_arrivals(t, stretch);
  } else if (o.arrivals == "all_at_once") {
    out = rtlm::sim::all_at_once(t);
  } else {
    const rtlm::sim::arrival_process process{
        .process = o.arrivals == "gamma" ? rtlm::sim::arrival_process::kind::gamma
                                         : rtlm::sim::arrival_process::kind::poisson,
        .rate = load * capacity,
        .cv = o.arrival_cv};
    out = rtlm::sim::with_arrivals(rtlm::sim::lengths_of(t), process, seed);
  }
  if (o.burst_requests > 0) {
    out =
        rtlm::sim::inject_burst(out, static_cast<std::size_t>(o.burst_requests), o.burst_at, seed);
  }
  return out;
}

double saturated_capacity(const rtlm::sim::trace& t, const server& s, std::uint64_t seed) {
  // The trace, repeated whole until it holds 8 batches' worth, so that the queue outlasts the
  // batch's ramp-up; 4 copies at most, which bounds the work of a tiny, pathological trace.
  rtlm::sim::trace all = t;
  const std::size_t least =
      std::min(8 * static_cast<std::size_t>(s.limits().max_num_seqs), 4 * t.requests.size());
  for (std::size_t i = 0; all.requests.size() < least; ++i) {
    all.requests.push_back(t.requests[i % t.requests.size()]);
    if (!t.prefix_blocks.empty())
      all.prefix_blocks.push_back(t.prefix_blocks[i % t.requests.size()]);
  }
  for (rtlm::sim::trace_request& r : all.requests) r.arrival = 0.0;
  rtlm::sim::simulation_config c = s.config_for(policy_named("vllm_fcfs"), seed, all);
  c.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
  const rtlm::sim::simulation_result r = rtlm::sim::simulate(all, c);
  // The queue first empties when the last request is admitted; count what finished by then.
  double emptied = 0.0;
  for (const rtlm::sim::request_record& x : r.records) {
    if (!std::isnan(x.admitted)) emptied = std::max(emptied, x.admitted);
  }
  std::size_t finished = 0;
  for (const rtlm::sim::request_record& x : r.records) {
    if (x.finished() && x.finish <= emptied) ++finished;
  }
  // A trace the server holds whole at once never queues: then its throughput with the drain.
  std::size_t finished_all = 0;
  for (const rtlm::sim::request_record& x : r.records) finished_all += x.finished() ? 1U : 0U;
  const double capacity = finished > 0 ? static_cast<double>(finished) / emptied
                                       : static_cast<double>(finished_all) / r.simulated_seconds;
  rtlm::detail::require(capacity > 0 && std::isfinite(capacity), "capacity",
                        fmt::format("{} requests/s", capacity),
                        "must be finite and > 0: the simulated server finished nothing before "
                        "its queue emptied (a trace too short to saturate it)");
  return capacity;
}

}  // namespace rtlm_sim
