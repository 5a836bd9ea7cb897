// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "rtlm/core/units.hpp"

namespace rtlm {

/// Where a backend runs its model.
enum class device_kind { gpu, cpu, other };

/// The name of `d` ("gpu", "cpu", "other"). O(1); no allocation; thread-safe.
[[nodiscard]] constexpr std::string_view to_string(device_kind d) noexcept {
  switch (d) {
    case device_kind::gpu:
      return "gpu";
    case device_kind::cpu:
      return "cpu";
    case device_kind::other:
      return "other";
  }
  return "other";
}

/// How a backend forms batches.
enum class batching_mode {
  continuous,    ///< requests join and leave the running batch at any step (vLLM-style)
  static_batch,  ///< a batch runs to completion before the next starts
};

/// What a backend can do; the scheduler plans only what is declared here. Plain data.
struct backend_capabilities {
  std::string name;  ///< for logs and reports, e.g. "gpu0"
  device_kind device = device_kind::gpu;
  batching_mode batching = batching_mode::continuous;
  tokens kv_capacity;                  ///< KV-cache entries the backend can hold in all
  int max_batch_size = 0;              ///< sequences per step; 0 = limited by KV only
  tokens max_step_tokens;              ///< new tokens per step; 0 = no limit
  bool can_chunk_prefill = false;      ///< can prefill a prompt over several steps
  bool can_evict_kv = false;           ///< can evict a share of a prompt's KV
  bool can_preempt_recompute = false;  ///< can drop a request's KV and recompute it later
  bool can_preempt_swap = false;       ///< can move a request's KV to host memory and back
};

}  // namespace rtlm
