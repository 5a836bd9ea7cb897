// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// The length-error file parser (load_length_errors) and the noise model it builds. Bad input
// must throw rtlm::error and nothing else; a model that loads must give sane predictions.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/sim/length_noise.hpp"

namespace {

// The generator named by the first data row, so that inputs can reach the model itself.
std::string first_generator(std::string_view text) {
  const std::size_t row = text.find('\n');
  if (row == std::string_view::npos) return "";
  const std::string_view rest = text.substr(row + 1);
  return std::string(rest.substr(0, std::min(rest.find(','), rest.find('\n'))));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static rtlm::fuzz::temp_input input(".csv");
  const std::string_view text = rtlm::fuzz::as_text(data, size);
  try {
    const rtlm::sim::length_noise_model model =
        rtlm::sim::load_length_errors(input.write(text), first_generator(text));
    RTLM_FUZZ_CHECK(!model.samples().empty());
    // Lengths across every bucket, keys from the input's size.
    for (const std::int64_t length : {std::int64_t{0}, std::int64_t{1}, std::int64_t{37},
                                      std::int64_t{1} << 20, std::int64_t{1} << 62}) {
      const rtlm::length_estimate e = model.predict(rtlm::tokens(length), size);
      // Infinite for a file whose finite means are near the largest double: still ordered.
      RTLM_FUZZ_CHECK(!std::isnan(e.mean_tokens) && e.mean_tokens >= 0.0);
      RTLM_FUZZ_CHECK(e.upper_bound.count() >= 1);
      RTLM_FUZZ_CHECK(std::isfinite(e.uncertainty) && e.uncertainty >= 0.0);
      RTLM_FUZZ_CHECK(e.bound_coverage > 0.0 && e.bound_coverage < 1.0);
    }
  } catch (const rtlm::error&) {  // bad input, reported as promised
  }
  return 0;
}
