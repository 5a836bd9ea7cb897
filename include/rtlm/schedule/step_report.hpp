// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "rtlm/backend/model_backend.hpp"
#include "rtlm/core/units.hpp"

namespace rtlm {

/// What one step did, as complete_step() and step() report it.
struct step_report {
  std::size_t backend = 0;
  step_status status = step_status::ok;
  /// Why, when status != ok: the backend's message, or the check a host's result failed (a
  /// static string); the backend's is valid until its next step.
  std::string_view error;
  std::size_t computed = 0;  ///< sequences in the forward pass
  std::size_t finished = 0;  ///< requests that finished in this step
  /// The requests of a failed step (status != ok): their work in it is lost and is planned
  /// again, unless they failed max_failed_steps times in a row (then they are failed, with an
  /// event). Valid until the next call on this scheduler.
  std::span<const request_id> affected;
  seconds predicted{0};  ///< the step time the plan was built on
  seconds measured{0};   ///< the backend's measured step time (0 when it failed)
  /// The base estimator's times for the plan's prefill chunks (summed) and its decode part,
  /// before the online correction: what a host logs to replay the correction offline.
  seconds base_prefill{0};
  seconds base_decode{0};
};

}  // namespace rtlm
