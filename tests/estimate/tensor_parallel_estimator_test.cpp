// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// The tensor-parallel step model against times computed by hand: a shard estimator with simple
// known times, plus (2 layers + 1) ring all-reduces of step tokens x hidden x 2 bytes.

#include "rtlm/estimate/tensor_parallel_estimator.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "rtlm/core/error.hpp"

namespace {

using namespace rtlm::literals;
using rtlm::seconds;
using rtlm::tokens;

// A shard whose prefill takes 1 ms per new token and whose decode step takes 2 ms plus 1 us per
// cached token.
class linear_shard final : public rtlm::step_time_estimator {
 public:
  [[nodiscard]] seconds prefill_time(tokens new_tokens, tokens /*cached*/) const noexcept override {
    return seconds(1e-3 * static_cast<double>(new_tokens.count()));
  }
  [[nodiscard]] seconds decode_time(std::span<const tokens> kv) const noexcept override {
    double sum = 0;
    for (const tokens k : kv) sum += static_cast<double>(k.count());
    return seconds(2e-3 + 1e-6 * sum);
  }
};

rtlm::model_shape llama_70b(int tensor_parallel) {
  rtlm::model_config c = *rtlm::models::by_name("llama-3.1-70b");
  c.tensor_parallel = tensor_parallel;
  return rtlm::model_shape(c);
}

rtlm::tensor_parallel_estimator tp(
    int degree, rtlm::interconnect_config link = rtlm::interconnects::nvlink_h100()) {
  return rtlm::tensor_parallel_estimator(std::make_unique<linear_shard>(), llama_70b(degree),
                                         std::move(link));
}

TEST(tensor_parallel_estimator, adds_two_all_reduces_per_layer_and_one_for_the_embedding) {
  const rtlm::tensor_parallel_estimator tp4 = tp(4);
  EXPECT_EQ(tp4.degree(), 4);
  EXPECT_EQ(tp4.all_reduces_per_step(), 161);  // 2 x 80 layers + 1
  // A decode step of one sequence all-reduces 1 token x 8192 x 2 bytes = 16,384 bytes; a ring
  // over 4 GPUs moves 2 x 3/4 of it: 24,576 bytes at 450 GB/s, plus 5 us, 161 times.
  const double decode_comm = 161 * (5e-6 + 24'576.0 / 450e9);
  EXPECT_DOUBLE_EQ(tp4.all_reduce_time(16'384).count(), 5e-6 + 24'576.0 / 450e9);
  EXPECT_DOUBLE_EQ(tp4.communication_time(1_tok).count(), decode_comm);
  const std::vector<tokens> one{1000_tok};
  EXPECT_DOUBLE_EQ(tp4.decode_time(one).count(), 2e-3 + 1e-3 + decode_comm);
  // Batch 64: 64 tokens, 64 x 16,384 bytes per all-reduce.
  const std::vector<tokens> batch(64, 512_tok);
  EXPECT_DOUBLE_EQ(tp4.decode_time(batch).count(),
                   2e-3 + 64 * 512e-6 + 161 * (5e-6 + 1.5 * 64 * 16'384 / 450e9));
  // A 2048-token prefill: 33,554,432 bytes per all-reduce, 74.6 us each on the wire.
  EXPECT_DOUBLE_EQ(tp4.prefill_time(2048_tok, 0_tok).count(),
                   2.048 + 161 * (5e-6 + 1.5 * 33'554'432.0 / 450e9));
  // At TP 8 the ring moves 2 x 7/8 of the bytes.
  EXPECT_DOUBLE_EQ(tp(8).communication_time(2048_tok).count(),
                   161 * (5e-6 + 1.75 * 33'554'432.0 / 450e9));
}

TEST(tensor_parallel_estimator, one_gpu_and_empty_steps_add_nothing) {
  const rtlm::tensor_parallel_estimator tp1 = tp(1);
  EXPECT_EQ(tp1.communication_time(2048_tok).count(), 0.0);
  EXPECT_EQ(tp1.prefill_time(2048_tok, 0_tok).count(), 2.048);
  const rtlm::tensor_parallel_estimator tp4 = tp(4);
  EXPECT_EQ(tp4.prefill_time(0_tok, 100_tok).count(), 0.0);
  EXPECT_EQ(tp4.decode_time({}).count(), 0.0);
  EXPECT_EQ(tp4.communication_time(0_tok).count(), 0.0);
  // The shard's own times stay reachable, without communication.
  EXPECT_EQ(tp4.shard().prefill_time(2048_tok, 0_tok).count(), 2.048);
}

TEST(tensor_parallel_estimator, a_slower_link_costs_more) {
  const rtlm::tensor_parallel_estimator nvlink3 = tp(4, rtlm::interconnects::nvlink_a100());
  EXPECT_DOUBLE_EQ(nvlink3.communication_time(2048_tok).count(),
                   161 * (5e-6 + 1.5 * 33'554'432.0 / 300e9));
  EXPECT_GT(nvlink3.communication_time(2048_tok), tp(4).communication_time(2048_tok));
}

TEST(tensor_parallel_estimator, bounds_are_the_shards_relative_bounds) {
  auto shard = std::make_unique<linear_shard>();
  shard->calibrate(rtlm::step_regime::single_decode, rtlm::relative_error_bound({0.1, 0.2, 0.3}));
  const rtlm::tensor_parallel_estimator tp4(std::move(shard), llama_70b(4),
                                            rtlm::interconnects::nvlink_h100());
  const std::vector<tokens> one{1000_tok};
  // Level 0.5 of three residuals: the ceil(4 x 0.5) = 2nd smallest, 0.2.
  EXPECT_DOUBLE_EQ(tp4.decode_upper_bound(one, 0.5).count(), tp4.decode_time(one).count() * 1.2);
  EXPECT_EQ(tp4.prefill_upper_bound(16_tok, 0_tok, 0.5).count(),
            std::numeric_limits<double>::infinity());
}

std::string blamed_field(std::unique_ptr<rtlm::step_time_estimator> shard,
                         rtlm::interconnect_config link, double bytes_per_activation = 2.0) {
  try {
    const rtlm::tensor_parallel_estimator e(std::move(shard), llama_70b(4), std::move(link),
                                            bytes_per_activation);
  } catch (const rtlm::error& e) {
    return e.field();
  }
  return "";
}

TEST(tensor_parallel_estimator, bad_configuration_names_the_field) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const rtlm::interconnect_config ok = rtlm::interconnects::nvlink_h100();
  EXPECT_EQ(blamed_field(std::make_unique<linear_shard>(), ok), "");
  EXPECT_EQ(blamed_field(nullptr, ok), "tensor_parallel_estimator.shard");
  for (const double bad : {0.0, -1.0, nan}) {
    rtlm::interconnect_config link = ok;
    link.bus_bandwidth_bytes_per_second = bad;
    EXPECT_EQ(blamed_field(std::make_unique<linear_shard>(), link),
              "interconnect_config.bus_bandwidth_bytes_per_second")
        << bad;
    EXPECT_EQ(blamed_field(std::make_unique<linear_shard>(), ok, bad),
              "tensor_parallel_estimator.bytes_per_activation")
        << bad;
  }
  rtlm::interconnect_config link = ok;
  link.all_reduce_latency = seconds(-1e-6);
  EXPECT_EQ(blamed_field(std::make_unique<linear_shard>(), link),
            "interconnect_config.all_reduce_latency");
  try {
    link.all_reduce_latency = seconds(nan);
    const rtlm::tensor_parallel_estimator e(std::make_unique<linear_shard>(), llama_70b(4), link);
    FAIL() << "a NaN latency was accepted";
  } catch (const rtlm::error& e) {
    EXPECT_STREQ(
        e.what(),
        "rtlm: interconnect_config.all_reduce_latency = nan: must be a finite number >= 0");
  }
}

}  // namespace
