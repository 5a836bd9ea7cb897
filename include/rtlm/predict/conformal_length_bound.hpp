// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/binary_io.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/predict/length_distribution.hpp"
#include "rtlm/predict/length_predictor.hpp"

namespace rtlm {

/// Settings of a conformal_length_bound. Aggregate: build it with designated initializers; the
/// bound validates it.
struct conformal_bound_config {
  std::size_t window = 2000;  ///< the most recent scores kept; older ones slide out (10..10^6)
  bool scale_by_uncertainty = true;  ///< divide scores by the distribution's uncertainty, so the
                                     ///< bound widens where the predictor is less sure
  double min_uncertainty = 0.05;     ///< floor of that divisor (log-tokens), > 0
};

/// A length bound and what it is worth. Plain data.
struct length_bound {
  tokens length;            ///< the bound, >= 1 token
  double coverage = 0.0;    ///< the coverage it was asked for
  bool calibrated = false;  ///< false when too few outcomes were observed for `coverage`: the
                            ///< bound is then the predictor's own quantile, not a guarantee
};

/// Calibrated upper bounds on output length by split/online conformal prediction: the length a
/// request exceeds with probability at most 1 - coverage, for any coverage asked.
///
/// Every observed outcome (a predicted distribution and the length that came out) yields a score
/// s = (log(length) - log(median)) / max(uncertainty, floor) (or without the division). The bound
/// at coverage q for a new prediction is median * exp(s_(k) * scale), with s_(k) the k-th smallest
/// of the n kept scores, k = ceil((n + 1) q): when outcomes are exchangeable with the scored
/// ones, the output is at most the bound with probability >= q (Vovk et al.; Lei et al. 2018).
/// Scores come from predictions on data the predictor was not trained on: cross-fitting on the
/// training set (calibrate_cross_conformal) and then every completed request, online, in a
/// sliding window that follows drift. observe() is O(window) (one sorted insertion, no allocation
/// after construction); bound() is O(buckets). Not synchronized.
///
/// Robust by construction: the bound is an order statistic, so one outlier among the n kept
/// scores moves it by at most one rank, and slides out after `window` more outcomes. Lengths
/// above max_learned_length are refused.
class conformal_length_bound {
 public:
  /// Validates `config` (throws rtlm::error naming the field) and reserves the window.
  explicit conformal_length_bound(conformal_bound_config config = {});

  /// The validated configuration. O(1).
  [[nodiscard]] const conformal_bound_config& config() const noexcept { return config_; }

  /// The score of an outcome of `length` tokens under `predicted`. O(buckets); no allocation.
  [[nodiscard]] double score(const length_distribution& predicted, tokens length) const noexcept;
  /// Records an outcome: the distribution predicted before the request ran and the length it
  /// produced. False, recording nothing, when `predicted` is empty or `length` is above
  /// max_learned_length (a corrupt count). O(window); no allocation; never throws.
  bool observe(const length_distribution& predicted, tokens length) noexcept;
  /// Records a score computed elsewhere; false, recording nothing, for a non-finite score.
  /// O(window).
  bool observe_score(double score) noexcept;
  /// Forgets every score. O(1).
  void clear() noexcept;

  /// The calibrated bound at `coverage` (clamped to [0, 1]) for a request predicted as
  /// `predicted`. Falls back to predicted.quantile(coverage), marked uncalibrated, until
  /// ceil((n + 1) coverage) <= n scores are kept. O(buckets); no allocation.
  [[nodiscard]] length_bound bound(const length_distribution& predicted,
                                   double coverage) const noexcept;

  /// The number of scores kept. O(1).
  [[nodiscard]] std::size_t size() const noexcept { return sorted_.size(); }
  /// The kept scores, ascending. O(1).
  [[nodiscard]] std::span<const double> sorted_scores() const noexcept { return sorted_; }

  /// The bound's state as bytes (without the file header). Allocates.
  [[nodiscard]] std::string serialize() const;
  /// Reads a bound back from serialize()'s bytes; throws rtlm::error naming `source` when the
  /// bytes are malformed. Allocates.
  static conformal_length_bound deserialize(std::string_view payload, const std::string& source);

 private:
  [[nodiscard]] double scale(const length_distribution& d) const noexcept;

  conformal_bound_config config_;
  std::vector<double> ring_;    // scores in arrival order (circular once full)
  std::size_t next_ = 0;        // where the next score goes in ring_ once full
  std::vector<double> sorted_;  // the same scores, ascending
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/predict/conformal_length_bound-inl.hpp"
#endif
