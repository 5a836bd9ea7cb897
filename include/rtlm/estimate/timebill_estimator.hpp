// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <span>

#include "rtlm/estimate/step_time_estimator.hpp"

namespace rtlm {

/// TimeBill's execution-time forms (Fan, Zou, Ma, AAAI 2026), in seconds:
/// t_prefill(N) = a N^2 + b N + c and t_step(N_kv) = p N_kv + q. Plain data.
struct timebill_coefficients {
  double a = 0;  ///< s per token^2: attention's quadratic term
  double b = 0;  ///< s per token
  double c = 0;  ///< s per prefill step
  double p = 0;  ///< s per KV entry read by a decode step
  double q = 0;  ///< s per decode step
};

/// TimeBill's estimator as published, for one request at a time. TimeBill has no chunked or
/// batched forms, so rtlm extends it minimally: a chunk of N on top of K costs the prefill
/// difference t(N + K) - t(K) plus the step constant c, and a decode batch costs
/// q + p * (sum of KV lengths). Times are never negative. Queries are O(batch), noexcept,
/// allocation-free and thread-safe.
class timebill_estimator final : public step_time_estimator {
 public:
  explicit timebill_estimator(timebill_coefficients coefficients) : c_(coefficients) {}

  [[nodiscard]] const timebill_coefficients& coefficients() const noexcept { return c_; }

  [[nodiscard]] seconds prefill_time(tokens new_tokens,
                                     tokens cached_tokens) const noexcept override {
    if (new_tokens.count() <= 0) return seconds(0);
    const auto n = static_cast<double>(new_tokens.count());
    const auto k = static_cast<double>(std::max<tokens::rep>(0, cached_tokens.count()));
    // a((n + k)^2 - k^2) + b n + c, which is a n^2 + b n + c when k = 0.
    return seconds(std::max(0.0, c_.a * n * (n + 2 * k) + c_.b * n + c_.c));
  }

  [[nodiscard]] seconds decode_time(std::span<const tokens> kv_lengths) const noexcept override {
    if (kv_lengths.empty()) return seconds(0);
    double kv = 0;
    for (const tokens k : kv_lengths) kv += static_cast<double>(k.count());
    return seconds(std::max(0.0, c_.p * kv + c_.q));
  }

 private:
  timebill_coefficients c_;
};

}  // namespace rtlm
