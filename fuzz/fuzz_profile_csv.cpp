// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// The GPU-profile CSV parser (load_profile_csv). Bad input must throw rtlm::error and nothing
// else; a profile that loads must keep the documented invariants, and save and load again to the
// same points.

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/estimate/profile.hpp"
#include "rtlm/estimate/profile_csv.hpp"

namespace {

void check_profile(const rtlm::profile& p) {
  RTLM_FUZZ_CHECK(!p.points.empty());
  for (const rtlm::profile_point& point : p.points) {
    RTLM_FUZZ_CHECK(point.batch() >= 1);
    RTLM_FUZZ_CHECK(point.new_tokens.count() >= 1);
    RTLM_FUZZ_CHECK(point.new_tokens.count() % static_cast<std::int64_t>(point.batch()) == 0);
    for (const rtlm::tokens kv : point.kv_lengths) RTLM_FUZZ_CHECK(kv.count() >= 0);
    RTLM_FUZZ_CHECK(!point.measurements.empty());
    for (const rtlm::seconds s : point.measurements) {
      RTLM_FUZZ_CHECK(std::isfinite(s.count()) && s.count() > 0.0);
    }
    RTLM_FUZZ_CHECK(std::isfinite(point.median().count()) && point.median().count() > 0.0);
  }
}

// save_profile_csv writes 9 significant digits, so measurements may differ after the round
// trip; the points' shapes and counts may not.
void check_same_shapes(const rtlm::profile& a, const rtlm::profile& b) {
  RTLM_FUZZ_CHECK(a.points.size() == b.points.size());
  for (std::size_t i = 0; i < a.points.size(); ++i) {
    RTLM_FUZZ_CHECK(a.points[i].phase == b.points[i].phase);
    RTLM_FUZZ_CHECK(a.points[i].new_tokens == b.points[i].new_tokens);
    RTLM_FUZZ_CHECK(a.points[i].kv_lengths == b.points[i].kv_lengths);
    RTLM_FUZZ_CHECK(a.points[i].measurements.size() == b.points[i].measurements.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static rtlm::fuzz::temp_input input(".csv");
  static rtlm::fuzz::temp_input saved("_saved.csv");
  rtlm::profile loaded;
  try {
    loaded = rtlm::load_profile_csv(input.write(rtlm::fuzz::as_text(data, size)));
  } catch (const rtlm::error&) {  // bad input, reported as promised
    return 0;
  }
  check_profile(loaded);
  const std::string& saved_path = saved.write("");
  rtlm::save_profile_csv(loaded, saved_path);
  const rtlm::profile reloaded = rtlm::load_profile_csv(saved_path);
  check_profile(reloaded);
  check_same_shapes(loaded, reloaded);
  return 0;
}
