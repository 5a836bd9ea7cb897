// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "rtlm/backend/backend_capabilities.hpp"
#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/validate.hpp"

namespace rtlm {

/// When strategic CPU offloading sends a request to a CPU backend although a GPU is there.
struct offload_config {
  bool enabled = true;
  /// Rule 2 takes requests whose predicted output bound is at least this long...
  tokens long_output{512};
  /// ...whose priority class is this or less urgent...
  priority_class min_priority = priority_class::background;
  /// ...while every GPU's predicted queueing wait is at least this long (saturated).
  seconds saturated_wait{1.0};

  void validate() const {
    detail::require(long_output.count() >= 0, "offload_config.long_output", long_output,
                    "must be >= 0");
    detail::require_non_negative_finite("offload_config.saturated_wait", saturated_wait.count());
  }
};

/// What placement knows about one backend for one request: the predicted queueing wait before
/// the request starts, and its predicted service time there once it runs.
struct placement_option {
  device_kind device = device_kind::gpu;
  seconds wait{0};
  seconds service{0};

  [[nodiscard]] time_point finish(time_point now) const noexcept {
    return add_saturated(now, wait + service);  // centuries for a 2^40-token prompt, say
  }
};

/// What placement knows about the request.
struct placement_request {
  std::optional<time_point> deadline;
  priority_class priority = priority_class::standard;
  tokens output_bound;  ///< the predicted output-length bound (or the cap), tokens
};

/// Where a request runs and why.
enum class placement_reason : std::uint8_t {
  earliest_finish,     ///< the non-CPU backend (or, with none, the CPU backend) that finishes first
  cpu_meets_deadline,  ///< rule 1: the CPU finishes by the deadline and no GPU would
  cpu_offload_long,    ///< rule 2: long, low priority, GPUs saturated, CPU meets any deadline
};

struct placement_decision {
  std::size_t backend = 0;
  placement_reason reason = placement_reason::earliest_finish;
};

/// Strategic CPU offloading (RT-LM), as a pure rule over the backends' predicted wait and
/// service times. "GPU" means any backend whose device is not device_kind::cpu.
///
///   best_gpu = the GPU with the earliest predicted finish (now + wait + service)
///   best_cpu = the CPU with the earliest predicted finish
///   1. deadline given, best_gpu misses it, best_cpu meets it          -> best_cpu
///   2. output_bound >= long_output, priority >= min_priority (less urgent),
///      every GPU's wait >= saturated_wait, best_cpu meets any deadline -> best_cpu
///   otherwise best_gpu (best_cpu when there is no GPU).
///
/// Rule 1 keeps a deadline the GPUs would miss; rule 2 takes long background work off saturated
/// GPUs, where it would hold KV and batch slots that short requests need, and never moves a
/// request onto a CPU that would miss its deadline. Ties go to the lower index.
/// `options` must not be empty. O(backends); allocates nothing; thread-safe (pure).
[[nodiscard]] inline placement_decision place_request(std::span<const placement_option> options,
                                                      const placement_request& r,
                                                      const offload_config& config,
                                                      time_point now) noexcept {
  std::optional<std::size_t> gpu;
  std::optional<std::size_t> cpu;
  bool gpus_saturated = true;
  for (std::size_t i = 0; i < options.size(); ++i) {
    const placement_option& o = options[i];
    std::optional<std::size_t>& best = o.device == device_kind::cpu ? cpu : gpu;
    if (!best || o.finish(now) < options[*best].finish(now)) best = i;
    if (o.device != device_kind::cpu && o.wait < config.saturated_wait) gpus_saturated = false;
  }
  if (!gpu) return {cpu.value_or(0), placement_reason::earliest_finish};
  if (!cpu || !config.enabled) return {*gpu, placement_reason::earliest_finish};
  const bool cpu_meets = !r.deadline || options[*cpu].finish(now) <= *r.deadline;
  if (r.deadline && options[*gpu].finish(now) > *r.deadline && cpu_meets) {
    return {*cpu, placement_reason::cpu_meets_deadline};
  }
  if (r.output_bound >= config.long_output && r.priority >= config.min_priority && gpus_saturated &&
      cpu_meets) {
    return {*cpu, placement_reason::cpu_offload_long};
  }
  return {*gpu, placement_reason::earliest_finish};
}

}  // namespace rtlm
