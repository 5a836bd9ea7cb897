// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"

namespace rtlm {

/// A predicted output-length distribution: buckets (edge[k], edge[k + 1]] of tokens, each with a
/// probability, the length spread uniformly inside a bucket. Bucketed classifiers fill equal-width
/// buckets; regressors fill equal-probability ones. Mean, uncertainty and the bucket layout are
/// fixed when the distribution is set (O(buckets)); quantiles cost O(buckets). Reuse one object
/// per thread: setting it again allocates only when it needs more buckets than before. Plain
/// value type; not synchronized.
class length_distribution {
 public:
  /// An empty distribution (no buckets): mean 0, every quantile 0.
  length_distribution() = default;

  /// Sets the distribution from `edges` (buckets + 1 values, ascending, the first >= 0, all
  /// finite) and `probabilities` (one per bucket, >= 0, finite, not all zero; normalized here).
  /// Throws rtlm::error naming the bad argument and value. O(buckets); allocates when growing.
  void assign(std::span<const double> edges, std::span<const double> probabilities);

  /// For predictor implementations: makes room for `buckets` buckets and returns the edges
  /// (buckets + 1) and probabilities (buckets) to fill in place; then call normalize().
  /// Allocates only when growing.
  void resize(std::size_t buckets);
  /// The edges to fill after resize(): buckets + 1 values in tokens.
  [[nodiscard]] std::span<double> mutable_edges() noexcept { return edges_; }
  /// The probabilities to fill after resize(): one per bucket.
  [[nodiscard]] std::span<double> mutable_probabilities() noexcept { return probabilities_; }
  /// Restores the invariants after in-place filling: edges made ascending and >= 0, negative or
  /// non-finite probabilities set to 0, the rest scaled to sum to 1 (uniform when none is left);
  /// then computes the mean and the uncertainty. O(buckets); no allocation; never throws.
  void normalize() noexcept;

  /// Number of buckets. O(1).
  [[nodiscard]] std::size_t bucket_count() const noexcept { return probabilities_.size(); }
  /// Bucket edges in tokens: bucket k is (edges()[k], edges()[k + 1]]. O(1).
  [[nodiscard]] std::span<const double> edges() const noexcept { return edges_; }
  /// Bucket probabilities, summing to 1. O(1).
  [[nodiscard]] std::span<const double> probabilities() const noexcept { return probabilities_; }

  /// Expected length in tokens. O(1).
  [[nodiscard]] double mean() const noexcept { return mean_; }
  /// Standard deviation of the natural log of the length: a scale-free spread, >= 0 (0.7 means
  /// a typical factor of about 2 either way). O(1).
  [[nodiscard]] double uncertainty() const noexcept { return log_sd_; }
  /// The length, in tokens (>= 1 unless empty), that the output stays at or below with
  /// probability `q`; `q` is clamped to [0, 1] (NaN reads as 0.5). O(buckets); no allocation.
  [[nodiscard]] tokens quantile(double q) const noexcept;
  /// The real-valued quantile behind quantile(), interpolated inside its bucket. O(buckets).
  [[nodiscard]] double quantile_value(double q) const noexcept;
  /// P(length <= `length`). O(buckets); no allocation.
  [[nodiscard]] double cdf(double length) const noexcept;

  /// What a request carries: this distribution's mean and uncertainty with `upper_bound` at
  /// `coverage` (from conformal_length_bound or quantile()). O(1).
  [[nodiscard]] length_estimate to_estimate(tokens upper_bound, double coverage) const noexcept {
    return {.mean_tokens = mean_,
            .upper_bound = upper_bound,
            .bound_coverage = coverage,
            .uncertainty = log_sd_};
  }

 private:
  std::vector<double> edges_;
  std::vector<double> probabilities_;
  double mean_ = 0.0;
  double log_sd_ = 0.0;
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/predict/length_distribution-inl.hpp"
#endif
