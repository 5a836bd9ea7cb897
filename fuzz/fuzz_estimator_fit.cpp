// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// The estimator fit as rtlm-sim runs it: a profile loaded from the bytes (load_profile_csv),
// then fit_roofline_estimator for the model its `# model:` line names (llama-3.1-8b when it
// names none rtlm knows) on an H100, and fit_timebill_estimator. Bad input must throw
// rtlm::error and nothing else; a fit that returns must give finite step times for a few probe
// shapes, and bounds at level 0.9 that are never NaN.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "fuzz_support.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"
#include "rtlm/estimate/profile.hpp"
#include "rtlm/estimate/profile_csv.hpp"

namespace {

const rtlm::hardware_spec& hardware() {
  static const rtlm::hardware_spec spec{rtlm::accelerators::h100_sxm_bf16()};
  return spec;
}

// The model the profile names, as rtlm-sim picks it; llama-3.1-8b otherwise.
rtlm::model_config model_of(const rtlm::profile& p) {
  const auto it = p.metadata.find("model");
  std::optional<rtlm::model_config> named;
  if (it != p.metadata.end()) named = rtlm::models::by_name(it->second);
  return named ? *named : rtlm::models::by_name("llama-3.1-8b").value();
}

void check_time(rtlm::seconds estimate, rtlm::seconds bound) {
  RTLM_FUZZ_CHECK(std::isfinite(estimate.count()));
  // A bound is infinite when too few residuals back its level; never NaN.
  RTLM_FUZZ_CHECK(!std::isnan(bound.count()));
}

void check_estimator(const rtlm::step_time_estimator& e) {
  using rtlm::tokens;
  for (const std::int64_t n : {1, 17, 128, 4096, 32768}) {
    for (const std::int64_t k : {0, 1000}) {
      check_time(e.prefill_time(tokens(n), tokens(k)),
                 e.prefill_upper_bound(tokens(n), tokens(k), 0.9));
    }
  }
  const std::array<tokens, 4> batch{tokens(1), tokens(512), tokens(4096), tokens(70000)};
  for (const std::size_t b : std::array<std::size_t, 3>{1, 2, 4}) {
    const std::span<const tokens> kv = std::span(batch).first(b);
    check_time(e.decode_time(kv), e.decode_upper_bound(kv, 0.9));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static rtlm::fuzz::temp_input input(".csv");
  rtlm::profile profile;
  try {
    profile = rtlm::load_profile_csv(input.write(rtlm::fuzz::as_text(data, size)));
  } catch (const rtlm::error&) {  // bad input, reported as promised
    return 0;
  }
  try {
    const rtlm::roofline_fit fit = rtlm::fit_roofline_estimator(
        rtlm::step_featurizer{rtlm::model_shape(model_of(profile)), hardware()}, profile);
    check_estimator(fit.estimator);
  } catch (const rtlm::error&) {  // too little data, or singular: refused as promised
  }
  try {
    check_estimator(rtlm::fit_timebill_estimator(profile));
  } catch (const rtlm::error&) {
  }
  return 0;
}
