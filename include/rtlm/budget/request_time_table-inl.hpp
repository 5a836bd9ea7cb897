// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "rtlm/budget/request_time_table.hpp"

namespace rtlm {

RTLM_INLINE request_time_table::request_time_table(const step_time_estimator& estimator,
                                                   request_table_options options)
    : request_time_table(
          [&estimator, level = options.level](tokens n) {
            if (n.count() == 0) return seconds(0);
            return level > 0 ? estimator.prefill_upper_bound(n, tokens(0), level)
                             : estimator.prefill_time(n, tokens(0));
          },
          [&estimator, level = options.level](tokens kv) {
            const std::array<tokens, 1> batch{kv};
            return level > 0 ? estimator.decode_upper_bound(batch, level)
                             : estimator.decode_time(batch);
          },
          with_valid_level(options)) {}

RTLM_INLINE request_table_options
request_time_table::with_valid_level(const request_table_options& options) {
  detail::require(options.level == 0.0 || (options.level > 0.0 && options.level < 1.0),
                  "request_table_options.level", options.level, "must be 0 or in (0, 1)");
  return options;
}

RTLM_INLINE void request_time_table::init_grid(const request_table_options& options) {
  const std::int64_t cell = options.cell.count();
  detail::require(cell >= 1 && std::has_single_bit(static_cast<std::uint64_t>(cell)),
                  "request_table_options.cell", cell, "must be a power of two >= 1");
  detail::require(options.max_tokens.count() >= 2 * cell &&
                      options.max_tokens.count() <= (std::int64_t{1} << 24),
                  "request_table_options.max_tokens", options.max_tokens.count(),
                  fmt::format("must be in [2 * cell ({}), 2^24]", 2 * cell));
  shift_ = static_cast<unsigned>(std::countr_zero(static_cast<std::uint64_t>(cell)));
  cells_ = options.max_tokens.count() >> shift_;
  const auto n = static_cast<std::size_t>(cells_);
  cumulative_.reserve(n + 1);
  decode_lo_.reserve(n);
  decode_hi_.reserve(n);
  prefill_hi_.reserve(n);
  cumulative_.push_back(0.0);
}

RTLM_INLINE void request_time_table::finish_grid() {
  // Past the table, step times grow as the mid-points of the last two cells do.
  const std::size_t last = decode_hi_.size() - 1;
  const double h = std::ldexp(1.0, static_cast<int>(shift_));
  const double mid_last = (decode_lo_[last] + decode_hi_[last]) / 2;
  const double mid_before = (decode_lo_[last - 1] + decode_hi_[last - 1]) / 2;
  tail_slope_ = std::max(0.0, (mid_last - mid_before) / h);
  tail_lo_ = decode_lo_[last];
  tail_hi_ = decode_hi_[last] + tail_slope_;
  prefill_tail_slope_ = std::max(0.0, (prefill_hi_[last] - prefill_hi_[last - 1]) / h);
}

RTLM_INLINE seconds request_time_table::prefill_time(tokens prompt) const noexcept {
  const std::int64_t n = prompt.count();
  if (n <= 0) return seconds(0);
  const std::int64_t i = n >> shift_;
  if (i < cells_) return seconds(prefill_hi_[static_cast<std::size_t>(i)]);
  const auto past = static_cast<double>(n - (cells_ << shift_) + 1);
  return seconds(prefill_hi_.back() + prefill_tail_slope_ * past);
}

RTLM_INLINE double request_time_table::cumulative_upper(std::int64_t x) const noexcept {
  const std::int64_t i = x >> shift_;
  if (i >= cells_) {
    const auto u = static_cast<double>(x - (cells_ << shift_));
    return cumulative_.back() + u * tail_hi_ + tail_slope_ * u * (u - 1) / 2;
  }
  const auto k = static_cast<std::size_t>(i);
  const auto into = static_cast<double>(x - (i << shift_));
  const auto left = static_cast<double>(((i + 1) << shift_) - x);
  // Each step in the cell costs at most decode_hi_ and at least decode_lo_.
  return std::min(cumulative_[k] + into * decode_hi_[k], cumulative_[k + 1] - left * decode_lo_[k]);
}

RTLM_INLINE double request_time_table::cumulative_lower(std::int64_t x) const noexcept {
  const std::int64_t i = x >> shift_;
  if (i >= cells_) {
    const auto u = static_cast<double>(x - (cells_ << shift_));
    return cumulative_.back() + u * tail_lo_ + tail_slope_ * u * (u - 1) / 2;
  }
  const auto k = static_cast<std::size_t>(i);
  const auto into = static_cast<double>(x - (i << shift_));
  const auto left = static_cast<double>(((i + 1) << shift_) - x);
  return std::max(cumulative_[k] + into * decode_lo_[k], cumulative_[k + 1] - left * decode_hi_[k]);
}

RTLM_INLINE seconds request_time_table::decode_run_time(tokens first_kv,
                                                        tokens steps) const noexcept {
  if (steps.count() <= 0) return seconds(0);
  const std::int64_t a = std::max<std::int64_t>(0, first_kv.count());
  // A run past the largest length ends there: such runs cost about forever, not an overflow.
  constexpr std::int64_t largest = std::numeric_limits<std::int64_t>::max();
  const std::int64_t end = steps.count() > largest - a ? largest : a + steps.count();
  return seconds(std::max(0.0, cumulative_upper(end) - cumulative_lower(a)));
}

RTLM_INLINE tokens request_time_table::max_decode_steps(tokens first_kv,
                                                        seconds budget) const noexcept {
  if (!(budget.count() > 0)) return tokens(0);
  const std::int64_t a = std::max<std::int64_t>(0, first_kv.count());
  const double target = cumulative_lower(a) + budget.count();
  // The largest x with cumulative_upper(x) <= target, first to a cell edge (where the bound is
  // exact), then inside the cell or past the table.
  std::int64_t x = 0;
  if (target >= cumulative_.back()) {
    const double room = target - cumulative_.back();
    double u = 0;
    if (tail_slope_ > 0) {
      // Largest u with u * tail_hi_ + slope * u (u - 1) / 2 <= room.
      const double b = tail_hi_ - tail_slope_ / 2;
      u = (-b + std::sqrt(b * b + 2 * tail_slope_ * room)) / tail_slope_;
    } else {
      u = tail_hi_ > 0 ? room / tail_hi_ : 1e15;
    }
    // u is NaN when the tail's times overflow to infinity (inf - inf): no step is known to fit.
    x = (cells_ << shift_) + static_cast<std::int64_t>(u >= 0.0 ? std::min(u, 1e15) : 0.0);
  } else {
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), target);
    const auto i = static_cast<std::int64_t>(it - cumulative_.begin()) - 1;  // S[i] <= target
    const auto k = static_cast<std::size_t>(i);
    const std::int64_t start = i << shift_;
    const std::int64_t end = (i + 1) << shift_;
    const double by_hi = decode_hi_[k] > 0 ? (target - cumulative_[k]) / decode_hi_[k] : 1e15;
    const double by_lo = decode_lo_[k] > 0 ? static_cast<double>(end - start) -
                                                 (cumulative_[k + 1] - target) / decode_lo_[k]
                                           : -1.0;
    x = start + static_cast<std::int64_t>(
                    std::clamp(std::max(by_hi, by_lo), 0.0, static_cast<double>(end - start - 1)));
  }
  // Rounding can leave x a token off either way; the bound is monotone, so step to the edge.
  for (int k = 0; k < 4 && x > a && cumulative_upper(x) > target; ++k) --x;
  for (int k = 0; k < 4 && cumulative_upper(x + 1) <= target; ++k) ++x;
  if (cumulative_upper(x) > target) return tokens(0);
  return tokens(std::max<std::int64_t>(0, x - a));
}

}  // namespace rtlm
