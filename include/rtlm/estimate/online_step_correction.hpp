// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <span>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/step_time_estimator.hpp"

namespace rtlm {

/// How fast online_step_correction follows the measured step times.
struct online_correction_config {
  double weight = 0.05;      ///< EWMA weight of one step, in (0, 1]
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

/// One completed step, as online_step_correction learns from it. Plain data.
struct step_observation {
  seconds base_prefill{0};   ///< the base estimator's time for the step's prefill chunks, summed
  std::size_t prefills = 0;  ///< prefill chunks in the step
  seconds base_decode{0};    ///< the base estimator's time for the step's decode part
  seconds measured{0};       ///< the step's measured time
  /// The prefill chunks' own measured time, where the backend times them apart from the decodes
  /// (step_result::prefill_time).
  std::optional<seconds> measured_prefill;
};

/// An estimator that follows the hardware it runs on: a fitted estimator's times corrected by
/// what the steps measure. This is the estimator's online update (docs/methods.md,
/// 'Architecture and real-time rules'): the scheduler feeds every measured step through
/// observe_step(), so drift (clock throttling, another tenant, a driver update) shows up in the
/// next plans.
///
/// - Decode: the base's time times a factor, an exponentially weighted mean of measured over
///   predicted.
/// - Prefill: scale x the base's time + offset x `unit` per chunk, where `unit` is the base's
///   time of a one-token prefill (its fixed cost per prefill). Where the backend times its
///   prefills apart, scale and offset are a weighted least-squares fit (relative error, the same
///   exponential forgetting) to the measured prefill times: a host whose per-prefill launch cost
///   differs from its profile's (eager prefills are launch-bound, and the CPU's pace varies)
///   then gets both its short and its long prompts right, which one factor cannot do. Otherwise
///   a step's parts are not separable, and each step scales the prefill model and the decode
///   factor by the same ratio.
///
/// Calibrated bounds are taken from the base estimator at construction (they are relative, so
/// they scale too).
///
/// Thread safety: queries are const and may run concurrently with each other; observe_step()
/// must not run concurrently with anything (the scheduler calls both from its own thread).
class online_step_correction final : public step_time_estimator {
 public:
  /// `base` must outlive this object.
  explicit online_step_correction(const step_time_estimator& base,
                                  online_correction_config config = {})
      : base_(&base), config_(config), unit_(base.prefill_time(tokens(1), tokens(0)).count()) {
    config_.validate();
    if (!std::isfinite(unit_) || unit_ < 0.0) unit_ = 0.0;
    for (std::size_t r = 0; r < step_regime_count; ++r) {
      const auto regime = static_cast<step_regime>(r);
      calibrate(regime, base.error_bound(regime));
    }
  }

  [[nodiscard]] seconds prefill_time(tokens new_tokens,
                                     tokens cached_tokens) const noexcept override {
    return seconds(corrected_prefill(base_->prefill_time(new_tokens, cached_tokens).count(), 1));
  }
  [[nodiscard]] seconds decode_time(std::span<const tokens> kv_lengths) const noexcept override {
    return base_->decode_time(kv_lengths) * decode_factor_;
  }

  /// The corrected time of a step whose `chunks` prefill chunks have base times summing to
  /// `base_prefill` and whose decode part has base time `base_decode`: what the scheduler plans.
  [[nodiscard]] seconds step_time(seconds base_prefill, std::size_t chunks,
                                  seconds base_decode) const noexcept {
    const double bp = base_prefill.count();
    const double k = static_cast<double>(std::max<std::size_t>(chunks, 1));
    return seconds(corrected_prefill(bp, k)) + base_decode * decode_factor_;
  }

  /// Learns from one step. Returns false, learning nothing, for a non-finite, non-positive or
  /// too short measured time, a step with no base time, or an outlier ratio (the whole step's,
  /// or a part's where the backend timed its prefills apart).
  bool observe_step(const step_observation& step) noexcept {
    const double bp = step.base_prefill.count();
    const double bd = step.base_decode.count();
    const double predicted = step_time(step.base_prefill, step.prefills, step.base_decode).count();
    const double m = step.measured.count();
    if (!positive(predicted) || !positive(m) || m < config_.min_seconds || !inlier(m / predicted)) {
      return false;
    }
    const double w = config_.weight;
    if (step.measured_prefill.has_value() && bp > 0.0) {
      // Each part against its own plan.
      const double k = static_cast<double>(std::max<std::size_t>(step.prefills, 1));
      const double predicted_prefill = corrected_prefill(bp, k);
      const double predicted_decode = bd * decode_factor_;
      const double mp = step.measured_prefill->count();
      const double md = m - mp;
      const bool decode_ok = bd <= 0.0 || (positive(md) && inlier(md / predicted_decode));
      if (!positive(mp) || !inlier(mp / predicted_prefill) || !decode_ok) return false;
      fit_prefill(bp, k, mp);
      if (bd > 0.0) decode_factor_ *= 1.0 + w * (md / predicted_decode - 1.0);
    } else {
      const double step_factor = 1.0 + w * (m / predicted - 1.0);
      if (bp > 0.0) {
        scale_ *= step_factor;
        offset_ *= step_factor;
      }
      if (bd > 0.0) decode_factor_ *= step_factor;
    }
    ++observed_;
    return true;
  }

  /// The factor on the base's prefill time (1 until a step teaches otherwise).
  [[nodiscard]] double prefill_scale() const noexcept { return scale_; }
  /// The extra time per prefill chunk, in units of the base's one-token prefill (0 at first).
  [[nodiscard]] double prefill_offset() const noexcept { return offset_; }
  [[nodiscard]] double decode_factor() const noexcept { return decode_factor_; }
  [[nodiscard]] std::size_t observed_steps() const noexcept { return observed_; }
  [[nodiscard]] const step_time_estimator& base() const noexcept { return *base_; }

 private:
  static bool positive(double x) noexcept { return std::isfinite(x) && x > 0.0; }
  [[nodiscard]] bool inlier(double ratio) const noexcept {
    return ratio <= config_.max_ratio && ratio >= 1.0 / config_.max_ratio;
  }

  // A negative offset (a cheaper launch than the profile's) never takes a prefill under
  // 1/max_ratio of its base time.
  [[nodiscard]] double corrected_prefill(double base, double chunks) const noexcept {
    if (base <= 0.0) return 0.0;
    return std::max(scale_ * base + offset_ * unit_ * chunks, base / config_.max_ratio);
  }

  // One exponentially forgotten least-squares step on relative error: the row (base, chunks x
  // unit) / measured should give 1. The prior (scale 1, offset 0) counts as one step, scaled like
  // the first one, and fades like any other; a ridge of 0.1% of the sums' own diagonal keeps the
  // 2x2 solve well posed when every recent prefill had the same size. Both are relative to the
  // rows, so the fit does not depend on the size of `unit`.
  void fit_prefill(double base, double chunks, double measured) noexcept {
    constexpr double ridge = 0.001;
    const double x0 = base / measured;
    const double x1 = chunks * unit_ / measured;
    if (!fitted_) {
      s00_ = r0_ = x0 * x0;
      s11_ = x1 * x1;
      fitted_ = true;
    }
    const double keep = 1.0 - config_.weight;
    s00_ = keep * s00_ + x0 * x0;
    s01_ = keep * s01_ + x0 * x1;
    s11_ = keep * s11_ + x1 * x1;
    r0_ = keep * r0_ + x0;
    r1_ = keep * r1_ + x1;
    const double a = s00_ * (1.0 + ridge);
    const double d = s11_ * (1.0 + ridge);
    const double y0 = r0_ + ridge * s00_;  // the ridge pulls towards scale 1, offset 0
    const double det = a * d - s01_ * s01_;
    if (d <= 0.0) {  // a base with no per-prefill cost: the scale alone
      scale_ = y0 / a;
      return;
    }
    if (!(det > 0.0) || !std::isfinite(det)) return;
    scale_ = (d * y0 - s01_ * r1_) / det;
    offset_ = (a * r1_ - s01_ * y0) / det;
  }

  const step_time_estimator* base_;
  online_correction_config config_;
  double unit_;  // seconds of the base's one-token prefill
  double scale_ = 1.0;
  double offset_ = 0.0;
  double decode_factor_ = 1.0;
  // Forgotten sums of the prefill fit; the first split step sets the prior's.
  bool fitted_ = false;
  double s00_ = 0.0, s01_ = 0.0, s11_ = 0.0, r0_ = 0.0, r1_ = 0.0;
  std::size_t observed_ = 0;
};

}  // namespace rtlm
