// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <vector>

#include "rtlm/core/units.hpp"

namespace rtlm {

/// Prefill `new_tokens` prompt tokens of a request whose first `computed_tokens` prompt tokens
/// were computed by its earlier chunks and are in its KV cache (0 for the first chunk).
struct prefill_assignment {
  request_id id{};
  tokens new_tokens;
  tokens computed_tokens;
  bool final_chunk = true;  ///< the prompt is complete after this chunk: emit the first token
};

/// Generate the next token of a request whose KV cache holds `kv_length` entries (or several,
/// up to backend_capabilities::max_tokens_per_outcome, for a speculative-decoding backend). The
/// step appends one KV entry per token it generates: the token fed back in and each accepted
/// draft token, so the KV holds every generated token but the last.
struct decode_assignment {
  request_id id{};
  tokens kv_length;  ///< the scheduler's view of the KV length, for checks and estimates
};

/// How a preempted request gives up its place.
enum class preemption_mode {
  recompute,  ///< drop its KV; it is prefilled again (prompt plus generated tokens) later
  swap,       ///< move its KV to host memory; `swap_ins` brings it back
};

/// Preempt a running request.
struct preemption {
  request_id id{};
  preemption_mode mode = preemption_mode::recompute;
};

/// Evict a share of a request's prompt KV (TimeBill-style, once, after its prefill): keep
/// `kept_tokens` of its prompt entries, chosen by the backend's method (e.g. SnapKV).
struct kv_eviction {
  request_id id{};
  double eviction_ratio = 0;  ///< share of the prompt's KV to evict, in [0, 1)
  tokens kept_tokens;         ///< prompt entries kept: the absolute form of `eviction_ratio`
};

/// Everything one step does, in the order the backend applies it: `releases`, `preemptions`,
/// `swap_ins`, `evictions`, then one forward pass over `prefills` and `decodes` together.
/// The four control lists are idempotent: after a failed or refused step the scheduler sends
/// them again in its next plan, and a backend that already applied one treats the repeat as a
/// no-op (model_backend's "Failure semantics"). Plain data; reuse one plan across steps
/// (clear() keeps the capacity) so that planning allocates nothing after warm-up.
struct step_plan {
  /// Finished, cancelled or failed: free all their state. May name a request the backend holds
  /// nothing for (every step of it failed, or the release is sent again): a no-op.
  std::vector<request_id> releases;
  /// A repeat of a request already preempted the same way is a no-op.
  std::vector<preemption> preemptions;
  /// Bring a swapped-out request's KV back; a repeat (its KV already on the device) is a no-op.
  std::vector<request_id> swap_ins;
  /// A repeat (its prompt KV already holds `kept_tokens`) is a no-op.
  std::vector<kv_eviction> evictions;
  std::vector<prefill_assignment> prefills;  ///< computed this step, in this order...
  std::vector<decode_assignment> decodes;    ///< ...then these

  /// Empties every list, keeping the capacity. O(1) for trivially destructible items.
  void clear() noexcept {
    releases.clear();
    preemptions.clear();
    swap_ins.clear();
    evictions.clear();
    prefills.clear();
    decodes.clear();
  }
  /// Sequences computed in the forward pass.
  [[nodiscard]] std::size_t computed() const noexcept { return prefills.size() + decodes.size(); }
  /// Whether the step does nothing at all; model_backend::execute() answers such a plan without
  /// calling run_step().
  [[nodiscard]] bool empty() const noexcept {
    return releases.empty() && preemptions.empty() && swap_ins.empty() && evictions.empty() &&
           computed() == 0;
  }
};

}  // namespace rtlm
