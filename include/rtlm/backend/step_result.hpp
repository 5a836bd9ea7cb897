// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <vector>

#include "rtlm/core/units.hpp"

namespace rtlm {

/// What happened to one computed request in a step.
struct request_outcome {
  request_id id{};
  /// Output tokens produced this step: 0 to backend_capabilities::max_tokens_per_outcome (1
  /// unless the backend declares more, e.g. for speculative decoding); 0 for a non-final prefill
  /// chunk.
  tokens generated;
  bool finished = false;  ///< it emitted end-of-sequence or hit the backend's own length cap
};

/// What a backend reports after a step. Plain data; reuse one across steps (clear() keeps the
/// capacity).
struct step_result {
  /// One outcome per computed request, in plan order: every prefill, then every decode.
  std::vector<request_outcome> outcomes;
  seconds step_time{0};  ///< measured time of the step, finite, >= 0 and at most 1e9 s
  /// The measured time of the step's prefill chunks alone, for a backend that times them apart
  /// from its decodes (a device event between the two): finite, >= 0, at most step_time, and
  /// only for a step with prefills. It lets the estimator's online update learn prefill and
  /// decode separately (online_step_correction).
  std::optional<seconds> prefill_time;

  /// Empties the result, keeping the capacity.
  void clear() noexcept {
    outcomes.clear();
    step_time = seconds(0);
    prefill_time.reset();
  }
};

}  // namespace rtlm
