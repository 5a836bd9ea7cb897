// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <set>

#include "rtlm/budget/predictor_overlap.hpp"
#include "rtlm/detail/nnls.hpp"
#include "rtlm/detail/validate.hpp"

namespace rtlm {

RTLM_INLINE predictor_latency_model fit_predictor_latency(std::span<const std::size_t> units,
                                                          std::span<const seconds> latency) {
  detail::require(units.size() == latency.size(), "fit_predictor_latency latency", latency.size(),
                  fmt::format("must match the input lengths ({})", units.size()));
  const std::set<std::size_t> distinct(units.begin(), units.end());
  detail::require(distinct.size() >= 3, "fit_predictor_latency units", distinct.size(),
                  "must hold at least 3 distinct input lengths");
  const auto m = static_cast<Eigen::Index>(units.size());
  Eigen::MatrixXd a(m, 3);
  Eigen::VectorXd b(m);
  for (Eigen::Index i = 0; i < m; ++i) {
    const auto k = static_cast<std::size_t>(i);
    detail::require_non_negative_finite(fmt::format("fit_predictor_latency latency[{}]", k),
                                        latency[k].count());
    const auto n = static_cast<double>(units[k]);
    a(i, 0) = n * n;
    a(i, 1) = n;
    a(i, 2) = 1.0;
    b(i) = latency[k].count();
  }
  const Eigen::VectorXd x = detail::nnls(a, b);
  return {.a = x(0), .b = x(1), .c = x(2)};
}

RTLM_INLINE std::size_t max_predictor_input(const predictor_latency_model& model,
                                            seconds prefill_time,
                                            std::size_t input_units) noexcept {
  const double t = prefill_time.count();
  if (!(model.latency(0).count() <= t)) return 0;
  if (model.latency(input_units).count() <= t) return input_units;
  // The latency grows with n (coefficients >= 0): bisect for the last n that fits.
  std::size_t lo = 0;
  std::size_t hi = input_units;
  while (hi - lo > 1) {
    const std::size_t mid = lo + (hi - lo) / 2;
    (model.latency(mid).count() <= t ? lo : hi) = mid;
  }
  return lo;
}

RTLM_INLINE head_tail_split split_head_tail(std::size_t units, std::size_t max_units,
                                            double head_fraction) noexcept {
  if (units <= max_units) return {.head = units, .tail = 0};
  const double f = head_fraction >= 0 ? std::min(head_fraction, 1.0) : 0.5;  // NaN: half
  const auto head = static_cast<std::size_t>(std::llround(f * static_cast<double>(max_units)));
  return {.head = std::min(head, max_units), .tail = max_units - std::min(head, max_units)};
}

RTLM_INLINE std::string compress_head_tail_text(std::string_view text, std::size_t max_bytes,
                                                double head_fraction) {
  if (text.size() <= max_bytes) return std::string(text);
  const std::size_t joiner = max_bytes >= 2 ? 1 : 0;  // room for a space between the parts
  const head_tail_split s = split_head_tail(text.size(), max_bytes - joiner, head_fraction);
  const auto continuation = [&](std::size_t at) {
    return at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0U) == 0x80U;
  };
  std::size_t head_end = s.head;  // cut before a continuation byte moves back
  while (head_end > 0 && continuation(head_end)) --head_end;
  std::size_t tail_begin = text.size() - s.tail;  // and the tail's start moves forward
  while (tail_begin < text.size() && continuation(tail_begin)) ++tail_begin;
  std::string out;
  out.reserve(head_end + joiner + (text.size() - tail_begin));
  out.append(text.substr(0, head_end));
  if (head_end > 0 && tail_begin < text.size()) out += ' ';
  out.append(text.substr(tail_begin));
  return out;
}

}  // namespace rtlm
