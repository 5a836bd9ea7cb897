// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtlm/detail/csv.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/sim/length_noise.hpp"

namespace rtlm::sim {

RTLM_INLINE length_noise_model::length_noise_model(std::span<const length_error_sample> samples,
                                                   double bound_coverage, std::string source)
    : bound_coverage_(bound_coverage), source_(std::move(source)) {
  using rtlm::detail::require;
  require(!samples.empty(), "length_noise_model.samples", "empty", "must hold at least one sample");
  require(std::isfinite(bound_coverage) && bound_coverage > 0.0 && bound_coverage < 1.0,
          "length_noise_model.bound_coverage", bound_coverage, "must be in (0, 1)");
  std::array<std::size_t, bucket_count> counts{};
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const length_error_sample& s = samples[i];
    const std::string field = fmt::format("length_noise_model.samples[{}]", i);
    require(s.true_length.count() >= 1, field + ".true_length", s.true_length, "must be >= 1");
    rtlm::detail::require_non_negative_finite(field + ".predicted_mean", s.predicted_mean);
    require(s.bound.count() >= 1, field + ".bound", s.bound, "must be >= 1");
    rtlm::detail::require_non_negative_finite(field + ".uncertainty", s.uncertainty);
    ++counts[bucket_of(s.true_length)];
  }
  // A stable counting sort by bucket, so each bucket keeps the samples' given order.
  for (std::size_t b = 0; b < bucket_count; ++b) begin_[b + 1] = begin_[b] + counts[b];
  samples_.resize(samples.size());
  std::array<std::size_t, bucket_count> next{};
  std::copy_n(begin_.begin(), bucket_count, next.begin());
  for (const length_error_sample& s : samples) samples_[next[bucket_of(s.true_length)]++] = s;
  // Each bucket is served by the nearest non-empty one, the shorter on a tie; one exists.
  const auto filled = [&](std::size_t b) { return begin_[b + 1] > begin_[b]; };
  for (std::size_t b = 0; b < bucket_count; ++b) {
    for (std::size_t d = 0; d < bucket_count; ++d) {
      if (d <= b && filled(b - d)) {
        serving_[b] = b - d;
        break;
      }
      if (b + d < bucket_count && filled(b + d)) {
        serving_[b] = b + d;
        break;
      }
    }
  }
}

RTLM_INLINE std::size_t length_noise_model::bucket_of(tokens length) noexcept {
  const auto n = static_cast<std::uint64_t>(std::max<tokens::rep>(length.count(), 1));
  return static_cast<std::size_t>(std::bit_width(n)) - 1;
}

RTLM_INLINE length_estimate length_noise_model::predict(tokens true_length,
                                                        std::uint64_t key) const noexcept {
  const tokens::rep length = std::max<tokens::rep>(true_length.count(), 1);
  const std::size_t b = serving_[bucket_of(tokens(length))];
  const std::size_t size = begin_[b + 1] - begin_[b];
  const length_error_sample& s = samples_[begin_[b] + detail::splitmix64(key) % size];
  const auto l = static_cast<double>(length);
  const auto t = static_cast<double>(s.true_length.count());
  // Multiplying before dividing keeps the sample's own bound exact when length == true_length.
  const double upper = std::ceil(l * static_cast<double>(s.bound.count()) / t);
  constexpr double largest = 0x1p62;  // 2^62 tokens: far above any length, and fits tokens::rep
  return {.mean_tokens = l * s.predicted_mean / t,
          .upper_bound = tokens(static_cast<tokens::rep>(std::clamp(upper, 1.0, largest))),
          .bound_coverage = bound_coverage_,
          .uncertainty = s.uncertainty};
}

RTLM_INLINE std::string length_noise_model::describe() const {
  return fmt::format("noise model calibrated to {} ({} prompts)", source_, samples_.size());
}

RTLM_INLINE length_noise_model load_length_errors(const std::string& path,
                                                  const std::string& generator) {
  using rtlm::detail::require;
  rtlm::detail::line_reader in(path);
  std::string line;
  std::vector<std::string_view> fields;
  std::vector<std::string> generators;  // in order of first appearance
  std::vector<length_error_sample> samples;
  bool header = false;
  while (in.next(line)) {
    if (!header) {
      require(line == length_errors_header, in.where() + " header", line,
              fmt::format("must be '{}'", length_errors_header));
      header = true;
      continue;
    }
    if (line.empty()) continue;
    const std::string where = in.where();
    rtlm::detail::split_csv(line, fields);
    require(fields.size() == 5, where, line,
            fmt::format("a row must have 5 fields: {}", length_errors_header));
    require(!fields[0].empty(), where + " generator", "''", "must not be empty");
    const std::int64_t truth = rtlm::detail::parse_integer(where + " true_tokens", fields[1]);
    require(truth >= 1, where + " true_tokens", truth, "must be >= 1");
    const double mean = rtlm::detail::parse_double(where + " predicted_mean", fields[2]);
    require(mean >= 0.0, where + " predicted_mean", mean, "must be >= 0");
    const std::int64_t bound = rtlm::detail::parse_integer(where + " bound_q90", fields[3]);
    require(bound >= 1, where + " bound_q90", bound, "must be >= 1");
    const double uncertainty = rtlm::detail::parse_double(where + " uncertainty", fields[4]);
    require(uncertainty >= 0.0, where + " uncertainty", uncertainty, "must be >= 0");
    if (std::find(generators.begin(), generators.end(), fields[0]) == generators.end()) {
      generators.emplace_back(fields[0]);
    }
    if (fields[0] == generator) {
      samples.push_back({.true_length = tokens(truth),
                         .predicted_mean = mean,
                         .bound = tokens(bound),
                         .uncertainty = uncertainty});
    }
  }
  require(header, path, "empty",
          fmt::format("must start with the header '{}'", length_errors_header));
  if (samples.empty()) {
    std::string present;
    for (const std::string& g : generators) present += (present.empty() ? "" : ", ") + g;
    throw rtlm::error("generator", generator,
                      fmt::format("has no rows in {} (generators there: {})", path,
                                  present.empty() ? "none" : present));
  }
  return length_noise_model(
      samples, 0.9,
      fmt::format("the cross-validated length-prediction errors for {} in {}", generator, path));
}

}  // namespace rtlm::sim
