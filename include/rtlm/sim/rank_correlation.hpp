// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>

#include "rtlm/detail/config.hpp"

namespace rtlm::sim {

/// Kendall's tau-b between paired samples `a` and `b`: (concordant - discordant pairs) /
/// sqrt((pairs - pairs tied in a) (pairs - pairs tied in b)), in [-1, 1]. It measures how well
/// one ranks the other, so it judges a length predictor's order (what scheduling uses) apart
/// from its scale. Knight's algorithm (1966): sort by a then b, count discordant pairs as merge
/// sort's swaps on b, correct for ties. NaN when there are fewer than 2 pairs or either side is
/// constant. Throws rtlm::error naming `kendall_tau.b` when the sizes differ and `kendall_tau.a[i]`
/// (or `.b[i]`) for a NaN. O(n log n) time, allocates O(n); thread-safe.
///
/// @code
/// const std::vector<double> predicted{30, 10, 20}, actual{300, 100, 200};
/// rtlm::sim::kendall_tau(predicted, actual);  // 1.0
/// @endcode
[[nodiscard]] double kendall_tau(std::span<const double> a, std::span<const double> b);

}  // namespace rtlm::sim

#ifdef RTLM_HEADER_ONLY
#include "rtlm/sim/rank_correlation-inl.hpp"
#endif
