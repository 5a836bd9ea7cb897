// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/step_time_estimator.hpp"

namespace rtlm {

/// How fast online_step_correction follows the measured step times.
struct online_correction_config {
  double weight = 0.05;      ///< EWMA weight of one step's ratio, in (0, 1]
  double max_ratio = 10.0;   ///< a step whose measured/predicted ratio leaves
                             ///< [1/max_ratio, max_ratio] is ignored as an outlier; > 1
  double min_seconds = 0.0;  ///< steps measured shorter than this are ignored (timer noise)

  void validate() const {
    detail::require(weight > 0.0 && weight <= 1.0, "online_correction_config.weight", weight,
                    "must be in (0, 1]");
    detail::require(max_ratio > 1.0 && std::isfinite(max_ratio),
                    "online_correction_config.max_ratio", max_ratio, "must be finite and > 1");
    detail::require_non_negative_finite("online_correction_config.min_seconds", min_seconds);
  }
};

/// An estimator that follows the hardware it runs on: a fitted estimator's times scaled by two
/// factors, one for prefill and one for decode, each an exponentially weighted mean of measured
/// over predicted step times. This is the estimator's online update of DESIGN.md section 3: the
/// scheduler feeds every measured step through observe_step(), so drift (clock throttling,
/// another tenant, a driver update) shows up in the next plans. Calibrated bounds are taken
/// from the base estimator at construction (they are relative, so they scale too).
///
/// Thread safety: queries are const and may run concurrently with each other; observe_step()
/// must not run concurrently with anything (the scheduler calls both from its own thread).
class online_step_correction final : public step_time_estimator {
 public:
  /// `base` must outlive this object.
  explicit online_step_correction(const step_time_estimator& base,
                                  online_correction_config config = {})
      : base_(&base), config_(config) {
    config_.validate();
    for (std::size_t r = 0; r < step_regime_count; ++r) {
      const auto regime = static_cast<step_regime>(r);
      calibrate(regime, base.error_bound(regime));
    }
  }

  [[nodiscard]] seconds prefill_time(tokens new_tokens,
                                     tokens cached_tokens) const noexcept override {
    return base_->prefill_time(new_tokens, cached_tokens) * prefill_factor_;
  }
  [[nodiscard]] seconds decode_time(std::span<const tokens> kv_lengths) const noexcept override {
    return base_->decode_time(kv_lengths) * decode_factor_;
  }

  /// Learns from one step: `base_prefill` and `base_decode` are the base estimator's times for
  /// the step's prefill and decode parts (either may be 0), `measured` the step's wall time.
  /// A step with both parts moves both factors by the same ratio. Returns false, learning
  /// nothing, for a non-finite or non-positive time or an outlier ratio.
  bool observe_step(seconds base_prefill, seconds base_decode, seconds measured) noexcept {
    const double predicted =
        base_prefill.count() * prefill_factor_ + base_decode.count() * decode_factor_;
    const double m = measured.count();
    if (!std::isfinite(predicted) || !std::isfinite(m) || predicted <= 0.0 || m <= 0.0 ||
        m < config_.min_seconds) {
      return false;
    }
    const double ratio = m / predicted;
    if (ratio > config_.max_ratio || ratio < 1.0 / config_.max_ratio) return false;
    const double w = config_.weight;
    if (base_prefill.count() > 0.0) prefill_factor_ *= 1.0 + w * (ratio - 1.0);
    if (base_decode.count() > 0.0) decode_factor_ *= 1.0 + w * (ratio - 1.0);
    ++observed_;
    return true;
  }

  [[nodiscard]] double prefill_factor() const noexcept { return prefill_factor_; }
  [[nodiscard]] double decode_factor() const noexcept { return decode_factor_; }
  [[nodiscard]] std::size_t observed_steps() const noexcept { return observed_; }
  [[nodiscard]] const step_time_estimator& base() const noexcept { return *base_; }

 private:
  const step_time_estimator* base_;
  online_correction_config config_;
  double prefill_factor_ = 1.0;
  double decode_factor_ = 1.0;
  std::size_t observed_ = 0;
};

}  // namespace rtlm
