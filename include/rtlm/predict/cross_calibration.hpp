// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "rtlm/detail/validate.hpp"
#include "rtlm/predict/conformal_length_bound.hpp"
#include "rtlm/predict/length_predictor.hpp"

namespace rtlm {

/// A key that is equal for identical feature vectors (same dimension, same entries in the same
/// order): FNV-1a over the dimension, indices and value bits. Identical prompts extracted by the
/// same extractor get the same key, so it groups repeated prompts. O(nnz); no allocation;
/// thread-safe.
[[nodiscard]] inline std::uint64_t feature_group(const prompt_features& features) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const auto mix = [&h](std::uint64_t v) {
    for (int b = 0; b < 8; ++b) {
      h ^= (v >> (8 * b)) & 0xFFU;
      h *= 0x100000001b3ULL;
    }
  };
  mix(features.dimension());
  const auto indices = features.indices();
  const auto values = features.values();
  for (std::size_t k = 0; k < indices.size(); ++k) {
    mix(indices[k]);
    mix(std::bit_cast<std::uint64_t>(values[k]));
  }
  return h;
}

/// feature_group() of each example. O(total nnz); allocates the result.
[[nodiscard]] inline std::vector<std::uint64_t> feature_groups(
    std::span<const prompt_features> features) {
  std::vector<std::uint64_t> groups;
  groups.reserve(features.size());
  for (const prompt_features& f : features) groups.push_back(feature_group(f));
  return groups;
}

/// Assigns each example to one of `folds` folds so that examples of the same group (the same
/// prompt, repeated in a request log) share a fold: the distinct groups, sorted, are shuffled by
/// `seed` (a portable Fisher-Yates over std::mt19937_64) and the k-th goes to fold k % folds.
/// The result does not depend on the order of the examples. Throws rtlm::error naming `field`
/// when `folds` is not in 2..distinct groups. O(n log n); allocates.
[[nodiscard]] inline std::vector<std::size_t> group_folds(std::span<const std::uint64_t> groups,
                                                          std::size_t folds, std::uint64_t seed,
                                                          std::string_view field = "folds") {
  std::vector<std::uint64_t> distinct(groups.begin(), groups.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  detail::require(folds >= 2 && folds <= distinct.size(), field, folds,
                  fmt::format("must be in 2..distinct prompts ({} among {} examples)",
                              distinct.size(), groups.size()));
  std::mt19937_64 rng(seed);
  for (std::size_t i = distinct.size(); i > 1; --i) std::swap(distinct[i - 1], distinct[rng() % i]);
  std::vector<std::pair<std::uint64_t, std::size_t>> rank(distinct.size());
  for (std::size_t k = 0; k < distinct.size(); ++k) rank[k] = {distinct[k], k % folds};
  std::sort(rank.begin(), rank.end());
  std::vector<std::size_t> fold(groups.size());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const auto it = std::lower_bound(rank.begin(), rank.end(),
                                     std::pair<std::uint64_t, std::size_t>{groups[i], 0});
    fold[i] = it->second;
  }
  return fold;
}

/// Trains `predictor` on logged requests and calibrates `bound` on them without reusing a prompt
/// for both (cross-conformal): the examples are split into `folds` folds by group_folds(`groups`,
/// `seed`), so every copy of a repeated prompt lands in one fold; for each fold a copy of
/// `predictor` is fitted on the others and scores the fold into `bound`; then `predictor` itself
/// is fitted on everything. Splitting by row instead would let a copy of a test prompt sit in the
/// training folds and make the scores, hence the bound, too optimistic. The scores are those of a
/// model trained on about (folds - 1) / folds of the data, so the bound is slightly conservative
/// for the final model. Throws what fit() throws, and rtlm::error naming the field when `groups`
/// or `lengths` do not match the features or `folds` is not in 2..distinct groups. Cost:
/// folds + 1 fits. Allocates.
template <class Predictor>
requires std::derived_from<Predictor, length_predictor> && std::copy_constructible<Predictor>
void fit_and_calibrate(Predictor& predictor, std::span<const prompt_features> features,
                       std::span<const tokens> lengths, std::span<const std::uint64_t> groups,
                       conformal_length_bound& bound, std::size_t folds = 5,
                       std::uint64_t seed = 0) {
  const std::size_t n = features.size();
  detail::require(lengths.size() == n, "fit_and_calibrate.lengths", lengths.size(),
                  fmt::format("must match the features ({})", n));
  detail::require(groups.size() == n, "fit_and_calibrate.groups", groups.size(),
                  fmt::format("must match the features ({})", n));
  const std::vector<std::size_t> fold = group_folds(groups, folds, seed, "fit_and_calibrate.folds");
  std::vector<prompt_features> train_features;
  std::vector<tokens> train_lengths;
  length_distribution predicted;
  for (std::size_t f = 0; f < folds; ++f) {
    train_features.clear();
    train_lengths.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] == f) continue;
      train_features.push_back(features[i]);
      train_lengths.push_back(lengths[i]);
    }
    Predictor inner = predictor;
    inner.fit(train_features, train_lengths);
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] != f) continue;
      inner.predict(features[i], predicted);
      bound.observe(predicted, lengths[i]);
    }
  }
  predictor.fit(features, lengths);
}

/// fit_and_calibrate with each example's group its feature_group(): identical prompts (identical
/// features) share a fold. Throws rtlm::error when `folds` is not in 2..distinct prompts.
template <class Predictor>
requires std::derived_from<Predictor, length_predictor> && std::copy_constructible<Predictor>
void fit_and_calibrate(Predictor& predictor, std::span<const prompt_features> features,
                       std::span<const tokens> lengths, conformal_length_bound& bound,
                       std::size_t folds = 5, std::uint64_t seed = 0) {
  const std::vector<std::uint64_t> groups = feature_groups(features);
  fit_and_calibrate(predictor, features, lengths, std::span<const std::uint64_t>(groups), bound,
                    folds, seed);
}

/// One example's out-of-fold prediction from cross_validate. Plain data.
struct out_of_fold_prediction {
  std::size_t fold = 0;              ///< the fold it was scored in
  double mean = 0.0;                 ///< predicted mean, tokens
  double median = 0.0;               ///< predicted median, tokens
  double uncertainty = 0.0;          ///< the distribution's uncertainty score
  std::vector<length_bound> bounds;  ///< the bound at each coverage asked, calibrated inside the
                                     ///< training folds
};

/// Grouped k-fold cross-validation of a predictor with its calibrated bound, as rtlm's evaluation
/// program (eval_length_predictor) and the Python helper run it: folds by group_folds(`groups`,
/// `seed`); for each fold a copy of `prototype` is trained and calibrated by fit_and_calibrate on
/// the other folds (5 inner folds, seed + 1, the same groups) into a bound of `bound_config`, then
/// predicts each example of the fold and bounds it at each of `coverages`. Throws what
/// fit_and_calibrate throws, naming cross_validate's fields. Cost: folds x 6 fits. Allocates.
template <class Predictor>
requires std::derived_from<Predictor, length_predictor> && std::copy_constructible<Predictor>
[[nodiscard]] std::vector<out_of_fold_prediction> cross_validate(
    const Predictor& prototype, std::span<const prompt_features> features,
    std::span<const tokens> lengths, std::span<const std::uint64_t> groups,
    std::span<const double> coverages, std::size_t folds = 5, std::uint64_t seed = 0,
    conformal_bound_config bound_config = {}) {
  const std::size_t n = features.size();
  detail::require(lengths.size() == n, "cross_validate.lengths", lengths.size(),
                  fmt::format("must match the features ({})", n));
  detail::require(groups.size() == n, "cross_validate.groups", groups.size(),
                  fmt::format("must match the features ({})", n));
  const std::vector<std::size_t> fold = group_folds(groups, folds, seed, "cross_validate.folds");
  std::vector<out_of_fold_prediction> out(n);
  std::vector<prompt_features> train_features;
  std::vector<tokens> train_lengths;
  std::vector<std::uint64_t> train_groups;
  length_distribution d;
  for (std::size_t f = 0; f < folds; ++f) {
    train_features.clear();
    train_lengths.clear();
    train_groups.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] == f) continue;
      train_features.push_back(features[i]);
      train_lengths.push_back(lengths[i]);
      train_groups.push_back(groups[i]);
    }
    Predictor model = prototype;
    conformal_length_bound bound(bound_config);
    fit_and_calibrate(model, std::span<const prompt_features>(train_features),
                      std::span<const tokens>(train_lengths),
                      std::span<const std::uint64_t>(train_groups), bound, 5, seed + 1);
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] != f) continue;
      model.predict(features[i], d);
      out_of_fold_prediction& o = out[i];
      o.fold = f;
      o.mean = d.mean();
      o.median = d.quantile_value(0.5);
      o.uncertainty = d.uncertainty();
      o.bounds.clear();
      for (double q : coverages) o.bounds.push_back(bound.bound(d, q));
    }
  }
  return out;
}

}  // namespace rtlm
