// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// rtlm's umbrella header: the whole public API (test doubles in rtlm/testing/ excepted).

#include "rtlm/version.hpp"

#include "rtlm/core/error.hpp"
#include "rtlm/core/manual_clock.hpp"
#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"

#include "rtlm/estimate/estimator_file.hpp"
#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/fitted_roofline_estimator.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"
#include "rtlm/estimate/profile.hpp"
#include "rtlm/estimate/profile_csv.hpp"
#include "rtlm/estimate/profiler.hpp"
#include "rtlm/estimate/relative_error_bound.hpp"
#include "rtlm/estimate/step_features.hpp"
#include "rtlm/estimate/step_time_estimator.hpp"
#include "rtlm/estimate/third_party_profiles.hpp"
#include "rtlm/estimate/timebill_estimator.hpp"

#include "rtlm/predict/bucketed_length_classifier.hpp"
#include "rtlm/predict/conformal_length_bound.hpp"
#include "rtlm/predict/cross_calibration.hpp"
#include "rtlm/predict/embedding_source.hpp"
#include "rtlm/predict/length_distribution.hpp"
#include "rtlm/predict/length_predictor.hpp"
#include "rtlm/predict/online_length_regressor.hpp"
#include "rtlm/predict/predictor_file.hpp"
#include "rtlm/predict/prompt_features.hpp"

#include "rtlm/budget/eviction_ratio.hpp"
#include "rtlm/budget/in_flight_replanner.hpp"
#include "rtlm/budget/kv_selection.hpp"
#include "rtlm/budget/overrun_policy.hpp"
#include "rtlm/budget/predictor_overlap.hpp"
#include "rtlm/budget/request_time_table.hpp"
#include "rtlm/budget/time_budget_solver.hpp"

#include "rtlm/backend/backend_capabilities.hpp"
#include "rtlm/backend/model_backend.hpp"
#include "rtlm/backend/step_plan.hpp"
#include "rtlm/backend/step_result.hpp"
