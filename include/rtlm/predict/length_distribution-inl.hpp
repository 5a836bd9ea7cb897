// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>

#include "rtlm/detail/validate.hpp"
#include "rtlm/predict/length_distribution.hpp"

namespace rtlm {

RTLM_INLINE void length_distribution::assign(std::span<const double> edges,
                                             std::span<const double> probabilities) {
  using detail::require;
  require(!probabilities.empty(), "length_distribution.probabilities", probabilities.size(),
          "must have at least one bucket");
  require(edges.size() == probabilities.size() + 1, "length_distribution.edges", edges.size(),
          fmt::format("must have buckets + 1 ({}) values", probabilities.size() + 1));
  double total = 0.0;
  for (std::size_t k = 0; k < edges.size(); ++k) {
    require(std::isfinite(edges[k]) && edges[k] >= 0.0,
            fmt::format("length_distribution.edges[{}]", k), edges[k], "must be finite and >= 0");
    if (k > 0) {
      require(edges[k] >= edges[k - 1], fmt::format("length_distribution.edges[{}]", k), edges[k],
              "must not be below the edge before it");
    }
  }
  for (std::size_t k = 0; k < probabilities.size(); ++k) {
    require(std::isfinite(probabilities[k]) && probabilities[k] >= 0.0,
            fmt::format("length_distribution.probabilities[{}]", k), probabilities[k],
            "must be finite and >= 0");
    total += probabilities[k];
  }
  require(total > 0.0, "length_distribution.probabilities", total, "must not all be zero");
  resize(probabilities.size());
  std::copy(edges.begin(), edges.end(), edges_.begin());
  std::copy(probabilities.begin(), probabilities.end(), probabilities_.begin());
  normalize();
}

RTLM_INLINE void length_distribution::resize(std::size_t buckets) {
  edges_.resize(buckets + 1);
  probabilities_.resize(buckets);
}

RTLM_INLINE void length_distribution::normalize() noexcept {
  if (probabilities_.empty()) {
    edges_.clear();
    mean_ = 0.0;
    log_sd_ = 0.0;
    return;
  }
  double floor = 0.0;
  for (double& e : edges_) {
    if (!std::isfinite(e) || e < floor) e = floor;
    floor = e;
  }
  double total = 0.0;
  for (double& p : probabilities_) {
    if (!std::isfinite(p) || p < 0.0) p = 0.0;
    total += p;
  }
  const auto n = static_cast<double>(probabilities_.size());
  for (double& p : probabilities_) p = total > 0.0 ? p / total : 1.0 / n;
  // Mean from bucket midpoints (exact for uniform mass inside a bucket); the log-length moments
  // from the midpoints too, with lengths below one token read as one.
  double mean = 0.0;
  double log_mean = 0.0;
  double log_square = 0.0;
  for (std::size_t k = 0; k < probabilities_.size(); ++k) {
    const double mid = 0.5 * (edges_[k] + edges_[k + 1]);
    const double log_mid = std::log(std::max(mid, 1.0));
    mean += probabilities_[k] * mid;
    log_mean += probabilities_[k] * log_mid;
    log_square += probabilities_[k] * log_mid * log_mid;
  }
  mean_ = mean;
  log_sd_ = std::sqrt(std::max(0.0, log_square - log_mean * log_mean));
}

RTLM_INLINE double length_distribution::quantile_value(double q) const noexcept {
  if (probabilities_.empty()) return 0.0;
  if (std::isnan(q)) q = 0.5;
  q = std::clamp(q, 0.0, 1.0);
  double cumulative = 0.0;
  for (std::size_t k = 0; k < probabilities_.size(); ++k) {
    const double p = probabilities_[k];
    if (p > 0.0 && cumulative + p >= q) {
      const double t = std::clamp((q - cumulative) / p, 0.0, 1.0);
      return edges_[k] + t * (edges_[k + 1] - edges_[k]);
    }
    cumulative += p;
  }
  return edges_.back();
}

RTLM_INLINE tokens length_distribution::quantile(double q) const noexcept {
  if (probabilities_.empty()) return tokens(0);
  const double v = std::ceil(quantile_value(q));
  return tokens(std::max<tokens::rep>(1, static_cast<tokens::rep>(std::min(v, 1e15))));
}

RTLM_INLINE double length_distribution::cdf(double length) const noexcept {
  if (probabilities_.empty() || std::isnan(length)) return 0.0;
  double cumulative = 0.0;
  for (std::size_t k = 0; k < probabilities_.size(); ++k) {
    if (length >= edges_[k + 1]) {
      cumulative += probabilities_[k];
      continue;
    }
    if (length > edges_[k]) {
      cumulative += probabilities_[k] * (length - edges_[k]) / (edges_[k + 1] - edges_[k]);
    }
    break;
  }
  return std::min(cumulative, 1.0);
}

}  // namespace rtlm
