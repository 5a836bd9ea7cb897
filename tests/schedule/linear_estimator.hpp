// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>

#include "rtlm/estimate/step_time_estimator.hpp"

namespace rtlm::test {

/// A step-time estimator with hand-checkable numbers for scheduler tests:
///   prefill(n, cached) = prefill_fixed + prefill_per_token * n
///   decode(kv...)      = decode_fixed + decode_per_sequence * batch + decode_per_kv * sum(kv)
struct linear_estimator final : step_time_estimator {
  double prefill_fixed = 0.010;
  double prefill_per_token = 0.0001;
  double decode_fixed = 0.010;
  double decode_per_sequence = 0.0005;
  double decode_per_kv = 0.0;

  [[nodiscard]] seconds prefill_time(tokens new_tokens,
                                     tokens /*cached_tokens*/) const noexcept override {
    return seconds(prefill_fixed + prefill_per_token * static_cast<double>(new_tokens.count()));
  }
  [[nodiscard]] seconds decode_time(std::span<const tokens> kv_lengths) const noexcept override {
    double kv = 0.0;
    for (const tokens k : kv_lengths) kv += static_cast<double>(k.count());
    return seconds(decode_fixed + decode_per_sequence * static_cast<double>(kv_lengths.size()) +
                   decode_per_kv * kv);
  }
};

}  // namespace rtlm::test
