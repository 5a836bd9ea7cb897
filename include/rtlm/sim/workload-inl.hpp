// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/detail/csv.hpp"
#include "rtlm/detail/split_mix64.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/sim/workload.hpp"

namespace rtlm::sim {

namespace detail {

// A whole count of `column` in [min, 1e9); throws rtlm::error naming `where column`.
inline tokens parse_count(const std::string& where, std::string_view column, std::string_view text,
                          std::int64_t min) {
  const std::string field = where + " " + std::string(column);
  const double v = rtlm::detail::parse_double(field, text);
  rtlm::detail::require(v >= static_cast<double>(min) && v == std::floor(v) && v < 1e9, field, v,
                        min == 0 ? "must be a whole number >= 0" : "must be a whole number >= 1");
  return tokens(static_cast<tokens::rep>(v));
}

}  // namespace detail

RTLM_INLINE length_set load_length_set(const std::string& path) {
  rtlm::detail::line_reader in(path);
  length_set set{.name = path, .requests = {}};
  constexpr std::string_view sarathi =
      "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio";
  constexpr std::string_view plain = "input_length,output_length";
  std::string line;
  std::vector<std::string_view> fields;
  std::string_view header;
  while (in.next(line)) {
    if (header.empty()) {
      if (line == sarathi) {
        header = sarathi;
      } else if (line == plain) {
        header = plain;
      } else {
        throw rtlm::error(in.where() + " header", line,
                          fmt::format("must be '{}' or '{}'", sarathi, plain));
      }
      continue;
    }
    if (line.empty()) continue;
    const std::string where = in.where();
    rtlm::detail::split_csv(line, fields);
    const bool four = header == sarathi;
    rtlm::detail::require(fields.size() == (four ? 4U : 2U), where, line,
                          four ? "a row must have 4 fields" : "a row must have 2 fields");
    const tokens prompt =
        detail::parse_count(where, four ? "num_prefill_tokens" : "input_length", fields[0], 0);
    const tokens output =
        detail::parse_count(where, four ? "num_decode_tokens" : "output_length", fields[1], 1);
    if (four) {
      const tokens total = detail::parse_count(where, "num_total_tokens", fields[2], 0);
      rtlm::detail::require(total == prompt + output, where + " num_total_tokens", total,
                            "must be num_prefill_tokens + num_decode_tokens");
      const double ratio = rtlm::detail::parse_double(where + " pd_ratio", fields[3]);
      const double expected =
          static_cast<double>(prompt.count()) / static_cast<double>(output.count());
      rtlm::detail::require(std::abs(ratio - expected) <= 1e-6 * expected, where + " pd_ratio",
                            ratio, "must be num_prefill_tokens / num_decode_tokens");
    }
    set.requests.push_back({.prompt = prompt, .output = output});
  }
  rtlm::detail::require(!header.empty(), path, "empty", "must start with its header");
  return set;
}

RTLM_INLINE length_set lengths_of(const trace& t) {
  length_set set{.name = t.name, .requests = {}};
  set.requests.reserve(t.requests.size());
  for (const trace_request& r : t.requests) {
    set.requests.push_back({.prompt = r.prompt, .output = r.output});
  }
  return set;
}

RTLM_INLINE void arrival_process::validate() const {
  rtlm::detail::require_positive_finite("arrival_process.rate", rate);
  if (process == kind::gamma) {
    rtlm::detail::require(std::isfinite(cv) && cv > 0.0 && cv <= 1000.0, "arrival_process.cv", cv,
                          "must be in (0, 1000]");
  }
}

RTLM_INLINE trace with_arrivals(const length_set& lengths, const arrival_process& arrivals,
                                std::uint64_t seed) {
  arrivals.validate();
  const bool poisson = arrivals.process == arrival_process::kind::poisson;
  trace t{.name = poisson ? fmt::format("{} with Poisson arrivals at {} requests/s (seed {})",
                                        lengths.name, arrivals.rate, seed)
                          : fmt::format("{} with gamma arrivals at {} requests/s, CV {} (seed {})",
                                        lengths.name, arrivals.rate, arrivals.cv, seed),
          .requests = {}};
  t.requests.reserve(lengths.requests.size());
  // Gamma gaps: shape k = 1 / cv^2, scale cv^2 / rate, so mean 1 / rate and CV cv.
  const double shape = poisson ? 1.0 : 1.0 / (arrivals.cv * arrivals.cv);
  const double scale = 1.0 / (shape * arrivals.rate);
  rtlm::detail::split_mix64 rng(seed);
  double now = 0.0;
  for (std::size_t i = 0; i < lengths.requests.size(); ++i) {
    if (i > 0) now += scale * rtlm::detail::unit_gamma(rng, shape);
    if (!(now <= rtlm::max_time_seconds)) {
      throw rtlm::error("arrival_process.rate", fmt::format("{}", arrivals.rate),
                        fmt::format("is too low for {} requests: request {} would arrive {} s "
                                    "after the first, beyond 4e9 s",
                                    lengths.requests.size(), i, now));
    }
    const request_lengths& l = lengths.requests[i];
    t.requests.push_back({.arrival = now, .prompt = l.prompt, .output = l.output});
  }
  return t;
}

RTLM_INLINE trace inject_burst(const trace& t, std::size_t n, double at_seconds,
                               std::uint64_t seed) {
  rtlm::detail::require(n >= 1 && n <= max_burst_requests, "n", n, "must be in [1, 2^24]");
  rtlm::detail::require(
      std::isfinite(at_seconds) && at_seconds >= 0.0 && at_seconds <= rtlm::max_time_seconds,
      "at_seconds", at_seconds, "must be seconds in [0, 4e9]");
  rtlm::detail::require(!t.requests.empty(), "trace", t.name,
                        "must have requests (a burst draws its lengths from them)");
  for (std::size_t i = 1; i < t.requests.size(); ++i) {
    // NaN fails the comparison too.
    rtlm::detail::require(t.requests[i].arrival >= t.requests[i - 1].arrival,
                          fmt::format("trace request {}: arrival", i), t.requests[i].arrival,
                          "must not be before the previous request's (a trace is in time order)");
  }
  trace out{.name = fmt::format("{} + a burst of {} at {} s", t.name, n, at_seconds),
            .requests = {}};
  out.requests.reserve(t.requests.size() + n);
  const auto split =
      std::upper_bound(t.requests.begin(), t.requests.end(), at_seconds,
                       [](double at, const trace_request& r) { return at < r.arrival; });
  out.requests.insert(out.requests.end(), t.requests.begin(), split);
  const bool blocks = !t.prefix_blocks.empty();
  const auto first_after = split - t.requests.begin();
  if (blocks) {
    out.prefix_block_tokens = t.prefix_block_tokens;
    out.prefix_blocks.assign(t.prefix_blocks.begin(), t.prefix_blocks.begin() + first_after);
  }
  rtlm::detail::split_mix64 rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t drawn = rng.below(t.requests.size());
    const trace_request& like = t.requests[drawn];
    out.requests.push_back({.arrival = at_seconds, .prompt = like.prompt, .output = like.output});
    if (blocks) out.prefix_blocks.push_back(t.prefix_blocks[drawn]);  // the same prompt
  }
  out.requests.insert(out.requests.end(), split, t.requests.end());
  if (blocks) {
    out.prefix_blocks.insert(out.prefix_blocks.end(), t.prefix_blocks.begin() + first_after,
                             t.prefix_blocks.end());
  }
  return out;
}

RTLM_INLINE trace all_at_once(const trace& t) {
  trace out = t;
  out.name = t.name + " (all at once)";
  for (trace_request& r : out.requests) r.arrival = 0.0;
  return out;
}

}  // namespace rtlm::sim
