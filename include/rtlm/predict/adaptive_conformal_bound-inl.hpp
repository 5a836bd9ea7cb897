// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "rtlm/detail/binary_io.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/predict/adaptive_conformal_bound.hpp"

namespace rtlm {

namespace detail {
inline const adaptive_bound_config& validated(const adaptive_bound_config& c) {
  require(std::isfinite(c.coverage) && c.coverage > 0.0 && c.coverage < 1.0,
          "adaptive_bound_config.coverage", c.coverage, "must be in (0, 1)");
  require(std::isfinite(c.rate) && c.rate > 0.0 && c.rate <= 1.0, "adaptive_bound_config.rate",
          c.rate, "must be in (0, 1]");
  return c;
}
// Bytes before the wrapped bound's payload: coverage, rate, offset, tracked, misses.
inline constexpr std::size_t adaptive_header_bytes = 40;
}  // namespace detail

RTLM_INLINE adaptive_conformal_bound::adaptive_conformal_bound(adaptive_bound_config config)
    : config_(detail::validated(config)), base_(config.bound) {}

RTLM_INLINE adaptive_conformal_bound::adaptive_conformal_bound(adaptive_bound_config config,
                                                               conformal_length_bound calibrated)
    : config_(detail::validated(config)), base_(std::move(calibrated)) {
  config_.bound = base_.config();
}

RTLM_INLINE double adaptive_conformal_bound::base_score() const noexcept {
  const std::span<const double> s = base_.sorted_scores();
  const auto n = static_cast<double>(s.size());
  const double rank = std::ceil((n + 1.0) * config_.coverage);
  if (s.empty() || rank > n) return std::numeric_limits<double>::quiet_NaN();
  return s[static_cast<std::size_t>(std::max(rank, 1.0)) - 1];
}

RTLM_INLINE double adaptive_conformal_bound::step() const noexcept {
  // Scale-free: the step is a fixed share of the scores' spread, so the same rate suits scores
  // in log-tokens or in uncertainty units.
  const std::span<const double> s = base_.sorted_scores();
  if (s.empty()) return 0.0;
  const auto at = [&s](double q) {
    return s[std::min(s.size() - 1, static_cast<std::size_t>(q * static_cast<double>(s.size())))];
  };
  return config_.rate * std::max(at(0.95) - at(0.05), 1e-3);
}

RTLM_INLINE double adaptive_conformal_bound::threshold() const noexcept {
  return base_score() + offset_;
}

RTLM_INLINE double adaptive_conformal_bound::level() const noexcept {
  const double t = threshold();
  if (std::isnan(t)) return config_.coverage;
  const std::span<const double> s = base_.sorted_scores();
  const auto under = std::upper_bound(s.begin(), s.end(), t) - s.begin();
  return static_cast<double>(under) / static_cast<double>(s.size());
}

RTLM_INLINE length_bound
adaptive_conformal_bound::bound(const length_distribution& predicted) const noexcept {
  const double t = threshold();
  if (predicted.bucket_count() == 0 || std::isnan(t)) {
    return base_.bound(predicted, config_.coverage);
  }
  // The same form as the base's bound, at the shifted score.
  const double scale = base_.config().scale_by_uncertainty
                           ? std::max(predicted.uncertainty(), base_.config().min_uncertainty)
                           : 1.0;
  const double median = std::max(predicted.quantile_value(0.5), 1.0);
  const double value = std::ceil(median * std::exp(t * scale));
  const double clamped = std::isfinite(value) ? std::clamp(value, 1.0, 1e15) : 1e15;
  return {tokens(static_cast<tokens::rep>(clamped)), config_.coverage, true};
}

RTLM_INLINE bool adaptive_conformal_bound::observe(const length_distribution& predicted,
                                                   tokens length) noexcept {
  if (predicted.bucket_count() == 0 || length > max_learned_length) return false;
  const double score = base_.score(predicted, length);
  if (!std::isfinite(score)) return false;
  const length_bound issued = bound(predicted);
  if (issued.calibrated) {
    const bool missed = std::max<tokens::rep>(1, length.count()) > issued.length.count();
    offset_ += step() * ((missed ? 1.0 : 0.0) - (1.0 - config_.coverage));
    ++tracked_;
    misses_ += missed ? 1U : 0U;
  }
  return base_.observe_score(score);
}

RTLM_INLINE std::string adaptive_conformal_bound::serialize() const {
  detail::byte_writer w;
  w.f64(config_.coverage);
  w.f64(config_.rate);
  w.f64(offset_);
  w.u64(tracked_);
  w.u64(misses_);
  std::string bytes = w.data();
  bytes += base_.serialize();
  return bytes;
}

RTLM_INLINE adaptive_conformal_bound
adaptive_conformal_bound::deserialize(std::string_view payload, const std::string& source) {
  detail::byte_reader r(payload.substr(0, std::min(payload.size(), detail::adaptive_header_bytes)),
                        source);
  adaptive_bound_config c;
  c.coverage = r.f64();
  c.rate = r.f64();
  const double offset = r.f64();
  const std::uint64_t tracked = r.u64();
  const std::uint64_t misses = r.u64();
  if (!std::isfinite(offset)) r.fail("a non-finite offset");
  if (misses > tracked) r.fail("more misses than tracked outcomes");
  conformal_length_bound base =
      conformal_length_bound::deserialize(payload.substr(detail::adaptive_header_bytes), source);
  std::optional<adaptive_conformal_bound> bound;
  try {
    bound.emplace(c, std::move(base));
  } catch (const error& e) {
    r.fail(std::string("a bad adaptive bound configuration: ") + e.what());
  }
  bound->offset_ = offset;
  bound->tracked_ = tracked;
  bound->misses_ = misses;
  return std::move(*bound);
}

}  // namespace rtlm
