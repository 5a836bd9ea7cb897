// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "rtlm/detail/validate.hpp"
#include "rtlm/predict/conformal_length_bound.hpp"

namespace rtlm {

RTLM_INLINE conformal_length_bound::conformal_length_bound(conformal_bound_config config)
    : config_(config) {
  detail::require(config_.window >= 10 && config_.window <= 1'000'000,
                  "conformal_bound_config.window", config_.window, "must be in 10..1000000");
  detail::require_positive_finite("conformal_bound_config.min_uncertainty",
                                  config_.min_uncertainty);
  ring_.reserve(config_.window);
  sorted_.reserve(config_.window);
}

RTLM_INLINE double conformal_length_bound::scale(const length_distribution& d) const noexcept {
  return config_.scale_by_uncertainty ? std::max(d.uncertainty(), config_.min_uncertainty) : 1.0;
}

RTLM_INLINE double conformal_length_bound::score(const length_distribution& predicted,
                                                 tokens length) const noexcept {
  const double median = std::max(predicted.quantile_value(0.5), 1.0);
  const double actual = static_cast<double>(std::max<tokens::rep>(1, length.count()));
  return (std::log(actual) - std::log(median)) / scale(predicted);
}

RTLM_INLINE bool conformal_length_bound::observe(const length_distribution& predicted,
                                                 tokens length) noexcept {
  if (predicted.bucket_count() == 0 || length > max_learned_length) return false;
  return observe_score(score(predicted, length));
}

RTLM_INLINE bool conformal_length_bound::observe_score(double score) noexcept {
  if (!std::isfinite(score)) return false;
  if (ring_.size() < config_.window) {
    ring_.push_back(score);
  } else {
    // The oldest score slides out of the sorted copy; capacity is reserved, nothing allocates.
    const double oldest = ring_[next_];
    const auto it = std::lower_bound(sorted_.begin(), sorted_.end(), oldest);
    if (it != sorted_.end()) sorted_.erase(it);
    ring_[next_] = score;
    next_ = (next_ + 1) % config_.window;
  }
  sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), score), score);
  return true;
}

RTLM_INLINE void conformal_length_bound::clear() noexcept {
  ring_.clear();
  sorted_.clear();
  next_ = 0;
}

RTLM_INLINE length_bound conformal_length_bound::bound(const length_distribution& predicted,
                                                       double coverage) const noexcept {
  if (std::isnan(coverage)) coverage = 0.5;
  coverage = std::clamp(coverage, 0.0, 1.0);
  const auto n = static_cast<double>(sorted_.size());
  const double rank = std::ceil((n + 1.0) * coverage);
  if (predicted.bucket_count() == 0) return {tokens(0), coverage, false};
  if (sorted_.empty() || rank > n) return {predicted.quantile(coverage), coverage, false};
  const double s = sorted_[static_cast<std::size_t>(std::max(rank, 1.0)) - 1];
  const double median = std::max(predicted.quantile_value(0.5), 1.0);
  const double value = std::ceil(median * std::exp(s * scale(predicted)));
  const double clamped = std::isfinite(value) ? std::clamp(value, 1.0, 1e15) : 1e15;
  return {tokens(static_cast<tokens::rep>(clamped)), coverage, true};
}

RTLM_INLINE std::string conformal_length_bound::serialize() const {
  detail::byte_writer w;
  w.u64(config_.window);
  w.u32(config_.scale_by_uncertainty ? 1U : 0U);
  w.f64(config_.min_uncertainty);
  // Oldest first, so a reader can replay them.
  std::vector<double> ordered;
  ordered.reserve(ring_.size());
  for (std::size_t k = 0; k < ring_.size(); ++k) {
    ordered.push_back(ring_[(next_ + k) % ring_.size()]);
  }
  w.f64s(ordered);
  return w.data();
}

RTLM_INLINE conformal_length_bound conformal_length_bound::deserialize(std::string_view payload,
                                                                       const std::string& source) {
  detail::byte_reader r(payload, source);
  conformal_bound_config c;
  c.window = r.u64();
  const std::uint32_t scaled = r.u32();
  if (scaled > 1U) r.fail("a malformed flag");
  c.scale_by_uncertainty = scaled == 1U;
  c.min_uncertainty = r.f64();
  std::optional<conformal_length_bound> bound;
  try {
    bound.emplace(c);
  } catch (const error& e) {
    r.fail(std::string("a bad conformal bound configuration: ") + e.what());
  }
  const std::vector<double> scores = r.f64s(c.window);
  r.expect_end();
  for (double s : scores) {
    if (!std::isfinite(s)) r.fail("a non-finite score");
    bound->observe_score(s);
  }
  return std::move(*bound);
}

}  // namespace rtlm
