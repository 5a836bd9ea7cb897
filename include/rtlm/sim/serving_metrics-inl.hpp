// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
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

RTLM_INLINE bool meets_own_objectives(const request_record& r) noexcept {
  // NaN TTFT or TPOT (unfinished) fails the comparisons; finished() is checked first anyway.
  return r.finished() && (std::isnan(r.ttft_target) || time_to_first_token(r) <= r.ttft_target) &&
         (std::isnan(r.tpot_target) || time_per_output_token(r) <= r.tpot_target) &&
         (std::isnan(r.deadline) || r.finish <= r.deadline);
}

namespace detail {

// `count` / `of`; `empty` when `of` is 0.
inline double fraction_of(std::size_t count, std::size_t of, double empty) noexcept {
  return of > 0 ? static_cast<double>(count) / static_cast<double>(of) : empty;
}

// `count` per simulated second; 0 for a run of no simulated time.
inline double per_simulated_second(std::size_t count, double simulated_seconds) noexcept {
  return simulated_seconds > 0.0 ? static_cast<double>(count) / simulated_seconds : 0.0;
}

// The distinct values of `id` over `records`, ascending.
template <class Id>
std::vector<std::uint32_t> distinct_ids(const std::vector<request_record>& records, Id id) {
  std::vector<std::uint32_t> ids;
  ids.reserve(records.size());
  for (const request_record& r : records) ids.push_back(id(r));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  ids.shrink_to_fit();
  return ids;
}

// The position of `id` in the ascending `ids`, which holds it.
inline std::size_t position_of(const std::vector<std::uint32_t>& ids, std::uint32_t id) noexcept {
  return static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin());
}

}  // namespace detail

RTLM_INLINE std::vector<class_attainment> class_attainment_of(const simulation_result& result) {
  // no_slo_class is the largest id, so ascending order puts the classless entry last.
  const std::vector<std::uint32_t> ids =
      detail::distinct_ids(result.records, [](const request_record& r) { return r.slo_class; });
  struct target_counts {
    std::size_t ttft_targets = 0;
    std::size_t ttft_met = 0;
    std::size_t tpot_targets = 0;
    std::size_t tpot_met = 0;
  };
  std::vector<class_attainment> classes(ids.size());
  std::vector<target_counts> targets(ids.size());
  for (const request_record& r : result.records) {
    const std::size_t k = detail::position_of(ids, r.slo_class);
    class_attainment& c = classes[k];
    target_counts& t = targets[k];
    ++c.requests;
    if (r.finished()) ++c.finished;
    if (meets_own_objectives(r)) ++c.met;
    if (!std::isnan(r.ttft_target)) {
      ++t.ttft_targets;
      if (r.finished() && time_to_first_token(r) <= r.ttft_target) ++t.ttft_met;
    }
    if (!std::isnan(r.tpot_target)) {
      ++t.tpot_targets;
      if (r.finished() && time_per_output_token(r) <= r.tpot_target) ++t.tpot_met;
    }
  }
  for (std::size_t k = 0; k < ids.size(); ++k) {
    class_attainment& c = classes[k];
    c.slo_class = ids[k];
    c.ttft_attainment = detail::fraction_of(targets[k].ttft_met, targets[k].ttft_targets, 1.0);
    c.tpot_attainment = detail::fraction_of(targets[k].tpot_met, targets[k].tpot_targets, 1.0);
    c.attainment = detail::fraction_of(c.met, c.requests, 1.0);
    c.goodput = detail::per_simulated_second(c.met, result.simulated_seconds);
    c.throughput = detail::per_simulated_second(c.finished, result.simulated_seconds);
  }
  return classes;
}

RTLM_INLINE objective_summary objectives_of(const simulation_result& result) {
  objective_summary s;
  s.requests = result.records.size();
  for (const request_record& r : result.records) {
    if (meets_own_objectives(r)) ++s.met;
  }
  s.attainment = detail::fraction_of(s.met, s.requests, 1.0);
  s.goodput = detail::per_simulated_second(s.met, result.simulated_seconds);
  return s;
}

RTLM_INLINE double jain_index(std::span<const double> x) {
  double largest = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    rtlm::detail::require(std::isfinite(x[i]) && x[i] >= 0.0, "jain_index", x[i],
                          fmt::format("every value must be finite and >= 0 (x[{}] is not)", i));
    largest = std::max(largest, x[i]);
  }
  if (largest == 0.0) return 1.0;  // no values, or all 0: all equal
  double sum = 0.0;
  double squares = 0.0;
  for (const double v : x) {
    const double scaled = v / largest;  // in [0, 1]: neither sum overflows
    sum += scaled;
    squares += scaled * scaled;
  }
  return sum * sum / (static_cast<double>(x.size()) * squares);
}

RTLM_INLINE fairness_report fairness_of(const simulation_result& result, double prefill_weight,
                                        double decode_weight, double window_end) {
  rtlm::detail::require_non_negative_finite("prefill_weight", prefill_weight);
  rtlm::detail::require_non_negative_finite("decode_weight", decode_weight);
  rtlm::detail::require(std::isfinite(window_end), "window_end", window_end, "must be finite");
  const std::vector<std::uint32_t> ids =
      detail::distinct_ids(result.records, [](const request_record& r) { return r.tenant; });
  fairness_report report;
  report.tenants.resize(ids.size());
  for (std::size_t k = 0; k < ids.size(); ++k) report.tenants[k].tenant = ids[k];
  double total = 0.0;  // the service every tenant received
  for (const request_record& r : result.records) {
    if (!(r.arrival <= window_end)) continue;
    tenant_service& t = report.tenants[detail::position_of(ids, r.tenant)];
    const auto output = static_cast<double>(r.output.count());
    ++t.requests;
    t.demand += prefill_weight * static_cast<double>(r.prompt.count()) + decode_weight * output;
    if (!(r.first_token <= window_end)) continue;  // no first token (NaN) or after the window
    // The prompt and the first output token, at the first token.
    double service = prefill_weight * static_cast<double>(r.prompt.count()) +
                     decode_weight * std::min(output, 1.0);
    if (r.finished() && output > 1.0) {
      // The other output - 1 tokens, uniformly over [first_token, finish].
      const double part =
          r.finish <= window_end
              ? 1.0
              : std::clamp((window_end - r.first_token) / (r.finish - r.first_token), 0.0, 1.0);
      service += decode_weight * (output - 1.0) * part;
    }
    t.service += service;
    total += service;
  }
  // Water-filling: visit the tenants by ascending demand; each gets its demand if that is at
  // most an equal split of what is left, else it and all after it get that equal split.
  std::vector<std::size_t> order(report.tenants.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return report.tenants[a].demand < report.tenants[b].demand;
  });
  double left = total;
  for (std::size_t i = 0; i < order.size(); ++i) {
    tenant_service& t = report.tenants[order[i]];
    const double equal = std::max(left, 0.0) / static_cast<double>(order.size() - i);
    t.fair_share = std::min(t.demand, equal);
    left -= t.fair_share;
  }
  std::vector<double> ratios;
  ratios.reserve(report.tenants.size());
  for (tenant_service& t : report.tenants) {
    t.share_ratio = t.fair_share > 0.0 ? t.service / t.fair_share : 1.0;
    if (t.demand > 0.0) ratios.push_back(t.share_ratio);
  }
  report.jain = jain_index(ratios);
  return report;
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
