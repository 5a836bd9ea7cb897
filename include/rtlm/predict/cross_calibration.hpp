// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

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

/// Trains `predictor` on logged requests and calibrates `bound` on them without reusing a request
/// for both (cross-conformal): the examples are split into `folds` folds by `seed`; for each fold a
/// copy of `predictor` is fitted on the others and scores the fold into `bound`; then `predictor`
/// itself is fitted on everything. The scores are those of a model trained on (folds - 1) / folds
/// of the data, so the bound is slightly conservative for the final model. Throws what fit()
/// throws, and rtlm::error when `folds` is not in 2..examples. Cost: folds + 1 fits. Allocates.
template <class Predictor>
requires std::derived_from<Predictor, length_predictor> && std::copy_constructible<Predictor>
void fit_and_calibrate(Predictor& predictor, std::span<const prompt_features> features,
                       std::span<const tokens> lengths, conformal_length_bound& bound,
                       std::size_t folds = 5, std::uint64_t seed = 0) {
  const std::size_t n = features.size();
  detail::require(folds >= 2 && folds <= n, "fit_and_calibrate.folds", folds,
                  fmt::format("must be in 2..examples ({})", n));
  detail::require(lengths.size() == n, "fit_and_calibrate.lengths", lengths.size(),
                  fmt::format("must match the features ({})", n));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  std::vector<prompt_features> train_features;
  std::vector<tokens> train_lengths;
  length_distribution predicted;
  for (std::size_t fold = 0; fold < folds; ++fold) {
    train_features.clear();
    train_lengths.clear();
    for (std::size_t k = 0; k < n; ++k) {
      if (k % folds == fold) continue;
      train_features.push_back(features[order[k]]);
      train_lengths.push_back(lengths[order[k]]);
    }
    Predictor inner = predictor;
    inner.fit(train_features, train_lengths);
    for (std::size_t k = fold; k < n; k += folds) {
      inner.predict(features[order[k]], predicted);
      bound.observe(predicted, lengths[order[k]]);
    }
  }
  predictor.fit(features, lengths);
}

}  // namespace rtlm
