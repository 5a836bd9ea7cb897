// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>

#include "rtlm/core/units.hpp"
#include "rtlm/estimate/profile.hpp"
#include "rtlm/estimate/relative_error_bound.hpp"

namespace rtlm {

/// The regimes a step falls in; estimators calibrate their bounds per regime, since their errors
/// differ between them.
enum class step_regime : std::uint8_t {
  prefill,          ///< one sequence, no cache
  chunked_prefill,  ///< a prefill on top of cached tokens (or a batched prefill)
  single_decode,    ///< a decode step of batch 1
  batched_decode,   ///< a decode step of batch > 1 whose sequences have equal KV lengths
  mixed_decode,     ///< a decode step of batch > 1 with unequal KV lengths: attention kernels
                    ///< balance such batches worse, so their errors are wider
};

/// Number of step_regime values.
inline constexpr std::size_t step_regime_count = 5;

/// The regime of a prefill of one sequence on top of `cached_tokens`.
constexpr step_regime prefill_regime(tokens cached_tokens) noexcept {
  return cached_tokens.count() > 0 ? step_regime::chunked_prefill : step_regime::prefill;
}
/// The regime of a decode step whose sequences have the given KV lengths. O(batch).
constexpr step_regime decode_regime(std::span<const tokens> kv_lengths) noexcept {
  if (kv_lengths.size() <= 1) return step_regime::single_decode;
  for (const tokens k : kv_lengths) {
    if (k != kv_lengths.front()) return step_regime::mixed_decode;
  }
  return step_regime::batched_decode;
}
/// The regime of a profile point.
inline step_regime regime_of(const profile_point& p) noexcept {
  if (p.phase == step_phase::decode) return decode_regime(p.kv_lengths);
  return p.batch() == 1 ? prefill_regime(p.kv_lengths.front()) : step_regime::chunked_prefill;
}

/// Predicts how long model steps take, and bounds it. The budget solver and the scheduler
/// consume estimators only through this interface; rtlm ships timebill_estimator (TimeBill's
/// fitted polynomials) and fitted_roofline_estimator (rtlm's model). Queries are const, noexcept,
/// allocation-free and safe to call from many threads at once; calibrate() is not.
class step_time_estimator {
 public:
  virtual ~step_time_estimator() = default;

  /// Expected time of prefilling `new_tokens` of one sequence on top of `cached_tokens`
  /// (0 for a plain prefill, > 0 for a chunk of a chunked prefill).
  [[nodiscard]] virtual seconds prefill_time(tokens new_tokens,
                                             tokens cached_tokens) const noexcept = 0;
  /// Expected time of one decode step of a batch whose sequences have the given KV lengths.
  [[nodiscard]] virtual seconds decode_time(std::span<const tokens> kv_lengths) const noexcept = 0;

  /// A prefill time exceeded with probability at most 1 - `level` (e.g. 0.99), from the
  /// calibrated relative errors; +infinity when uncalibrated or `level` is not in (0, 1), even
  /// for an estimate of 0 (never 0 x infinity, NaN).
  [[nodiscard]] seconds prefill_upper_bound(tokens new_tokens, tokens cached_tokens,
                                            double level) const noexcept {
    return scaled(prefill_time(new_tokens, cached_tokens),
                  bound_factor(prefill_regime(cached_tokens), level));
  }
  /// A decode-step time exceeded with probability at most 1 - `level`; see prefill_upper_bound.
  [[nodiscard]] seconds decode_upper_bound(std::span<const tokens> kv_lengths,
                                           double level) const noexcept {
    return scaled(decode_time(kv_lengths), bound_factor(decode_regime(kv_lengths), level));
  }

  /// The calibrated relative-error bound of one regime (empty when it was not calibrated).
  [[nodiscard]] const relative_error_bound& error_bound(step_regime regime) const noexcept {
    return bounds_[static_cast<std::size_t>(regime)];
  }
  /// Replaces the calibration of one regime. Not thread-safe against concurrent queries.
  void calibrate(step_regime regime, relative_error_bound bound) {
    bounds_[static_cast<std::size_t>(regime)] = std::move(bound);
  }
  /// The bound factor for a regime at `level`. A regime with no calibration of its own borrows
  /// a neighbour's (chunked from plain prefill; mixed from batched, batched from single decode).
  [[nodiscard]] double bound_factor(step_regime regime, double level) const noexcept {
    const relative_error_bound* b = &error_bound(regime);
    if (b->residuals().empty() && regime == step_regime::chunked_prefill)
      b = &error_bound(step_regime::prefill);
    if (b->residuals().empty() && regime == step_regime::mixed_decode)
      b = &error_bound(step_regime::batched_decode);
    if (b->residuals().empty() && regime != step_regime::prefill &&
        regime != step_regime::chunked_prefill)
      b = &error_bound(step_regime::single_decode);
    return b->factor(level);
  }

 protected:
  step_time_estimator() = default;
  step_time_estimator(const step_time_estimator&) = default;
  step_time_estimator(step_time_estimator&&) = default;
  step_time_estimator& operator=(const step_time_estimator&) = default;
  step_time_estimator& operator=(step_time_estimator&&) = default;

 private:
  // `estimate` x `factor`, where an infinite factor (nothing calibrated) bounds nothing.
  static seconds scaled(seconds estimate, double factor) noexcept {
    return factor == std::numeric_limits<double>::infinity()
               ? seconds(std::numeric_limits<double>::infinity())
               : estimate * factor;
  }

  std::array<relative_error_bound, step_regime_count> bounds_;
};

}  // namespace rtlm
