// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// rtlm-sim's flag parser (examples/rtlm_sim_flags.hpp) on an argv split from the input: each
// NUL or newline byte ends an argument, so `--load\n0.5\n--policies\nfcfs,edf` is four.
//
// Checked: parse_flags returns options or throws rtlm::error, nothing else; options it returns
// are within the ranges the program relies on (a whole number of replicas in 1..64, one or more
// distinct known policies, loads in (0, 10], a duration of 0 or in (0, 4e9] s, a deadline rule
// that validates, one or more seeds up to 2^53, ...). It reads no file and runs nothing.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../examples/rtlm_sim_flags.hpp"
#include "fuzz_support.hpp"
#include "rtlm/core/error.hpp"

namespace {

void check(const rtlm_sim::options& o) {
  RTLM_FUZZ_CHECK(o.replicas >= 1 && o.replicas <= 64);
  RTLM_FUZZ_CHECK(!o.policies.empty());
  std::set<std::string> names;
  for (const std::string& p : o.policies) {
    RTLM_FUZZ_CHECK(rtlm_sim::policy_named(p).name == p);
    RTLM_FUZZ_CHECK(names.insert(p).second);
  }
  RTLM_FUZZ_CHECK(o.load > 0 && o.load <= 10);
  for (const double l : o.loads) RTLM_FUZZ_CHECK(l > 0 && l <= 10);
  RTLM_FUZZ_CHECK(o.duration == 0 || (o.duration > 0 && o.duration <= rtlm_sim::max_seconds));
  o.deadlines.validate();  // throws rtlm::error, which would escape: a finding
  RTLM_FUZZ_CHECK(!o.seeds.empty());
  for (const std::uint64_t s : o.seeds) RTLM_FUZZ_CHECK(s <= (std::uint64_t{1} << 53U));
  RTLM_FUZZ_CHECK(std::isfinite(o.size_weight) && o.size_weight >= 0);
  RTLM_FUZZ_CHECK(std::isfinite(o.swap_gbps) && o.swap_gbps >= 0 && o.swap_gbps <= 1e6);
  RTLM_FUZZ_CHECK(o.kv_tokens >= 0 && o.kv_tokens <= 1'000'000'000'000);
  RTLM_FUZZ_CHECK(o.max_batch >= 0 && o.max_batch <= 65536);  // 0: vLLM's default
  RTLM_FUZZ_CHECK(o.step_tokens >= 0 && o.step_tokens <= 16777216);
  RTLM_FUZZ_CHECK(o.tp == 1 || o.tp == 2 || o.tp == 4 || o.tp == 8);
  RTLM_FUZZ_CHECK(o.memory_utilization > 0 && o.memory_utilization <= 1);
  RTLM_FUZZ_CHECK(o.arrivals == "trace" || o.arrivals == "poisson" || o.arrivals == "gamma" ||
                  o.arrivals == "all_at_once");
  RTLM_FUZZ_CHECK(o.arrival_cv > 0 && o.arrival_cv <= 100);
  RTLM_FUZZ_CHECK(o.burst_requests >= 0 && o.burst_requests <= 1000000);
  RTLM_FUZZ_CHECK(o.burst_at >= 0 && o.burst_at <= rtlm_sim::max_seconds);
  o.slo.validate();
  RTLM_FUZZ_CHECK(o.predictor == "noise" || o.predictor == "oracle" || o.predictor == "none" ||
                  (o.predictor == "tau" && o.predictor_tau > 0 && o.predictor_tau < 1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;  // longer command lines explore nothing new
  std::vector<std::string> args(1);
  for (const char c : rtlm::fuzz::as_text(data, size)) {
    if (c == '\0' || c == '\n') {
      args.emplace_back();
    } else {
      args.back().push_back(c);
    }
  }
  if (size == 0) args.clear();
  std::optional<rtlm_sim::options> parsed;
  try {
    parsed = rtlm_sim::parse_flags(args);
  } catch (const rtlm::error& e) {
    RTLM_FUZZ_CHECK(!e.field().empty());
    return 0;
  }
  // Outside the try: an rtlm::error from the checks is a finding.
  if (!parsed->help) check(*parsed);
  return 0;
}
