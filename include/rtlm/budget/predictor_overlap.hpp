// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"

namespace rtlm {

/// A length predictor's latency by input length: a n^2 + b n + c seconds for n input units
/// (tokens, or bytes for a text predictor). TimeBill's form, covering a small transformer
/// (quadratic attention) and rtlm's hashed-feature predictors (a = 0). Plain data.
struct predictor_latency_model {
  double a = 0;  ///< s per unit^2
  double b = 0;  ///< s per unit
  double c = 0;  ///< s per call

  /// The predicted latency for an input of `units`. O(1).
  [[nodiscard]] seconds latency(std::size_t units) const noexcept {
    const auto n = static_cast<double>(units);
    return seconds(a * n * n + b * n + c);
  }
};

/// Least-squares fit of predictor_latency_model to measured (input length, latency) pairs, with
/// the coefficients kept >= 0. Throws rtlm::error when the spans differ in size, hold fewer
/// than 3 samples or fewer than 3 distinct lengths (the quadratic would be singular), or a
/// latency is negative or not finite. O(samples); allocates a little.
[[nodiscard]] predictor_latency_model fit_predictor_latency(std::span<const std::size_t> units,
                                                            std::span<const seconds> latency);

/// The longest predictor input, in units, whose predicted latency fits inside `prefill_time`,
/// so the predictor runs in parallel with the prefill and costs the budget nothing
/// (TimeBill's t_predict = 0); capped at `input_units`. 0 when even an empty input does not
/// fit. O(1), noexcept.
[[nodiscard]] std::size_t max_predictor_input(const predictor_latency_model& model,
                                              seconds prefill_time,
                                              std::size_t input_units) noexcept;

/// How a head-and-tail compression splits an input: keep the first `head` and the last `tail`
/// units. Plain data.
struct head_tail_split {
  std::size_t head = 0;  ///< units kept from the start
  std::size_t tail = 0;  ///< units kept from the end
};

/// The split that keeps at most `max_units` of `units`: everything when it fits, otherwise
/// `head_fraction` (clamped to [0, 1]) of them from the start and the rest from the end, since
/// instructions tend to sit at either end of a prompt. O(1), noexcept.
[[nodiscard]] head_tail_split split_head_tail(std::size_t units, std::size_t max_units,
                                              double head_fraction = 0.5) noexcept;

/// A token sequence compressed to its head and tail (see split_head_tail). O(max_units);
/// allocates the result.
template <class Token>
[[nodiscard]] std::vector<Token> compress_head_tail(std::span<const Token> input,
                                                    std::size_t max_units,
                                                    double head_fraction = 0.5) {
  const head_tail_split s = split_head_tail(input.size(), max_units, head_fraction);
  std::vector<Token> out;
  out.reserve(s.head + s.tail);
  out.insert(out.end(), input.begin(), input.begin() + static_cast<std::ptrdiff_t>(s.head));
  out.insert(out.end(), input.end() - static_cast<std::ptrdiff_t>(s.tail), input.end());
  return out;
}

/// A UTF-8 text compressed to at most `max_bytes` bytes of head and tail, joined by one space;
/// cuts move inward to character boundaries, so no character is split. O(max_bytes);
/// allocates the result.
[[nodiscard]] std::string compress_head_tail_text(std::string_view text, std::size_t max_bytes,
                                                  double head_fraction = 0.5);

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/budget/predictor_overlap-inl.hpp"
#endif
