// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// Every trace parser over the same bytes: load_azure_trace, load_length_csv_trace and
// load_trace on a .csv file, load_mooncake_trace and load_trace on a .jsonl one. Bad input must
// throw rtlm::error (and nothing else); a trace that loads must keep the documented invariants.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/sim/trace.hpp"

namespace {

void check_trace(const rtlm::sim::trace& t) {
  double previous = 0.0;
  for (const rtlm::sim::trace_request& r : t.requests) {
    RTLM_FUZZ_CHECK(std::isfinite(r.arrival) && r.arrival >= previous);
    RTLM_FUZZ_CHECK(r.prompt.count() >= 0);
    RTLM_FUZZ_CHECK(r.output.count() >= 1);
    previous = r.arrival;
  }
  RTLM_FUZZ_CHECK(t.requests.empty() || t.requests.front().arrival == 0.0);
  RTLM_FUZZ_CHECK(std::isfinite(t.span()) && t.span() >= 0.0);
  // Not necessarily finite: one request per subnormal span is an infinite rate.
  RTLM_FUZZ_CHECK(t.arrival_rate() >= 0.0);
}

template <class Load>
void try_load(Load&& load) {
  try {
    check_trace(load());
  } catch (const rtlm::error&) {  // bad input, reported as promised
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static rtlm::fuzz::temp_input csv(".csv");
  static rtlm::fuzz::temp_input jsonl(".jsonl");
  const std::string& csv_path = csv.write(rtlm::fuzz::as_text(data, size));
  const std::string& jsonl_path = jsonl.write(rtlm::fuzz::as_text(data, size));
  try_load([&] { return rtlm::sim::load_azure_trace(csv_path); });
  try_load([&] { return rtlm::sim::load_length_csv_trace(csv_path); });
  try_load([&] { return rtlm::sim::load_trace(csv_path); });
  try_load([&] { return rtlm::sim::load_mooncake_trace(jsonl_path); });
  try_load([&] { return rtlm::sim::load_trace(jsonl_path); });
  return 0;
}
