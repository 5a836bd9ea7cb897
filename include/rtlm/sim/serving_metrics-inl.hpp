// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "rtlm/detail/validate.hpp"
#include "rtlm/sim/serving_metrics.hpp"

namespace rtlm::sim {

RTLM_INLINE double time_to_first_token(const request_record& r) noexcept {
  return r.finished() ? r.first_token - r.arrival : std::numeric_limits<double>::quiet_NaN();
}

RTLM_INLINE double time_per_output_token(const request_record& r) noexcept {
  if (!r.finished()) return std::numeric_limits<double>::quiet_NaN();
  if (r.output.count() <= 1) return 0.0;
  return (r.finish - r.first_token) / static_cast<double>(r.output.count() - 1);
}

namespace detail {

// The mean and nearest-rank percentiles of `times` (sorted here).
inline time_distribution distribution_of(std::vector<double>& times) {
  time_distribution d;
  d.count = times.size();
  if (times.empty()) return d;
  std::sort(times.begin(), times.end());
  double sum = 0.0;
  for (const double t : times) sum += t;
  d.mean = sum / static_cast<double>(times.size());
  const auto at = [&](double q) {
    const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(times.size())));
    return times[std::clamp<std::size_t>(k, 1, times.size()) - 1];
  };
  d.p50 = at(0.5);
  d.p90 = at(0.9);
  d.p99 = at(0.99);
  return d;
}

}  // namespace detail

RTLM_INLINE serving_metrics serving_metrics_of(const simulation_result& result) {
  serving_metrics m;
  m.requests = result.records.size();
  std::vector<double> ttft;
  std::vector<double> tpot;
  double normalized = 0.0;
  double all = 0.0;
  std::size_t counted = 0;
  for (const request_record& r : result.records) {
    m.preemptions += r.preemptions;
    m.recomputed_tokens += r.recomputed;
    if (r.finished() || !std::isnan(r.deadline)) {
      all += r.finished() ? r.latency() : r.deadline - r.arrival;
      ++counted;
    }
    if (!r.finished()) continue;
    ++m.finished;
    normalized += r.latency() / static_cast<double>(r.output.count());
    ttft.push_back(time_to_first_token(r));
    if (r.output.count() > 1) tpot.push_back(time_per_output_token(r));
  }
  if (m.finished > 0) m.normalized_latency = normalized / static_cast<double>(m.finished);
  if (counted > 0) m.mean_latency_all = all / static_cast<double>(counted);
  m.ttft = detail::distribution_of(ttft);
  m.tpot = detail::distribution_of(tpot);
  return m;
}

RTLM_INLINE void slo_target::validate() const {
  for (const auto& [field, value] :
       {std::pair{"slo_target.ttft", ttft.count()}, std::pair{"slo_target.tpot", tpot.count()}}) {
    rtlm::detail::require_non_negative_finite(field, value);
    rtlm::detail::require(value <= max_duration_seconds, field, value,
                          "must be at most 1e9 seconds");
  }
}

RTLM_INLINE bool meets(const request_record& r, const slo_target& slo) noexcept {
  // NaN (unfinished) fails both comparisons.
  return r.finished() && time_to_first_token(r) <= slo.ttft.count() &&
         time_per_output_token(r) <= slo.tpot.count();
}

RTLM_INLINE slo_attainment attainment_of(const simulation_result& result, const slo_target& slo) {
  slo.validate();
  slo_attainment a;
  a.requests = result.records.size();
  for (const request_record& r : result.records) {
    if (meets(r, slo)) ++a.met;
  }
  if (a.requests > 0) {
    a.attainment = static_cast<double>(a.met) / static_cast<double>(a.requests);
    a.violation_rate = static_cast<double>(a.requests - a.met) / static_cast<double>(a.requests);
  }
  if (result.simulated_seconds > 0.0) {
    a.goodput = static_cast<double>(a.met) / result.simulated_seconds;
  }
  return a;
}

RTLM_INLINE void rate_search::validate() const {
  rtlm::detail::require(std::isfinite(lo), "rate_search.lo", lo, "must be finite");
  rtlm::detail::require(std::isfinite(hi) && hi > lo, "rate_search.hi", hi,
                        fmt::format("must be finite and above rate_search.lo ({})", lo));
  rtlm::detail::require(target >= 0.0 && target < 1.0, "rate_search.target", target,
                        "must be a fraction in [0, 1)");
  rtlm::detail::require_positive_finite("rate_search.tolerance", tolerance);
}

RTLM_INLINE sustainable_rate_result sustainable_rate(const violation_function& violations,
                                                     const rate_search& search) {
  search.validate();
  sustainable_rate_result r;
  const auto meets_at = [&](double load) {
    const double v = violations(load);
    rtlm::detail::require(v >= 0.0 && v <= 1.0, fmt::format("violations({})", load), v,
                          "must be a fraction in [0, 1]");
    r.probes.push_back({.load = load, .violations = v});
    return v <= search.target;
  };
  if (!meets_at(search.lo)) {
    r.outcome = rate_search_outcome::lo_violates;
    r.violating_load = search.lo;
    return r;
  }
  if (meets_at(search.hi)) {
    r.outcome = rate_search_outcome::hi_meets;
    r.load = search.hi;
    return r;
  }
  double good = search.lo;  // meets the target
  double bad = search.hi;   // violates it
  while (bad - good > search.tolerance) {
    const double mid = good + (bad - good) / 2.0;
    if (mid <= good || mid >= bad) break;  // no double between them
    (meets_at(mid) ? good : bad) = mid;
  }
  r.outcome = rate_search_outcome::found;
  r.load = good;
  r.violating_load = bad;
  return r;
}

}  // namespace rtlm::sim
