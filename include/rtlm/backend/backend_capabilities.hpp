// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/detail/validate.hpp"

namespace rtlm {

/// Where a backend runs its model.
enum class device_kind { gpu, cpu, other };

/// The name of `d` ("gpu", "cpu", "other"). O(1); no allocation; thread-safe.
[[nodiscard]] constexpr std::string_view to_string(device_kind d) noexcept {
  return detail::enum_name(d, {"gpu", "cpu", "other"});
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
  tokens kv_capacity;  ///< KV-cache entries the backend can hold in all, in tokens
  /// KV is allocated in whole blocks of this many entries (a paged allocator's block, e.g. 16 in
  /// vLLM): a request holding n entries takes ceil(n / kv_block_size) blocks, and kv_capacity
  /// holds floor(kv_capacity / kv_block_size) of them. 1 (the default): allocated per token.
  tokens kv_block_size{1};
  /// The most output tokens one outcome may carry: a decode's, or a final prefill chunk's. 1 (the
  /// default) for plain decoding; more for speculative decoding, whose step emits every accepted
  /// draft token and one more. The result checks refuse an outcome with more.
  tokens max_tokens_per_outcome{1};
  int max_batch_size = 0;              ///< sequences per step; 0 = limited by KV only
  tokens max_step_tokens;              ///< new tokens per step; 0 = no limit
  bool can_chunk_prefill = false;      ///< can prefill a prompt over several steps
  bool can_evict_kv = false;           ///< can evict a share of a prompt's KV
  bool can_preempt_recompute = false;  ///< can drop a request's KV and recompute it later
  bool can_preempt_swap = false;       ///< can move a request's KV to host memory and back

  /// The KV that `entries` entries of one request take, in tokens: `entries` rounded up to whole
  /// blocks of kv_block_size (`entries` itself when blocks are 1 token, or malformed, or when
  /// `entries` <= 0). Exact for every `entries` up to the largest tokens count less a block.
  /// O(1); no allocation; thread-safe.
  [[nodiscard]] constexpr tokens kv_footprint(tokens entries) const noexcept {
    const tokens::rep block = kv_block_size.count();
    const tokens::rep n = entries.count();
    if (block <= 1 || n <= 0) return entries;
    return tokens((n / block + (n % block != 0 ? 1 : 0)) * block);
  }

  /// The KV entries the backend can hand out in whole blocks: kv_capacity rounded down to a
  /// multiple of kv_block_size (kv_capacity itself when blocks are 1 token, or malformed).
  /// O(1); no allocation; thread-safe.
  [[nodiscard]] constexpr tokens usable_kv_capacity() const noexcept {
    const tokens::rep block = kv_block_size.count();
    if (block <= 1) return kv_capacity;
    return tokens(kv_capacity.count() / block * block);
  }

  /// Throws rtlm::error naming the first unusable field (`backend_capabilities.kv_capacity`) and
  /// its value, with the backend's name: kv_capacity must be >= 1, kv_block_size in
  /// [1, kv_capacity], max_tokens_per_outcome >= 1, max_batch_size and max_step_tokens >= 0.
  /// The scheduler's add_backend() runs it. O(1); allocates only to throw; thread-safe.
  void validate() const {
    const std::string backend = " (backend '" + name + "')";
    detail::require(kv_capacity.count() >= 1, "backend_capabilities.kv_capacity", kv_capacity,
                    "must be >= 1" + backend);
    detail::require(kv_block_size.count() >= 1 && kv_block_size <= kv_capacity,
                    "backend_capabilities.kv_block_size", kv_block_size,
                    fmt::format("must be in [1, kv_capacity = {}]{}", kv_capacity, backend));
    detail::require(max_tokens_per_outcome.count() >= 1,
                    "backend_capabilities.max_tokens_per_outcome", max_tokens_per_outcome,
                    "must be >= 1" + backend);
    detail::require(max_batch_size >= 0, "backend_capabilities.max_batch_size", max_batch_size,
                    "must be >= 0" + backend);
    detail::require(max_step_tokens.count() >= 0, "backend_capabilities.max_step_tokens",
                    max_step_tokens, "must be >= 0" + backend);
  }
};

}  // namespace rtlm
