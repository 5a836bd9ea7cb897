// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/sim/trace.hpp"

namespace rtlm::sim {

/// The lengths of one request, without a time. Plain data.
struct request_lengths {
  tokens prompt;  ///< prompt tokens, >= 0
  tokens output;  ///< true output tokens, >= 1
};

/// A workload's lengths without arrival times (ShareGPT's, or a trace's): give it arrivals with
/// with_arrivals(). Plain data.
struct length_set {
  std::string name;  ///< where it came from, for reports
  std::vector<request_lengths> requests;
};

/// Reads a set of request lengths: a CSV with the header
/// `num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio` (sarathi-serve's ShareGPT
/// statistics, `benchmarks/data/sharegpt/`; the total must be the sum and pd_ratio the quotient
/// of the first two, to a relative 1e-6) or `input_length,output_length`, one request per row,
/// in file order. Throws rtlm::error naming `path:line` and the column for a malformed row (a
/// count that is not a whole number, a negative prompt, an output under 1, a wrong number of
/// fields, an inconsistent total or ratio), and for a missing file or header, a directory or a
/// path that is not a regular file (a FIFO is refused before it is read); nothing is skipped
/// silently but empty lines. A UTF-8 byte-order mark is skipped. O(rows); allocates the set.
[[nodiscard]] length_set load_length_set(const std::string& path);

/// The lengths of `t`'s requests, in its order (its times dropped). O(requests); allocates.
[[nodiscard]] length_set lengths_of(const trace& t);

/// How arrivals are spaced: a renewal process whose gaps have mean 1 / rate.
struct arrival_process {
  enum class kind : std::uint8_t {
    poisson,  ///< exponential gaps (coefficient of variation 1)
    gamma,    ///< gamma gaps with coefficient of variation `cv`: above 1 bursty, below 1 smooth
  };
  kind process = kind::poisson;
  double rate = 1.0;  ///< mean arrivals per second, finite and > 0
  double cv = 1.0;    ///< gamma only: the gaps' standard deviation over their mean, in (0, 1000]

  /// Throws rtlm::error naming `arrival_process.rate` or `arrival_process.cv` and the value
  /// unless they are in range (cv is checked for gamma only). O(1).
  void validate() const;
};

inline constexpr std::string_view arrival_process_kind_names[] = {"poisson", "gamma"};

/// The name of `k`, equal to its enumerator ("poisson", "gamma"). O(1); no allocation;
/// thread-safe.
[[nodiscard]] constexpr std::string_view to_string(arrival_process::kind k) noexcept {
  return rtlm::detail::enum_name(k, arrival_process_kind_names);
}

/// The process kind named `name` (as to_string() writes it), or nullopt. O(kinds); no
/// allocation; thread-safe.
[[nodiscard]] constexpr std::optional<arrival_process::kind> arrival_process_kind_from_string(
    std::string_view name) noexcept {
  return rtlm::detail::enum_from_name<arrival_process::kind>(name, arrival_process_kind_names);
}

/// The most requests inject_burst() adds at once: 2^24, the most simulate() holds live.
inline constexpr std::size_t max_burst_requests = std::size_t{1} << 24;

/// A trace of `lengths`' requests, in its order, arriving as `arrivals` says: the first at 0,
/// each next one a gap later, gaps drawn independently (exponential with mean 1 / rate for
/// Poisson; gamma with shape 1 / cv^2 and scale cv^2 / rate, Marsaglia and Tsang's method, for
/// gamma, whose cv 1 gives exactly the Poisson trace). Deterministic for a seed, and portable:
/// SplitMix64 and rtlm's own sampling, no std distribution. Named after the set, the process
/// and the seed. Throws rtlm::error for an invalid process (arrival_process::validate) and,
/// naming `arrival_process.rate`, when the last arrival would come after max_time_seconds
/// (4e9 s). O(requests); allocates the trace.
///
/// @code
/// const rtlm::sim::length_set sharegpt = rtlm::sim::load_length_set(
///     "benchmarks/data/sharegpt/sharegpt_8k_filtered_stats_llama2_tokenizer.csv");
/// const rtlm::sim::trace t = rtlm::sim::with_arrivals(
///     sharegpt, {.process = rtlm::sim::arrival_process::kind::gamma, .rate = 8.0, .cv = 2.0},
///     /*seed=*/1);
/// @endcode
[[nodiscard]] trace with_arrivals(const length_set& lengths, const arrival_process& arrivals,
                                  std::uint64_t seed);

/// `t` with `n` requests added at `at_seconds`, after every request of `t` that arrives by then
/// (the order of `t`'s requests is kept); each one's lengths (and prefix blocks) are those of a
/// request of `t` drawn uniformly, with replacement, by a SplitMix64 stream of `seed`. Throws
/// rtlm::error naming the field unless n is in [1, max_burst_requests] (`n`), at_seconds is finite
/// and in [0, max_time_seconds = 4e9] (`at_seconds`), and `t` has requests in time order (`trace`).
/// O(requests
/// + n); allocates the trace.
[[nodiscard]] trace inject_burst(const trace& t, std::size_t n, double at_seconds,
                                 std::uint64_t seed);

/// `t` with every arrival at 0, in its order: vllm-ltr's burst mode, all requests queued at
/// once. O(requests); allocates the trace.
[[nodiscard]] trace all_at_once(const trace& t);

}  // namespace rtlm::sim

#ifdef RTLM_HEADER_ONLY
#include "rtlm/sim/workload-inl.hpp"
#endif
