// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// rtlm-sim's simulated server: the GPU, the model, the engine's limits and the step-time model
// one run replays a trace on, and the per-policy configuration of each run (which engine rules a
// policy runs under). Shared by the single-scenario run and the suite.

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rtlm/estimate/model_shape.hpp"
#include "rtlm/estimate/step_time_estimator.hpp"
#include "rtlm/sim/controlled_length_noise.hpp"
#include "rtlm/sim/length_noise.hpp"
#include "rtlm/sim/simulation.hpp"
#include "rtlm_sim_flags.hpp"

namespace rtlm_sim {

/// vLLM V1's default limits on a GPU of `memory_bytes` (vllm/engine/arg_utils.py, for the
/// OpenAI server): max_num_seqs 1,024 and max_num_batched_tokens 8,192 on a GPU with at least
/// 70 GiB, 256 and 2,048 below.
struct engine_limits {
  int max_num_seqs = 0;
  std::int64_t max_num_batched_tokens = 0;
};
[[nodiscard]] engine_limits vllm_default_limits(double memory_bytes);

/// One simulated server: built once per scenario from the options, then asked for each run's
/// configuration. Holds the fitted step-time model the simulated GPUs are timed by (and the
/// scheduler plans with).
class server {
 public:
  /// Loads the profile, fits the estimator and sizes the KV cache; with --predictor tau:X, fits
  /// the controlled predictor to the true output lengths of `w`, the workload. Throws
  /// rtlm::error naming the flag of a bad value (`--gpu`, `--model`, `--profile`, `--tp`, ...).
  server(const options& o, const rtlm::sim::trace& w);
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  server(server&&) = delete;
  server& operator=(server&&) = delete;
  ~server();

  /// The configuration of one run of policy `p` with `seed` on trace `t` (its size keys the
  /// prediction draws; its prefix blocks, with --prefix-cache, size the cache's blocks).
  /// The baselines and the oracles run under vLLM V1's rules (KV on demand, recompute on
  /// overflow, nothing admitted in a step that preempted, no admission control); rtlm's
  /// policies under rtlm's own (its KV rule, admission control, the options' extras).
  [[nodiscard]] rtlm::sim::simulation_config config_for(const policy_run& p, std::uint64_t seed,
                                                        const rtlm::sim::trace& t) const;

  /// Where the predictions come from: the noise model's or the controlled predictor's
  /// description, oracle or none.
  [[nodiscard]] std::string lengths_description() const;
  /// The Kendall tau between the predicted mean and the true output length over the requests of
  /// `run`, each predicted as a run of `run` with config_for(p, seed, t) predicts it, for a
  /// policy `p` that is no oracle and a trace `t` of `keyed_requests` requests (`t` is `run`
  /// itself, or the workload `run` was made from). NaN for --predictor oracle or none.
  /// O(n log n), allocates.
  [[nodiscard]] double measured_kendall_tau(const rtlm::sim::trace& run, std::uint64_t seed,
                                            std::size_t keyed_requests) const;
  /// One line each: the GPU and model, the engine's limits and KV, where step times come from.
  [[nodiscard]] std::string describe() const;

  [[nodiscard]] rtlm::tokens kv_capacity() const noexcept { return kv_capacity_; }
  [[nodiscard]] const engine_limits& limits() const noexcept { return limits_; }
  [[nodiscard]] const options& settings() const noexcept { return o_; }
  [[nodiscard]] const rtlm::step_time_estimator& estimator() const noexcept { return *estimator_; }

 private:
  options o_;
  std::unique_ptr<rtlm::model_shape> shape_;
  std::unique_ptr<rtlm::step_time_estimator> estimator_;
  rtlm::sim::step_noise noise_;
  std::optional<rtlm::sim::length_noise_model> lengths_;
  std::optional<rtlm::sim::controlled_length_noise> controlled_;  // --predictor tau:X

  // The noise or controlled predictor's predictions with `seed` over a trace of `trace_size`
  // requests; empty for oracle or none.
  [[nodiscard]] rtlm::sim::prediction_source predictions(std::uint64_t seed,
                                                         std::size_t trace_size) const;
  rtlm::tokens kv_capacity_;
  engine_limits limits_;
  std::string step_source_;  // where step times come from, for describe()
  std::string kv_source_;
};

/// A workload: a trace, or a length set without times (then every arrival is 0 and `timed` is
/// false: its arrivals come from --arrivals).
struct workload {
  rtlm::sim::trace requests;
  bool timed = true;
};

/// The workload --trace names (cut to --duration). Throws rtlm::error naming `--trace` for a
/// file that is neither a trace nor a length set, one of fewer than 2 requests, or an untimed
/// set with --arrivals trace.
[[nodiscard]] workload load_workload(const options& o);

/// `w`'s requests arriving at `load` of `capacity` (requests per second) as the options say:
/// the trace's own arrivals stretched, Poisson or gamma arrivals at that rate (drawn with
/// `seed`), or all at once; then --burst's requests. Throws rtlm::error naming `flag` (the flag
/// that set the load) when the stretched arrivals would pass the simulated clock's bound.
[[nodiscard]] rtlm::sim::trace at_load(const workload& w, const options& o, double capacity,
                                       double load, std::uint64_t seed,
                                       std::string_view flag = "--load");

/// The server's capacity in requests per second: every request of `t` (repeated whole, up to 4
/// copies, until there are 8 x max_num_seqs) queued at once and served by vllm_fcfs with seed
/// `seed`, counting the requests finished by the time the queue first empties over that time
/// (the drain tail, where the batch thins out, left out); a trace the server holds whole at
/// once, never queueing, counts all its requests over the whole run. Throws rtlm::error naming
/// `capacity` when nothing finishes.
[[nodiscard]] double saturated_capacity(const rtlm::sim::trace& t, const server& s,
                                        std::uint64_t seed);

}  // namespace rtlm_sim
