// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"

namespace rtlm::sim {

/// One measured prediction of a real length predictor: what it said about a request before the
/// request ran, and how long the answer turned out to be. Plain data.
struct length_error_sample {
  tokens true_length;           ///< the length the served model generated, >= 1
  double predicted_mean = 0.0;  ///< the predictor's mean, tokens, finite and >= 0
  tokens bound;                 ///< the predictor's calibrated upper bound, tokens, >= 1
  double uncertainty = 0.0;     ///< the predicted distribution's uncertainty score, >= 0
};

/// Output-length predictions for requests that have no prompt text (Azure and Mooncake traces
/// give only token counts), made from the real predictor's measured multiplicative error,
/// conditioned on the true length's log2 bucket.
///
/// Built from calibration samples: for each, a real predictor's out-of-sample prediction (mean,
/// upper bound at `bound_coverage`, uncertainty) and the true length. `predict(L, key)` takes the
/// samples whose true length lies in the same log2 bucket [2^b, 2^(b+1)) as L (or, when that
/// bucket is empty, in the nearest non-empty one, the shorter on a tie), picks one of them, i,
/// by a SplitMix64 hash of `key`, and scales it to L:
/// mean = L * predicted_mean_i / true_i, upper_bound = ceil(L * bound_i / true_i),
/// uncertainty = uncertainty_i. So over many keys the ratios predicted / true of a bucket's
/// requests reproduce those the real predictor made on requests of that size, and a request
/// keeps its prediction across runs and platforms (no std distribution is involved).
/// The estimates carry `bound_coverage`, but their bounds cover that fraction only of lengths
/// distributed as the calibration set's: within one bucket they cover what the real predictor's
/// bounds covered there (docs/length-prediction.md, "In simulation"), so a simulation should
/// report the coverage it observes.
///
/// @code
/// const rtlm::sim::length_noise_model noise = rtlm::sim::load_length_errors(
///     "benchmarks/data/length_errors/alpaca_eval_cv.csv", "Meta-Llama-3-8B-Instruct");
/// fmt::print("length prediction: {}\n", noise.describe());
/// request.predicted_length = noise.predict(trace_request.output, request_index);
/// @endcode
///
/// Immutable after construction: every const method is thread-safe.
class length_noise_model {
 public:
  /// Samples in log2 buckets of the true length: bucket b holds [2^b, 2^(b+1)) tokens.
  static constexpr std::size_t bucket_count = 64;

  /// Builds the model from `samples` (copied and grouped by bucket; each bucket keeps the order
  /// given). `bound_coverage` is the coverage the samples' bounds were calibrated for, in (0, 1);
  /// `source` says where the samples came from, for describe(). Throws rtlm::error naming the
  /// field (`length_noise_model.samples[i].true_length`, ...) when `samples` is empty or a sample
  /// is out of range. O(n), allocates.
  explicit length_noise_model(std::span<const length_error_sample> samples,
                              double bound_coverage = 0.9,
                              std::string source = "measured predictions");

  /// The prediction for a request whose true output length is `true_length` (values below 1
  /// count as 1), chosen by `key` (a request id, a trace index): the same arguments always give
  /// the same estimate. O(1), no allocation.
  [[nodiscard]] length_estimate predict(tokens true_length, std::uint64_t key) const noexcept;

  /// "noise model calibrated to <source> (<n> prompts)", to state in a simulation's output.
  [[nodiscard]] std::string describe() const;

  /// The calibration samples, grouped by bucket (shortest first), in the given order within one.
  [[nodiscard]] std::span<const length_error_sample> samples() const noexcept { return samples_; }
  /// The coverage the samples' bounds were calibrated for, as every estimate states it.
  [[nodiscard]] double bound_coverage() const noexcept { return bound_coverage_; }
  /// Where the samples came from, as given at construction.
  [[nodiscard]] const std::string& source() const noexcept { return source_; }

  /// The log2 bucket of a length: floor(log2(max(length, 1))). O(1).
  [[nodiscard]] static std::size_t bucket_of(tokens length) noexcept;

 private:
  std::vector<length_error_sample> samples_;           // grouped by bucket
  std::array<std::size_t, bucket_count + 1> begin_{};  // bucket b: [begin_[b], begin_[b + 1])
  std::array<std::size_t, bucket_count> serving_{};    // the non-empty bucket that serves b
  double bound_coverage_;
  std::string source_;
};

/// The column header of a length-error file.
inline constexpr std::string_view length_errors_header =
    "generator,true_tokens,predicted_mean,bound_q90,uncertainty";

/// Reads a length-error file and builds the noise model for one served model. The file is CSV
/// with the header `generator,true_tokens,predicted_mean,bound_q90,uncertainty` and one row per
/// (served model, prompt): the model's true output length and a real predictor's out-of-fold
/// prediction for that prompt (its mean, its calibrated 90% upper bound, its uncertainty);
/// `eval_length_predictor --errors PATH` writes one (benchmarks/data/length_errors/README.md).
/// Empty lines are skipped. Throws rtlm::error naming `path:line` and the column for a
/// malformed row (a wrong field count, a non-number, a true length or bound below 1, a negative
/// mean or uncertainty), `path:1 header` for a wrong header, the path when it cannot be read, and
/// `generator` (listing the generators present) when no row is for `generator`. O(file size).
[[nodiscard]] length_noise_model load_length_errors(const std::string& path,
                                                    const std::string& generator);

namespace detail {

/// SplitMix64's output function (Steele, Lea and Flood, 2014): a fixed bijective mix of the 64
/// bits of `x`, the same on every platform. splitmix64(0) == 0xe220a8397b1dcdaf.
[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31U);
}

}  // namespace detail

}  // namespace rtlm::sim

#ifdef RTLM_HEADER_ONLY
#include "rtlm/sim/length_noise-inl.hpp"
#endif
