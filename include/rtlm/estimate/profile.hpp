// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
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

/// The largest token count a profile may state: a step's new tokens, a sequence's cached tokens,
/// and a sequence's new plus cached tokens are each at most 2^24 (16,777,216), over 100x the
/// longest context of today's models. A larger count is a corrupt row, and one such row would
/// decide every fitted coefficient, so loaders and fits refuse it (docs/estimator.md).
inline constexpr tokens::rep max_profile_tokens = tokens::rep{1} << 24;
/// The largest batch (sequences in one step) a profile point may have: 2^16.
inline constexpr std::size_t max_profile_batch = std::size_t{1} << 16;
/// The longest measurement a profile may state, in seconds: 1e6 (about 11.6 days).
inline constexpr double max_profile_seconds = 1e6;

/// A step-time profile of one model on one device: where it came from, and its points.
/// Plain data.
struct profile {
  std::string source;                           ///< file it was read from, for messages
  std::map<std::string, std::string> metadata;  ///< header keys (gpu, model, torch, ...)
  std::vector<profile_point> points;            ///< one per distinct step shape
};

/// Throws rtlm::error naming `where` and the field (`<where> batch`, `<where> new_tokens`,
/// `<where> kv_lengths`, `<where> measurements`) with its value, unless `point` is a point a
/// fit can use: 1 to max_profile_batch sequences; new tokens from 1 to max_profile_tokens, equal
/// to the batch for a decode and a whole multiple of it for a prefill; every cached length from
/// 0 to max_profile_tokens, and with the sequence's new tokens at most max_profile_tokens; every
/// measurement finite, > 0 and <= max_profile_seconds. O(batch + measurements); no allocation
/// unless it throws.
void validate_profile_point(const profile_point& point, std::string_view where);

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/profile-inl.hpp"
#endif
