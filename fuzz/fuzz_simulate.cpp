// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// sim::simulate on a small trace and configuration decoded from the input: up to 8 requests
// (prompts up to 800 tokens, outputs up to 128, gaps up to 2.55 s), any scheduling policy,
// admission mode and basis, consolidation, preemption for priority, 1 to 3 simulated backends
// (small KV, blocks, batch and step limits, chunking, eviction, recompute and swap preemption,
// static batching, step-time noise), a deadline rule and predictions that are absent, the true
// lengths, or noisy.
//
// Checked: simulate neither crashes nor throws for a valid configuration; every request ends
// exactly once (finished, rejected, failed or cancelled, never a repeated ending); every time is
// finite and non-negative, and a finished request's times are in order (arrival <= admitted <=
// first token <= finish <= the run's end); busy time fits in the run (up to the clock's
// nanosecond rounding per step); the metrics are finite;
// the same input gives the same run (for a quarter of the inputs).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "fuzz_support.hpp"
#include "rtlm/sim/simulation.hpp"

namespace {

using rtlm::tokens;
using rtlm::fuzz::byte_source;

// Step times linear in the work: prefill = a + b x new tokens + c x cached tokens, decode =
// d + e x batch + f x the batch's KV.
struct linear_estimator final : rtlm::step_time_estimator {
  double prefill_fixed = 0.01;
  double prefill_per_token = 1e-4;
  double prefill_per_cached = 1e-6;
  double decode_fixed = 0.005;
  double decode_per_sequence = 5e-4;
  double decode_per_kv = 1e-6;

  [[nodiscard]] rtlm::seconds prefill_time(tokens new_tokens,
                                           tokens cached_tokens) const noexcept override {
    return rtlm::seconds(prefill_fixed +
                         prefill_per_token * static_cast<double>(new_tokens.count()) +
                         prefill_per_cached * static_cast<double>(cached_tokens.count()));
  }
  [[nodiscard]] rtlm::seconds decode_time(
      std::span<const tokens> kv_lengths) const noexcept override {
    double kv = 0.0;
    for (const tokens k : kv_lengths) kv += static_cast<double>(k.count());
    return rtlm::seconds(decode_fixed +
                         decode_per_sequence * static_cast<double>(kv_lengths.size()) +
                         decode_per_kv * kv);
  }
};

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

bool finite_non_negative(double v) { return std::isfinite(v) && v >= 0.0; }

bool ended(rtlm::request_event_kind k) {
  return k == rtlm::request_event_kind::finished || k == rtlm::request_event_kind::rejected ||
         k == rtlm::request_event_kind::failed || k == rtlm::request_event_kind::cancelled;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  byte_source in({data, size});

  // Estimators outlive the run; a GPU and a slower CPU.
  std::array<linear_estimator, 2> estimators;
  estimators[1].decode_fixed = 0.05;
  estimators[1].prefill_per_token = 1e-3;

  rtlm::sim::simulation_config config;
  config.scheduler.policy =
      rtlm::all_policy_kinds[static_cast<std::size_t>(in.below(rtlm::all_policy_kinds.size()))];
  constexpr std::array<rtlm::admission_mode, 4> modes = {
      rtlm::admission_mode::accept, rtlm::admission_mode::reject, rtlm::admission_mode::downgrade,
      rtlm::admission_mode::relax_deadline};
  config.scheduler.admission = modes[static_cast<std::size_t>(in.below(modes.size()))];
  config.scheduler.admission_length = in.flag()
                                          ? rtlm::admission_basis::expected_length
                                          : rtlm::admission_basis::expected_length_when_saturated;
  config.scheduler.admission_at_current_pace = in.flag();
  // The budget solver's table covers the longest request here (800 + 128 tokens); the
  // default 32,768 would spend most of each execution tabulating lengths no request reaches.
  config.scheduler.solver_max_tokens = tokens(1024);
  config.scheduler.consolidate = in.flag();
  config.scheduler.preempt_for_priority = in.flag();
  const double size_weight = static_cast<double>(in.u8()) / 64.0;
  config.scheduler.policies.predicted_length.seconds_per_token = size_weight;
  config.scheduler.policies.uncertainty_aware.seconds_per_token = size_weight;

  const std::size_t backends = 1 + static_cast<std::size_t>(in.below(3));
  for (std::size_t b = 0; b < backends; ++b) {
    rtlm::sim::backend_spec spec;
    rtlm::backend_capabilities& c = spec.config.capabilities;
    const bool cpu = b > 0 && in.flag();
    c.name = cpu ? "cpu" : "gpu";
    c.device = cpu ? rtlm::device_kind::cpu : rtlm::device_kind::gpu;
    c.batching = in.u8() < 32 ? rtlm::batching_mode::static_batch : rtlm::batching_mode::continuous;
    c.kv_capacity = tokens(static_cast<std::int64_t>(32 + in.bits(2) % 4000));
    c.kv_block_size = tokens(static_cast<std::int64_t>(1 + in.below(16)));
    c.max_batch_size = static_cast<int>(in.below(9));  // 0: KV only
    c.max_step_tokens =
        in.flag() ? tokens(0) : tokens(static_cast<std::int64_t>(16 + in.bits(2) % 2048));
    c.can_chunk_prefill = in.flag();
    c.can_evict_kv = in.flag();
    c.can_preempt_recompute = in.flag();
    c.can_preempt_swap = in.flag();
    if (c.can_preempt_swap)
      spec.config.swap_seconds_per_token = static_cast<double>(in.u8()) * 1e-5;
    if (in.flag()) {
      spec.config.noise.prefill = {0.9, 1.0, 1.2};
      spec.config.noise.decode = {0.95, 1.05};
    }
    spec.config.seed = in.u8();
    spec.estimator = &estimators[cpu ? 1 : 0];
    config.backends.push_back(spec);
  }

  switch (in.below(3)) {
    case 0:
      config.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
      break;
    case 1:
      config.deadlines.rule = rtlm::sim::deadline_rule::kind::slack;
      config.deadlines.slack = 0.5 + static_cast<double>(in.u8()) / 16.0;
      break;
    default:
      config.deadlines.rule = rtlm::sim::deadline_rule::kind::slo;
      config.deadlines.ttft = rtlm::seconds(static_cast<double>(in.u8()) * 0.02);
      config.deadlines.tpot = rtlm::seconds(static_cast<double>(in.u8()) * 0.001);
      break;
  }

  rtlm::sim::trace t;
  const std::size_t n = 1 + static_cast<std::size_t>(in.below(8));
  double arrival = 0.0;
  std::vector<rtlm::length_estimate> predictions;
  for (std::size_t i = 0; i < n; ++i) {
    arrival += static_cast<double>(in.u8()) * 0.01;
    const tokens prompt(static_cast<std::int64_t>(in.bits(2) % 800));
    const tokens output(static_cast<std::int64_t>(1 + in.bits(1) % 128));
    t.requests.push_back({.arrival = arrival, .prompt = prompt, .output = output});
    // A noisy prediction: the mean off by a factor in [0.25, 4.2], a bound above it.
    const double mean =
        static_cast<double>(output.count()) * (0.25 + static_cast<double>(in.u8()) / 64.0);
    const double bound = std::ceil(mean * (1.0 + static_cast<double>(in.u8()) / 64.0));
    predictions.push_back(
        {.mean_tokens = mean,
         .upper_bound = tokens(std::max<std::int64_t>(1, static_cast<std::int64_t>(bound))),
         .bound_coverage = 0.9,
         .uncertainty = static_cast<double>(in.u8()) / 255.0});
  }
  switch (in.below(3)) {
    case 0:
      break;  // no predictions
    case 1:
      config.predict = rtlm::sim::true_length;
      break;
    default:
      config.predict = [&predictions](std::size_t i, const rtlm::sim::trace_request&) {
        return std::optional<rtlm::length_estimate>(predictions[i]);
      };
      break;
  }

  const rtlm::sim::simulation_result r = rtlm::sim::simulate(t, config);

  RTLM_FUZZ_CHECK(r.records.size() == n);
  RTLM_FUZZ_CHECK(r.repeated_endings == 0);
  RTLM_FUZZ_CHECK(finite_non_negative(r.simulated_seconds));
  RTLM_FUZZ_CHECK(r.busy_seconds.size() == backends);
  for (const double busy : r.busy_seconds) {
    RTLM_FUZZ_CHECK(finite_non_negative(busy));
    // The clock rounds each step down to whole nanoseconds; busy time sums the exact times.
    RTLM_FUZZ_CHECK(busy <= r.simulated_seconds + 1e-9 * static_cast<double>(r.steps + 1));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const rtlm::sim::request_record& x = r.records[i];
    RTLM_FUZZ_CHECK(x.index == i);
    RTLM_FUZZ_CHECK(ended(x.outcome));  // every request ends, exactly once (above)
    RTLM_FUZZ_CHECK(finite_non_negative(x.arrival));
    // A deadline on the arrival itself (a zero slack) may read a nanosecond early: the clock
    // rounds it to whole nanoseconds, the arrival is the trace's double.
    RTLM_FUZZ_CHECK(std::isnan(x.deadline) ||
                    (std::isfinite(x.deadline) && x.deadline >= x.arrival - 1e-9));
    RTLM_FUZZ_CHECK(std::isnan(x.admitted) ||
                    (std::isfinite(x.admitted) && x.admitted >= x.arrival &&
                     x.admitted <= r.simulated_seconds));
    RTLM_FUZZ_CHECK(x.eviction_ratio >= 0.0 && x.eviction_ratio < 1.0);
    RTLM_FUZZ_CHECK(x.backend < backends);
    if (x.finished()) {
      RTLM_FUZZ_CHECK(std::isfinite(x.admitted) && std::isfinite(x.first_token) &&
                      std::isfinite(x.finish));
      RTLM_FUZZ_CHECK(x.admitted <= x.first_token && x.first_token <= x.finish &&
                      x.finish <= r.simulated_seconds);
    } else {
      RTLM_FUZZ_CHECK(std::isnan(x.finish));
    }
  }
  const rtlm::sim::simulation_metrics m = rtlm::sim::summarize(r);
  RTLM_FUZZ_CHECK(m.requests == n && m.finished + m.rejected <= n);
  for (const double v :
       {m.mean_latency, m.p50_latency, m.p99_latency, m.mean_ttft, m.mean_tpot, m.goodput,
        m.throughput, m.max_queue_wait, m.utilization, m.mean_eviction}) {
    RTLM_FUZZ_CHECK(finite_non_negative(v));
  }
  RTLM_FUZZ_CHECK(m.deadline_miss_rate >= 0.0 && m.deadline_miss_rate <= 1.0);

  // Deterministic: the same input, the same run (checked for a quarter of the inputs, to keep
  // executions short).
  if (in.u8() >= 64) return 0;
  const rtlm::sim::simulation_result again = rtlm::sim::simulate(t, config);
  RTLM_FUZZ_CHECK(again.steps == r.steps && same(again.simulated_seconds, r.simulated_seconds));
  for (std::size_t i = 0; i < n; ++i) {
    const rtlm::sim::request_record& x = r.records[i];
    const rtlm::sim::request_record& y = again.records[i];
    RTLM_FUZZ_CHECK(x.outcome == y.outcome && same(x.admitted, y.admitted) &&
                    same(x.finish, y.finish) && x.preemptions == y.preemptions);
  }
  return 0;
}
