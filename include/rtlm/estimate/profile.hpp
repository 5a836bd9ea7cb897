// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"

namespace rtlm {

/// The kind of model step a profile point measured.
enum class step_phase {
  prefill,  ///< prompt tokens of each sequence, on top of what its KV cache holds
  decode,   ///< one new token for each sequence of a batch
};

/// One measured step shape and every measurement of it. Plain data.
///
/// A prefill point is `batch()` sequences each prefilling `new_tokens / batch()` tokens on top of
/// its `kv_lengths[i]` cached ones (one sequence, K = 0 for a plain prefill; K > 0 for chunked
/// prefill). A decode point is one new token for each sequence, whose KV holds `kv_lengths[i]`
/// entries before the step, so `new_tokens == batch()`.
struct profile_point {
  step_phase phase = step_phase::prefill;
  tokens new_tokens;                  ///< all new tokens of the step
  std::vector<tokens> kv_lengths;     ///< per sequence, cached entries before the step
  std::vector<seconds> measurements;  ///< each repeat's measured time, in file order

  /// Sequences in the step.
  [[nodiscard]] std::size_t batch() const noexcept { return kv_lengths.size(); }
  /// New tokens of each sequence (prefill: new_tokens / batch(); decode: 1).
  [[nodiscard]] tokens new_tokens_per_sequence() const noexcept {
    return kv_lengths.empty()
               ? tokens(0)
               : tokens(new_tokens.count() / static_cast<tokens::rep>(kv_lengths.size()));
  }
  /// The median of the measurements (the mean of the middle two for an even count); 0 when
  /// there are none. O(n log n); allocates a copy.
  [[nodiscard]] seconds median() const;
};

/// A step-time profile of one model on one device: where it came from, and its points.
/// Plain data.
struct profile {
  std::string source;                           ///< file it was read from, for messages
  std::map<std::string, std::string> metadata;  ///< header keys (gpu, model, torch, ...)
  std::vector<profile_point> points;            ///< one per distinct step shape
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/profile-inl.hpp"
#endif
