// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>
#include <Eigen/Dense>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "rtlm/detail/nnls.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/estimator_fitting.hpp"

namespace rtlm {
namespace detail {

// Fold of each of `n` items: a seeded Fisher-Yates shuffle (portable, unlike std::shuffle), then
// round-robin.
inline std::vector<std::size_t> assign_folds(std::size_t n, std::size_t folds, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  std::vector<std::size_t> fold(n);
  for (std::size_t i = 0; i < n; ++i) fold[order[i]] = i % folds;
  return fold;
}

inline void check_fit_options(const estimator_fit_options& options) {
  require(options.folds >= 2, "estimator_fit_options.folds", options.folds, "must be at least 2");
  require(!options.prefill_candidates.empty() && options.prefill_candidates.size() <= 16,
          "estimator_fit_options.prefill_candidates", options.prefill_candidates.size(),
          "must list 1 to 16 features");
  require(
      !options.single_decode_candidates.empty() && options.single_decode_candidates.size() <= 16,
      "estimator_fit_options.single_decode_candidates", options.single_decode_candidates.size(),
      "must list 1 to 16 features");
  require(
      !options.batched_decode_candidates.empty() && options.batched_decode_candidates.size() <= 16,
      "estimator_fit_options.batched_decode_candidates", options.batched_decode_candidates.size(),
      "must list 1 to 16 features");
}

// Every point of `prof` within the limits of validate_profile_point: a point that reaches a fit
// by API rather than through a loader is held to what the loaders check.
inline void check_profile_points(const profile& prof) {
  for (std::size_t i = 0; i < prof.points.size(); ++i) {
    validate_profile_point(prof.points[i], fmt::format("profile '{}' point {}", prof.source, i));
  }
}

inline step_feature_vector point_features(const step_featurizer& f, const profile_point& p) {
  if (p.phase == step_phase::decode) return f.decode(p.kv_lengths);
  if (p.batch() == 1) return f.prefill(p.new_tokens, p.kv_lengths.front());
  return f.prefill(p.new_tokens_per_sequence(), p.kv_lengths);
}

// The points of one phase, with their features and medians.
struct phase_data {
  std::vector<const profile_point*> points;
  Eigen::MatrixXd features;  // points x step_feature_count
  Eigen::VectorXd medians;
  Eigen::VectorXd offsets;  // a base model's prediction the fit adds to (zero: none)
};

// The measured points for which `keep(point)`.
template <class Keep>
phase_data collect_points(const step_featurizer& f, const profile& prof, Keep keep) {
  phase_data d;
  for (const profile_point& p : prof.points) {
    if (keep(p) && !p.measurements.empty()) d.points.push_back(&p);
  }
  const auto rows = static_cast<Eigen::Index>(d.points.size());
  d.features.resize(rows, static_cast<Eigen::Index>(step_feature_count));
  d.medians.resize(rows);
  d.offsets = Eigen::VectorXd::Zero(rows);
  for (Eigen::Index i = 0; i < rows; ++i) {
    const profile_point& p = *d.points[static_cast<std::size_t>(i)];
    const step_feature_vector v = point_features(f, p);
    for (std::size_t j = 0; j < step_feature_count; ++j)
      d.features(i, static_cast<Eigen::Index>(j)) = v[j];
    d.medians(i) = p.median().count();
  }
  return d;
}

// NNLS on relative error over the rows where `use(row)`, restricted to the columns `cols`.
template <class UseRow>
step_feature_vector fit_columns(const phase_data& d, const std::vector<std::size_t>& cols,
                                UseRow use) {
  std::vector<Eigen::Index> rows;
  for (Eigen::Index i = 0; i < d.features.rows(); ++i)
    if (use(static_cast<std::size_t>(i))) rows.push_back(i);
  Eigen::MatrixXd a(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(cols.size()));
  Eigen::VectorXd b(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    b(static_cast<Eigen::Index>(r)) = 1.0 - d.offsets(rows[r]) / d.medians(rows[r]);
    for (std::size_t c = 0; c < cols.size(); ++c) {
      // Dividing each row by its measured time makes the residual relative.
      a(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) =
          d.features(rows[r], static_cast<Eigen::Index>(cols[c])) / d.medians(rows[r]);
    }
  }
  step_feature_vector coef{};
  if (cols.empty()) return coef;
  const Eigen::VectorXd x = nnls(a, b);
  for (std::size_t c = 0; c < cols.size(); ++c) coef[cols[c]] = x(static_cast<Eigen::Index>(c));
  return coef;
}

inline double predict_row(const phase_data& d, Eigen::Index row, const step_feature_vector& coef) {
  double sum = d.offsets(row);
  for (std::size_t j = 0; j < step_feature_count; ++j)
    sum += coef[j] * d.features(row, static_cast<Eigen::Index>(j));
  return sum;
}

// Fits one group of points: subset search by cross-validation, final fit, and the out-of-fold
// residuals of every measurement, by regime.
struct group_fit {
  step_feature_vector coefficients{};
  phase_fit_report report;
  std::array<std::vector<double>, step_regime_count> residuals;
};

inline group_fit fit_phase(const phase_data& d, const std::vector<step_feature>& candidates,
                           const estimator_fit_options& options, const std::string& what) {
  const std::size_t n = d.points.size();
  require(n >= 3, what, n, "must have at least 3 points to fit");
  std::set<std::tuple<tokens, std::vector<tokens>>> shapes;
  for (const profile_point* p : d.points) shapes.emplace(p->new_tokens, p->kv_lengths);
  require(shapes.size() >= 3, what, fmt::format("{} distinct shapes", shapes.size()),
          "must have at least 3 distinct step shapes to fit (the system is singular)");
  const std::size_t folds = std::min(options.folds, n);
  const std::vector<std::size_t> fold = assign_folds(n, folds, options.seed);

  // Out-of-fold predictions of the points with the feature columns `cols`.
  const auto cross_predict = [&](const std::vector<std::size_t>& cols) {
    std::vector<double> out(n);
    for (std::size_t k = 0; k < folds; ++k) {
      const step_feature_vector coef =
          fit_columns(d, cols, [&](std::size_t i) { return fold[i] != k; });
      for (std::size_t i = 0; i < n; ++i)
        if (fold[i] == k) out[i] = predict_row(d, static_cast<Eigen::Index>(i), coef);
    }
    return out;
  };

  std::vector<std::size_t> best_cols;
  bool have_best = false;
  double best_error = std::numeric_limits<double>::infinity();
  const std::size_t subsets = std::size_t{1} << candidates.size();
  // With a base model underneath, "no correction" (the empty subset) is a candidate too.
  const std::size_t first_mask = d.offsets.isZero() ? 1 : 0;
  for (std::size_t mask = first_mask; mask < subsets; ++mask) {
    std::vector<std::size_t> cols;
    for (std::size_t j = 0; j < candidates.size(); ++j)
      if (((mask >> j) & 1U) != 0) cols.push_back(static_cast<std::size_t>(candidates[j]));
    const std::vector<double> predicted = cross_predict(cols);
    double error = 0;
    for (std::size_t i = 0; i < n; ++i)
      error += std::abs(predicted[i] - d.medians(static_cast<Eigen::Index>(i))) /
               d.medians(static_cast<Eigen::Index>(i));
    error /= static_cast<double>(n);
    // Prefer the smaller subset on a tie: it generalizes at least as well.
    if (!have_best || error < best_error - 1e-12 ||
        (std::abs(error - best_error) <= 1e-12 && cols.size() < best_cols.size())) {
      have_best = true;
      best_error = error;
      best_cols = cols;
    }
  }

  group_fit fit;
  fit.coefficients = fit_columns(d, best_cols, [](std::size_t) { return true; });
  const std::vector<double> out_of_fold = cross_predict(best_cols);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double>& into = fit.residuals[static_cast<std::size_t>(regime_of(*d.points[i]))];
    for (const seconds m : d.points[i]->measurements)
      into.push_back(m.count() / out_of_fold[i] - 1.0);
    fit.report.measurements += d.points[i]->measurements.size();
  }
  for (std::size_t c : best_cols) fit.report.selected.push_back(static_cast<step_feature>(c));
  fit.report.cv_mape = best_error;
  fit.report.points = n;
  return fit;
}

// Ordinary least squares of y on the columns of x.
inline Eigen::VectorXd least_squares(const Eigen::MatrixXd& x, const Eigen::VectorXd& y) {
  return x.colPivHouseholderQr().solve(y);
}

}  // namespace detail

RTLM_INLINE roofline_fit fit_roofline_estimator(const step_featurizer& featurizer,
                                                const profile& profile,
                                                const estimator_fit_options& options) {
  detail::check_fit_options(options);
  detail::check_profile_points(profile);
  const auto of = [](step_regime a, step_regime b) {
    return [a, b](const profile_point& p) { return regime_of(p) == a || regime_of(p) == b; };
  };
  const detail::phase_data prefill =
      detail::collect_points(featurizer, profile, of(step_regime::prefill, step_regime::prefill));
  detail::phase_data chunked = detail::collect_points(
      featurizer, profile, of(step_regime::chunked_prefill, step_regime::chunked_prefill));
  const detail::phase_data single = detail::collect_points(
      featurizer, profile, of(step_regime::single_decode, step_regime::single_decode));
  const detail::phase_data batched = detail::collect_points(
      featurizer, profile, of(step_regime::batched_decode, step_regime::mixed_decode));
  const std::string name = fmt::format("profile '{}'", profile.source);
  detail::group_fit pre =
      detail::fit_phase(prefill, options.prefill_candidates, options, name + " prefill points");
  // A chunk costs what a plain prefill of its new tokens costs plus a non-negative correction for
  // attending to its cache, fitted on the chunked points (too few: no correction).
  detail::group_fit chunk;
  chunk.coefficients = pre.coefficients;
  if (chunked.points.size() >= 3) {
    for (Eigen::Index i = 0; i < chunked.features.rows(); ++i)
      chunked.offsets(i) = detail::predict_row(chunked, i, pre.coefficients) - chunked.offsets(i);
    chunk = detail::fit_phase(chunked, options.chunk_candidates, options,
                              name + " chunked prefill points");
    for (std::size_t j = 0; j < step_feature_count; ++j)
      chunk.coefficients[j] += pre.coefficients[j];
  }
  // A decode group too small to fit alone borrows the model of all decode points.
  const detail::phase_data all_decodes = detail::collect_points(
      featurizer, profile, [](const profile_point& p) { return p.phase == step_phase::decode; });
  const bool split = single.points.size() >= 3 && batched.points.size() >= 3;
  detail::group_fit one = detail::fit_phase(
      split ? single : all_decodes,
      split ? options.single_decode_candidates : options.batched_decode_candidates, options,
      name + " decode points");
  detail::group_fit many = split ? detail::fit_phase(batched, options.batched_decode_candidates,
                                                     options, name + " batched decode points")
                                 : one;
  roofline_fit fit{fitted_roofline_estimator(featurizer, pre.coefficients, chunk.coefficients,
                                             one.coefficients, many.coefficients),
                   pre.report, chunk.report, one.report, many.report};
  fit.estimator.calibrate(step_regime::prefill, relative_error_bound(pre.residuals[0]));
  fit.estimator.calibrate(step_regime::chunked_prefill, relative_error_bound(chunk.residuals[1]));
  fit.estimator.calibrate(step_regime::single_decode, relative_error_bound(one.residuals[2]));
  fit.estimator.calibrate(step_regime::batched_decode, relative_error_bound(many.residuals[3]));
  fit.estimator.calibrate(step_regime::mixed_decode, relative_error_bound(many.residuals[4]));
  return fit;
}

RTLM_INLINE timebill_estimator fit_timebill_estimator(const profile& profile,
                                                      const estimator_fit_options& options) {
  detail::check_fit_options(options);
  detail::check_profile_points(profile);
  std::vector<const profile_point*> prefills;
  std::vector<const profile_point*> decodes;
  std::set<tokens::rep> prompt_lengths;
  std::set<tokens::rep> kv_lengths;
  for (const profile_point& p : profile.points) {
    if (p.batch() != 1 || p.measurements.empty()) continue;
    if (p.phase == step_phase::prefill && p.kv_lengths.front().count() == 0) {
      prefills.push_back(&p);
      prompt_lengths.insert(p.new_tokens.count());
    } else if (p.phase == step_phase::decode) {
      decodes.push_back(&p);
      kv_lengths.insert(p.kv_lengths.front().count());
    }
  }
  detail::require(
      prompt_lengths.size() >= 3, fmt::format("profile '{}' plain prefill lengths", profile.source),
      prompt_lengths.size(), "must have at least 3 distinct values to fit a N^2 + b N + c");
  detail::require(kv_lengths.size() >= 2,
                  fmt::format("profile '{}' batch-1 decode KV lengths", profile.source),
                  kv_lengths.size(), "must have at least 2 distinct values to fit p N_kv + q");

  // Fits both forms on the points where `use(point)`.
  const auto fit = [&](auto use) {
    std::vector<const profile_point*> pre;
    std::vector<const profile_point*> dec;
    for (const profile_point* p : prefills)
      if (use(p)) pre.push_back(p);
    for (const profile_point* p : decodes)
      if (use(p)) dec.push_back(p);
    Eigen::MatrixXd xp(static_cast<Eigen::Index>(pre.size()), 3);
    Eigen::VectorXd yp(static_cast<Eigen::Index>(pre.size()));
    for (std::size_t i = 0; i < pre.size(); ++i) {
      const auto n = static_cast<double>(pre[i]->new_tokens.count());
      xp.row(static_cast<Eigen::Index>(i)) << n * n, n, 1.0;
      yp(static_cast<Eigen::Index>(i)) = pre[i]->median().count();
    }
    Eigen::MatrixXd xd(static_cast<Eigen::Index>(dec.size()), 2);
    Eigen::VectorXd yd(static_cast<Eigen::Index>(dec.size()));
    for (std::size_t i = 0; i < dec.size(); ++i) {
      xd.row(static_cast<Eigen::Index>(i))
          << static_cast<double>(dec[i]->kv_lengths.front().count()),
          1.0;
      yd(static_cast<Eigen::Index>(i)) = dec[i]->median().count();
    }
    const Eigen::VectorXd abc = detail::least_squares(xp, yp);
    const Eigen::VectorXd pq = detail::least_squares(xd, yd);
    return timebill_coefficients{.a = abc(0), .b = abc(1), .c = abc(2), .p = pq(0), .q = pq(1)};
  };

  timebill_estimator result(fit([](const profile_point*) { return true; }));

  // Cross-conformal calibration over each form's own points.
  std::vector<const profile_point*> all = prefills;
  all.insert(all.end(), decodes.begin(), decodes.end());
  const std::size_t folds = std::min(options.folds, all.size());
  const std::vector<std::size_t> fold = detail::assign_folds(all.size(), folds, options.seed);
  std::vector<double> prefill_residuals;
  std::vector<double> decode_residuals;
  for (std::size_t k = 0; k < folds; ++k) {
    std::set<const profile_point*> held;
    for (std::size_t i = 0; i < all.size(); ++i)
      if (fold[i] == k) held.insert(all[i]);
    const timebill_estimator partial(
        fit([&](const profile_point* p) { return !held.contains(p); }));
    for (const profile_point* p : held) {
      const bool is_prefill = p->phase == step_phase::prefill;
      const double predicted = is_prefill ? partial.prefill_time(p->new_tokens, tokens(0)).count()
                                          : partial.decode_time(p->kv_lengths).count();
      for (const seconds m : p->measurements) {
        (is_prefill ? prefill_residuals : decode_residuals).push_back(m.count() / predicted - 1.0);
      }
    }
  }
  result.calibrate(step_regime::prefill, relative_error_bound(std::move(prefill_residuals)));
  result.calibrate(step_regime::single_decode, relative_error_bound(std::move(decode_residuals)));
  return result;
}

RTLM_INLINE profile_split split_every_nth(const profile& prof, std::size_t every,
                                          std::size_t offset) {
  detail::require(every >= 2, "split_every_nth.every", every, "must be at least 2");
  profile_split split;
  split.fit.source = split.held_out.source = prof.source;
  split.fit.metadata = split.held_out.metadata = prof.metadata;
  for (const step_phase phase : {step_phase::prefill, step_phase::decode}) {
    std::vector<const profile_point*> points;
    for (const profile_point& p : prof.points)
      if (p.phase == phase) points.push_back(&p);
    const auto size_key = [](const profile_point* p) {
      tokens kv;
      for (const tokens k : p->kv_lengths) kv += k;
      return std::make_tuple(p->batch(), kv, p->new_tokens);
    };
    std::stable_sort(
        points.begin(), points.end(),
        [&](const profile_point* a, const profile_point* b) { return size_key(a) < size_key(b); });
    for (std::size_t i = 0; i < points.size(); ++i) {
      (i % every == offset % every ? split.held_out : split.fit).points.push_back(*points[i]);
    }
  }
  return split;
}

}  // namespace rtlm
