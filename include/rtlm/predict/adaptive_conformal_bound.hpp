// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/predict/conformal_length_bound.hpp"
#include "rtlm/predict/length_distribution.hpp"

namespace rtlm {

/// Settings of an adaptive_conformal_bound. Aggregate: build it with designated initializers; the
/// bound validates it.
struct adaptive_bound_config {
  double coverage = 0.9;  ///< the coverage it holds over a stream, in (0, 1)
  double rate = 0.1;      ///< step of the tracked offset per outcome, in units of the kept scores'
                          ///< 5%-95% range: a miss raises the offset rate x (1 - alpha) x range, a
                          ///< hit lowers it rate x alpha x range; in (0, 1]
  conformal_bound_config bound;  ///< the wrapped split-conformal bound's window and scaling
};

/// A conformal length bound that keeps its stated coverage when the prompt mix drifts: online
/// quantile tracking on the conformal score scale (Angelopoulos, Candès and Tibshirani 2023,
/// "Conformal PID control", its P term; the score-scale form of Gibbs and Candès 2021's adaptive
/// conformal inference).
///
/// It wraps a conformal_length_bound (the sliding window of scores) and adds an offset to the
/// window's score quantile: the bound for a prediction is median * exp((s_(k) + offset) x scale)
/// with s_(k) the window's split-conformal score at `coverage`. Each observed outcome first checks
/// whether the bound issued for it now would have covered it (err = 1 if not), then moves
/// offset += rate x range x (err - (1 - coverage)), then enters the window. Misses push the bound
/// up, hits pull it down, so over any stretch of T outcomes the miss rate is within
/// (range of the threshold + step) / (step x T) of 1 - coverage whatever the data do (the
/// quantile-tracking guarantee), while on exchangeable data the offset stays near 0 and the bound
/// is the split-conformal one. The offset also makes the realised coverage an observable
/// quantity: level() is the share of kept scores under the current threshold.
///
/// observe() scores against the current state, as if the bound had been issued just before; with
/// outcomes that complete out of order this is the delayed-feedback approximation. observe() is
/// O(window) (the wrapped bound's sorted insertion), no allocation after construction; bound() is
/// O(buckets). Not synchronized.
class adaptive_conformal_bound {
 public:
  /// Validates `config` (throws rtlm::error naming the field and value) and starts with an empty
  /// window and a zero offset.
  explicit adaptive_conformal_bound(adaptive_bound_config config = {});
  /// Wraps an already calibrated bound (for example from fit_and_calibrate), offset zero.
  adaptive_conformal_bound(adaptive_bound_config config, conformal_length_bound calibrated);

  /// The validated configuration. O(1).
  [[nodiscard]] const adaptive_bound_config& config() const noexcept { return config_; }
  /// The wrapped window of scores; its bound() gives the static split-conformal bound at any
  /// coverage. O(1).
  [[nodiscard]] const conformal_length_bound& base() const noexcept { return base_; }

  /// The adaptive bound at config().coverage for a request predicted as `predicted`. Until the
  /// window holds enough scores (ceil((n + 1) coverage) <= n) it is the base's fallback, the
  /// predictor's own quantile, marked uncalibrated. O(buckets); no allocation.
  [[nodiscard]] length_bound bound(const length_distribution& predicted) const noexcept;

  /// Records an outcome: updates the offset against the bound bound(`predicted`) would give now
  /// (when that bound is calibrated), then enters the score into the window. False, changing
  /// nothing, when `predicted` is empty, `length` is above max_learned_length or the score is not
  /// finite. O(window); no allocation; never throws.
  bool observe(const length_distribution& predicted, tokens length) noexcept;

  /// The tracked offset on the score scale (0 when the stream behaves like the calibration data).
  /// O(1).
  [[nodiscard]] double offset() const noexcept { return offset_; }
  /// The window's score quantile plus the offset: the score the bound currently stands at; NaN
  /// before the window is calibrated. O(1).
  [[nodiscard]] double threshold() const noexcept;
  /// The adapted level: the share of kept scores at or under threshold(), in [0, 1] (coverage()
  /// itself when the window is not calibrated). O(log window).
  [[nodiscard]] double level() const noexcept;
  /// Outcomes whose offset step was taken, and how many of them the bound missed. O(1).
  [[nodiscard]] std::uint64_t tracked() const noexcept { return tracked_; }
  [[nodiscard]] std::uint64_t misses() const noexcept { return misses_; }

  /// The state as bytes: configuration, offset, counters, then the wrapped bound's serialize().
  /// Allocates.
  [[nodiscard]] std::string serialize() const;
  /// Reads a bound back from serialize()'s bytes; throws rtlm::error naming `source` when the
  /// bytes are malformed. Allocates.
  static adaptive_conformal_bound deserialize(std::string_view payload, const std::string& source);

 private:
  [[nodiscard]] double base_score() const noexcept;  // the window's score at coverage, or NaN
  [[nodiscard]] double step() const noexcept;        // rate x the window's 5%-95% range

  adaptive_bound_config config_;
  conformal_length_bound base_;
  double offset_ = 0.0;
  std::uint64_t tracked_ = 0;
  std::uint64_t misses_ = 0;
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/predict/adaptive_conformal_bound-inl.hpp"
#endif
