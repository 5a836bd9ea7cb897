// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "rtlm/detail/config.hpp"
#include "rtlm/estimate/fitted_roofline_estimator.hpp"
#include "rtlm/estimate/model_shape.hpp"
#include "rtlm/estimate/timebill_estimator.hpp"

namespace rtlm {

/// The version of the fitted-estimator file format that this build reads and writes. Version 2
/// added the hardware's multiprocessors and the split_kv_time feature.
inline constexpr int estimator_file_version = 2;

/// Saves a fitted rtlm model: the model shape and hardware spec it was fitted for, the
/// coefficients, and the calibration residuals, as text (docs/estimator.md). Doubles round-trip
/// exactly. Throws rtlm::error naming the path when it cannot be written.
void save_estimator(const fitted_roofline_estimator& estimator, const std::string& path);

/// Saves fitted TimeBill coefficients and calibration, recording the model they were fitted for.
void save_estimator(const timebill_estimator& estimator, const model_config& model,
                    const std::string& path);

/// Loads a model saved by save_estimator(). Refuses, with rtlm::error naming the file, line and
/// field: a file of another format version or kind, a model shape other than `expected_model`,
/// a hardware spec other than `expected_hardware`, and any malformed line.
fitted_roofline_estimator load_roofline_estimator(const std::string& path,
                                                  const model_shape& expected_model,
                                                  const hardware_spec& expected_hardware);

/// Loads TimeBill coefficients saved by save_estimator(); refuses as load_roofline_estimator().
timebill_estimator load_timebill_estimator(const std::string& path,
                                           const model_shape& expected_model);

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/estimator_file-inl.hpp"
#endif
