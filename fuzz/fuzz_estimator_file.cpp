// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// The saved-estimator parsers (load_roofline_estimator, load_timebill_estimator) over the same
// bytes. Bad input must throw rtlm::error and nothing else; an estimator that loads must give
// step times that are never negative or NaN.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fuzz_support.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/estimate/estimator_file.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"

namespace {

// The model and device the corpus files were saved for (a loader refuses any other).
const rtlm::model_shape& model() {
  static const rtlm::model_shape shape{rtlm::models::by_name("llama-3.1-8b").value()};
  return shape;
}
const rtlm::hardware_spec& hardware() {
  static const rtlm::hardware_spec spec{rtlm::accelerators::h100_sxm_bf16()};
  return spec;
}

bool sane(rtlm::seconds t) { return !std::isnan(t.count()) && t.count() >= 0.0; }

void check_estimator(const rtlm::step_time_estimator& e) {
  using rtlm::tokens;
  for (const std::int64_t n : {0, 1, 17, 4096}) {
    RTLM_FUZZ_CHECK(sane(e.prefill_time(tokens(n), tokens(0))));
    RTLM_FUZZ_CHECK(sane(e.prefill_time(tokens(n), tokens(1000))));
  }
  const std::array<tokens, 3> batch{tokens(0), tokens(512), tokens(70000)};
  RTLM_FUZZ_CHECK(sane(e.decode_time(std::span(batch).first(1))));
  RTLM_FUZZ_CHECK(sane(e.decode_time(batch)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static rtlm::fuzz::temp_input input(".txt");
  const std::string& path = input.write(rtlm::fuzz::as_text(data, size));
  try {
    check_estimator(rtlm::load_roofline_estimator(path, model(), hardware()));
  } catch (const rtlm::error&) {  // bad input, reported as promised
  }
  try {
    check_estimator(rtlm::load_timebill_estimator(path, model()));
  } catch (const rtlm::error&) {
  }
  return 0;
}
