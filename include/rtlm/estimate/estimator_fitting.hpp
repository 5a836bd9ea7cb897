// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtlm/detail/config.hpp"
#include "rtlm/estimate/fitted_roofline_estimator.hpp"
#include "rtlm/estimate/profile.hpp"
#include "rtlm/estimate/step_features.hpp"
#include "rtlm/estimate/timebill_estimator.hpp"

namespace rtlm {

/// How estimators are fitted and calibrated. Aggregate.
struct estimator_fit_options {
  /// Cross-validation folds over the profile's points, for feature selection and calibration.
  std::size_t folds = 5;
  /// Seed of the fold assignment; the same seed gives the same fit.
  std::uint64_t seed = 0;
  /// Features rtlm's model may use for plain prefills; every non-empty subset is tried.
  std::vector<step_feature> prefill_candidates{
      step_feature::constant,       step_feature::new_tokens,        step_feature::matmul_time,
      step_feature::attention_time, step_feature::tiled_matmul_time, step_feature::roofline_time};
  /// Features of the correction a chunk of a chunked prefill adds to a plain prefill of the
  /// same new tokens; every subset, the empty one included, is tried.
  std::vector<step_feature> chunk_candidates{step_feature::constant,
                                             step_feature::cached_attention_time,
                                             step_feature::kv_read_time, step_feature::new_tokens};
  /// Features for decode steps of batch 1.
  std::vector<step_feature> single_decode_candidates{
      step_feature::constant, step_feature::kv_read_time, step_feature::attention_time,
      step_feature::roofline_time};
  /// Features for decode steps of larger batches.
  std::vector<step_feature> batched_decode_candidates{
      step_feature::constant,       step_feature::sequences,       step_feature::matmul_time,
      step_feature::attention_time, step_feature::kv_read_time,    step_feature::roofline_time,
      step_feature::padded_kv_time, step_feature::longest_kv_time, step_feature::split_kv_time};
};

/// What fitting one phase of rtlm's model found. Plain data.
struct phase_fit_report {
  std::vector<step_feature> selected;  ///< the feature subset chosen by cross-validation
  double cv_mape = 0;                  ///< its cross-validated mean absolute percentage error
  std::size_t points = 0;              ///< profile points of the phase
  std::size_t measurements = 0;        ///< measurements behind the calibration residuals
};

/// rtlm's fitted model and the report of how it was chosen.
struct roofline_fit {
  fitted_roofline_estimator estimator;
  phase_fit_report prefill;
  phase_fit_report chunked_prefill;  ///< the chunk correction (empty when too few chunks)
  phase_fit_report single_decode;
  phase_fit_report batched_decode;
};

/// Fits rtlm's model to `profile`: for plain prefills, batch-1 decodes and batched decodes in
/// turn, the feature subset (of the candidates) with the lowest cross-validated relative error,
/// its coefficients by non-negative least squares on relative error over every point's median,
/// and per regime the calibrated error bound from the out-of-fold residuals of every measurement
/// (cross-conformal). A chunk of a chunked prefill is modelled by the plain-prefill coefficients on
/// the chunk's own features plus a correction fitted the same way on the chunked points (none
/// with fewer than 3).
/// A decode group with fewer than 3 points borrows the model of all decode points. Throws
/// rtlm::error naming the profile when plain prefills have fewer than 3 distinct shapes, decodes
/// do, or the options are invalid, and naming the point and field (`profile 'p.csv' point 7
/// new_tokens`) of a point outside validate_profile_point's limits. Allocates; O(2^candidates x
/// folds x points): milliseconds.
roofline_fit fit_roofline_estimator(const step_featurizer& featurizer, const profile& profile,
                                    const estimator_fit_options& options = {});

/// Fits TimeBill's forms by ordinary least squares as the paper does: the prefill polynomial on
/// the plain (batch 1, no cache) prefill points' medians, the decode line on the batch-1 decode
/// points' medians; calibrates its error bound on out-of-fold residuals as above. Throws
/// rtlm::error naming the profile when it has fewer than 3 distinct prompt lengths or 2 distinct
/// KV lengths to fit, and the point and field of a point outside validate_profile_point's
/// limits. Allocates; O(points).
timebill_estimator fit_timebill_estimator(const profile& profile,
                                          const estimator_fit_options& options = {});

/// A profile divided into points to fit on and points held out for evaluation.
struct profile_split {
  profile fit;
  profile held_out;
};

/// The split of docs/methods.md, 'Estimator evaluation': within each phase, points sorted by
/// size (batch, then total KV, then new tokens), every `every`-th one from `offset` is held out,
/// so held-out points lie between fitted ones and evaluation tests interpolation. Allocates;
/// O(points log points).
profile_split split_every_nth(const profile& profile, std::size_t every = 5,
                              std::size_t offset = 4);

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/estimator_fitting-inl.hpp"
#endif
