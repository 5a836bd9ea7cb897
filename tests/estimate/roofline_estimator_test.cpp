// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/estimate/roofline_estimator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/estimate/relative_error_bound.hpp"

namespace {

using rtlm::seconds;
using rtlm::tokens;

const rtlm::model_shape& llama() {
  static const rtlm::model_shape shape(rtlm::models::llama_3_8b());
  return shape;
}
const rtlm::hardware_spec& h100() {
  static const rtlm::hardware_spec hw(rtlm::accelerators::h100_sxm_bf16());
  return hw;
}

// The roofline of a step at the datasheet ceilings, for the expected values below.
rtlm::roofline_estimate prefill_roofline(tokens n, tokens k = tokens(0)) {
  return h100().roofline(llama().prefill_work(n, k));
}
rtlm::roofline_estimate decode_roofline(const std::vector<tokens>& kv) {
  return h100().roofline(llama().decode_work(kv));
}

// The error `f` throws (field, value), or an empty one when it throws none.
struct blame {
  std::string field;
  std::string value;
};
template <class F>
blame blamed(F&& f) {
  try {
    f();
  } catch (const rtlm::error& e) {
    return {e.field(), e.value()};
  }
  return {};
}

// The H100 profile's medians (benchmarks/data/profiles/h100_llama-3.1-8b.csv): a 2048-token
// prefill and a batch-1 decode step at KV 1024.
constexpr double measured_prefill = 0.05450323295;
constexpr double measured_decode = 0.00683369589;

rtlm::roofline_measurements h100_points() {
  return {.prefill_tokens = tokens(2048),
          .prefill_time = seconds(measured_prefill),
          .decode_kv_length = tokens(1024),
          .decode_time = seconds(measured_decode)};
}

rtlm::roofline_estimator calibrated(const rtlm::roofline_measurements& m) {
  return rtlm::roofline_estimator::from_measurements(llama(), h100(), m);
}

TEST(roofline_estimator, defaults_derate_the_datasheet_ceilings) {
  const rtlm::roofline_estimator e(llama(), h100());
  EXPECT_EQ(e.efficiency().compute, 0.5);
  EXPECT_EQ(e.efficiency().memory, 0.6);
  // A long prefill is compute-bound: its FLOPs at half the peak.
  const rtlm::roofline_estimate p = prefill_roofline(tokens(8192));
  ASSERT_FALSE(p.memory_bound());
  EXPECT_DOUBLE_EQ(e.prefill_time(tokens(8192), tokens(0)).count(), p.compute_time.count() / 0.5);
  // A batch-1 decode step is memory-bound: its bytes at 0.6 of the bandwidth.
  const std::vector<tokens> kv{tokens(1024)};
  EXPECT_DOUBLE_EQ(e.decode_time(kv).count(), decode_roofline(kv).memory_time.count() / 0.6);
  // A chunk counts its attention over the cache.
  const rtlm::roofline_estimate chunk = prefill_roofline(tokens(512), tokens(4096));
  EXPECT_DOUBLE_EQ(e.prefill_time(tokens(512), tokens(4096)).count(),
                   std::max(chunk.compute_time.count() / 0.5, chunk.memory_time.count() / 0.6));
  // Nothing to do takes no time.
  EXPECT_EQ(e.prefill_time(tokens(0), tokens(0)).count(), 0.0);
  EXPECT_EQ(e.prefill_time(tokens(-3), tokens(10)).count(), 0.0);
  EXPECT_EQ(e.decode_time({}).count(), 0.0);
  EXPECT_EQ(e.step_time({}).count(), 0.0);
}

TEST(roofline_estimator, a_mixed_step_reads_the_weights_once) {
  const rtlm::roofline_estimator e(llama(), h100(), {.compute = 0.7, .memory = 0.8});
  const std::vector<rtlm::sequence_step> batch{
      {.new_tokens = tokens(256), .cached_tokens = {}},
      {.new_tokens = tokens(1), .cached_tokens = tokens(900)},
      {.new_tokens = tokens(1), .cached_tokens = tokens(70)}};
  const rtlm::roofline_estimate r = h100().roofline(llama().work(batch));
  EXPECT_DOUBLE_EQ(e.step_time(batch).count(),
                   std::max(r.compute_time.count() / 0.7, r.memory_time.count() / 0.8));
  const std::vector<tokens> kv{tokens(900), tokens(70)};
  EXPECT_LT(e.step_time(batch), e.prefill_time(tokens(256), tokens(0)) + e.decode_time(kv));
}

TEST(roofline_estimator, a_calibrated_estimator_reproduces_its_two_points) {
  const rtlm::roofline_estimator e = calibrated(h100_points());
  const std::vector<tokens> kv{tokens(1024)};
  EXPECT_DOUBLE_EQ(e.prefill_time(tokens(2048), tokens(0)).count(), measured_prefill);
  EXPECT_DOUBLE_EQ(e.decode_time(kv).count(), measured_decode);
  // The efficiencies are the datasheet times over the measured ones: 0.55 and 0.66 here.
  EXPECT_DOUBLE_EQ(e.efficiency().compute,
                   prefill_roofline(tokens(2048)).compute_time.count() / measured_prefill);
  EXPECT_DOUBLE_EQ(e.efficiency().memory,
                   decode_roofline(kv).memory_time.count() / measured_decode);
  EXPECT_NEAR(e.efficiency().compute, 0.551, 0.001);
  EXPECT_NEAR(e.efficiency().memory, 0.662, 0.001);
}

TEST(roofline_estimator, calibration_recovers_the_efficiencies_behind_the_points) {
  const rtlm::roofline_estimator truth(llama(), h100(), {.compute = 0.37, .memory = 0.81});
  const std::vector<tokens> kv{tokens(3000)};
  const rtlm::roofline_estimator e =
      calibrated({.prefill_tokens = tokens(4096),
                  .prefill_time = truth.prefill_time(tokens(4096), tokens(0)),
                  .decode_kv_length = tokens(3000),
                  .decode_time = truth.decode_time(kv)});
  EXPECT_DOUBLE_EQ(e.efficiency().compute, 0.37);
  EXPECT_DOUBLE_EQ(e.efficiency().memory, 0.81);
  for (const int n : {1, 100, 700, 5000, 30000}) {
    EXPECT_DOUBLE_EQ(e.prefill_time(tokens(n), tokens(0)).count(),
                     truth.prefill_time(tokens(n), tokens(0)).count())
        << n;
  }
}

TEST(roofline_estimator, times_grow_with_tokens) {
  const rtlm::roofline_estimator e = calibrated(h100_points());
  seconds last{0};
  for (int n = 1; n <= 40000; n += 37) {
    const seconds t = e.prefill_time(tokens(n), tokens(0));
    EXPECT_GE(t, last) << n;
    EXPECT_GT(t.count(), 0.0);
    last = t;
  }
  last = seconds(0);
  for (int k = 0; k <= 40000; k += 53) {
    const std::vector<tokens> kv{tokens(k)};
    const seconds t = e.decode_time(kv);
    EXPECT_GE(t, last) << k;
    EXPECT_GE(e.prefill_time(tokens(256), tokens(k)), e.prefill_time(tokens(256), tokens(0)));
    last = t;
  }
  last = seconds(0);
  std::vector<tokens> batch;
  for (int b = 1; b <= 256; ++b) {
    batch.push_back(tokens(1000));
    const seconds t = e.decode_time(batch);
    EXPECT_GE(t, last) << b;
    last = t;
  }
}

TEST(roofline_estimator, bad_efficiencies_name_the_field_and_value) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const auto make = [](double compute, double memory) {
    return blamed([&] {
      const rtlm::roofline_estimator e(llama(), h100(), {.compute = compute, .memory = memory});
    });
  };
  EXPECT_EQ(make(1.0, 1.0).field, "");
  EXPECT_EQ(make(0.0, 0.5).field, "roofline_efficiency.compute");
  EXPECT_EQ(make(0.0, 0.5).value, "0");
  EXPECT_EQ(make(-0.5, 0.5).value, "-0.5");
  EXPECT_EQ(make(1.5, 0.5).field, "roofline_efficiency.compute");
  EXPECT_EQ(make(nan, 0.5).value, "nan");
  EXPECT_EQ(make(0.5, inf).field, "roofline_efficiency.memory");
  EXPECT_EQ(make(0.5, inf).value, "inf");
  EXPECT_EQ(make(0.5, 0.0).field, "roofline_efficiency.memory");
}

TEST(roofline_estimator, bad_measurements_name_the_field_and_value) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto with = [](auto change) {
    rtlm::roofline_measurements m = h100_points();
    change(m);
    return blamed([&] { static_cast<void>(calibrated(m)); });
  };
  EXPECT_EQ(with([](auto&) {}).field, "");
  blame b = with([&](auto& m) { m.prefill_time = seconds(nan); });
  EXPECT_EQ(b.field, "roofline_measurements.prefill_time");
  EXPECT_EQ(b.value, "nan");
  b = with([](auto& m) { m.prefill_tokens = tokens(0); });
  EXPECT_EQ(b.field, "roofline_measurements.prefill_tokens");
  EXPECT_EQ(b.value, "0");
  b = with([](auto& m) { m.decode_kv_length = tokens(-1); });
  EXPECT_EQ(b.field, "roofline_measurements.decode_kv_length");
  EXPECT_EQ(b.value, "-1");
  b = with([](auto& m) { m.decode_time = seconds(-0.25); });
  EXPECT_EQ(b.field, "roofline_measurements.decode_time");
  EXPECT_EQ(b.value, "-0.25");
  b = with([](auto& m) { m.decode_time = seconds(0); });
  EXPECT_EQ(b.field, "roofline_measurements.decode_time");
  b = with([](auto& m) { m.prefill_time = seconds(std::numeric_limits<double>::infinity()); });
  EXPECT_EQ(b.field, "roofline_measurements.prefill_time");
}

TEST(roofline_estimator, points_that_contradict_the_roofline_are_refused) {
  const auto with = [](auto change) {
    rtlm::roofline_measurements m = h100_points();
    change(m);
    return blamed([&] { static_cast<void>(calibrated(m)); });
  };
  // A decode step faster than reading the weights at the datasheet's bandwidth (4.5 ms).
  blame b = with([](auto& m) { m.decode_time = seconds(0.004); });
  EXPECT_EQ(b.field, "roofline_measurements.decode_time");
  EXPECT_EQ(b.value, "0.004");
  // A 32768-token prefill faster than the datasheet's peak FLOP/s (0.75 s).
  b = with([](auto& m) {
    m.prefill_tokens = tokens(32768);
    m.prefill_time = seconds(0.5);
  });
  EXPECT_EQ(b.field, "roofline_measurements.prefill_time");
  EXPECT_EQ(b.value, "0.5");
  // A short prefill quicker than its memory-bound time at the decode step's efficiency
  // (6.8 ms): it was not compute-bound, so it cannot tell the compute efficiency.
  b = with([](auto& m) {
    m.prefill_tokens = tokens(128);
    m.prefill_time = seconds(0.005);
  });
  EXPECT_EQ(b.field, "roofline_measurements.prefill_time");
  EXPECT_EQ(b.value, "0.005");
  // A prefill so slow that the compute efficiency it implies would make the decode step
  // compute-bound, and slower than measured.
  b = with([](auto& m) { m.prefill_time = seconds(2000.0); });
  EXPECT_EQ(b.field, "roofline_measurements.decode_time");
  // The same short prefill, measured at its memory-bound time or slower, is consistent.
  b = with([](auto& m) {
    m.prefill_tokens = tokens(128);
    m.prefill_time = seconds(0.0079);
  });
  EXPECT_EQ(b.field, "");
}

TEST(roofline_estimator, upper_bounds_are_uncalibrated_until_the_host_calibrates_them) {
  rtlm::roofline_estimator e = calibrated(h100_points());
  const std::vector<tokens> kv{tokens(10), tokens(20)};
  for (std::size_t r = 0; r < rtlm::step_regime_count; ++r) {
    EXPECT_TRUE(std::isinf(e.bound_factor(static_cast<rtlm::step_regime>(r), 0.99))) << r;
  }
  EXPECT_TRUE(std::isinf(e.prefill_upper_bound(tokens(100), tokens(0), 0.9).count()));
  EXPECT_TRUE(std::isinf(e.decode_upper_bound(kv, 0.5).count()));
  // Residuals of the host's own measurements make them finite: 199 steps 10% over the estimate.
  e.calibrate(rtlm::step_regime::single_decode,
              rtlm::relative_error_bound(std::vector<double>(199, 0.1)));
  const std::vector<tokens> one{tokens(10)};
  EXPECT_DOUBLE_EQ(e.decode_upper_bound(one, 0.99).count(), e.decode_time(one).count() * 1.1);
  EXPECT_TRUE(std::isinf(e.prefill_upper_bound(tokens(100), tokens(0), 0.99).count()));
}

}  // namespace
