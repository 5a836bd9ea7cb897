// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/sim/rank_correlation.hpp"

namespace rtlm::sim {

namespace detail {

// Throws naming kendall_tau.<name>[i] for the first NaN: it would break sorting's ordering.
inline void require_no_nan(std::span<const double> v, std::string_view name) {
  const auto nan = std::find_if(v.begin(), v.end(), [](double x) { return std::isnan(x); });
  if (nan != v.end()) {
    throw rtlm::error(fmt::format("kendall_tau.{}[{}]", name, nan - v.begin()), "nan",
                      "must not be NaN");
  }
}

// The pairs within runs of equal elements of `v` (sorted, so equal ones are adjacent): the sum
// of t (t - 1) / 2 over runs of length t, as each element adds one pair per earlier one.
template <class T>
std::uint64_t tied_pairs(const std::vector<T>& v) {
  std::uint64_t pairs = 0;
  std::uint64_t run = 1;
  for (std::size_t i = 1; i < v.size(); ++i) {
    run = v[i] == v[i - 1] ? run + 1 : 1;
    pairs += run - 1;
  }
  return pairs;
}

// Merges the sorted runs in[lo, mid) and in[mid, hi) into out[lo, hi), stably; returns how many
// pairs (left, right) it found out of order: each right element passes the left ones left.
inline std::uint64_t merge_counting(const std::vector<double>& in, std::vector<double>& out,
                                    std::size_t lo, std::size_t mid, std::size_t hi) {
  std::uint64_t inversions = 0;
  std::size_t i = lo;
  std::size_t j = mid;
  std::size_t k = lo;
  while (i < mid && j < hi) {
    if (in[j] < in[i]) {
      inversions += mid - i;
      out[k++] = in[j++];
    } else {
      out[k++] = in[i++];
    }
  }
  while (i < mid) out[k++] = in[i++];
  while (j < hi) out[k++] = in[j++];
  return inversions;
}

// Sorts `v` by a bottom-up merge sort and returns its inversions, the pairs i < j with
// v[i] > v[j]. O(n log n).
inline std::uint64_t sort_counting_inversions(std::vector<double>& v) {
  std::vector<double> buffer(v.size());
  std::uint64_t inversions = 0;
  for (std::size_t width = 1; width < v.size(); width *= 2) {
    for (std::size_t lo = 0; lo < v.size(); lo += 2 * width) {
      const std::size_t mid = std::min(lo + width, v.size());
      inversions += merge_counting(v, buffer, lo, mid, std::min(lo + 2 * width, v.size()));
    }
    v.swap(buffer);
  }
  return inversions;
}

}  // namespace detail

RTLM_INLINE double kendall_tau(std::span<const double> a, std::span<const double> b) {
  rtlm::detail::require(a.size() == b.size(), "kendall_tau.b", fmt::format("{} values", b.size()),
                        fmt::format("must have as many values as a ({})", a.size()));
  detail::require_no_nan(a, "a");
  detail::require_no_nan(b, "b");
  const std::size_t n = a.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  std::vector<std::pair<double, double>> pairs(n);
  for (std::size_t i = 0; i < n; ++i) pairs[i] = {a[i], b[i]};
  std::sort(pairs.begin(), pairs.end());
  std::vector<double> sorted_a(n);
  std::vector<double> b_by_a(n);
  for (std::size_t i = 0; i < n; ++i) {
    sorted_a[i] = pairs[i].first;
    b_by_a[i] = pairs[i].second;
  }
  // Pairs tied in a are in b's order already, so the swaps count only the discordant pairs.
  const auto tied_a = static_cast<double>(detail::tied_pairs(sorted_a));
  const auto tied_both = static_cast<double>(detail::tied_pairs(pairs));
  const auto discordant = static_cast<double>(detail::sort_counting_inversions(b_by_a));
  const auto tied_b = static_cast<double>(detail::tied_pairs(b_by_a));
  const double total = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
  const double denominator = std::sqrt((total - tied_a) * (total - tied_b));
  if (denominator == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return (total - tied_a - tied_b + tied_both - 2.0 * discordant) / denominator;
}

}  // namespace rtlm::sim
