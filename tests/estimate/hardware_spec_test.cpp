// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/estimate/hardware_spec.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>

#include "rtlm/core/error.hpp"

namespace {

const rtlm::hardware_spec toy({.name = "toy",
                               .peak_flops_per_second = 1e12,
                               .memory_bandwidth_bytes_per_second = 1e9});

TEST(hardware_spec, roofline_takes_the_binding_ceiling) {
  // 2e12 FLOPs at 1e12 FLOP/s = 2 s; 5e8 bytes at 1e9 B/s = 0.5 s: compute-bound.
  const rtlm::roofline_estimate compute =
      toy.roofline({.matmul_flops = 1.5e12, .attention_flops = 0.5e12, .weight_bytes = 5e8});
  EXPECT_DOUBLE_EQ(compute.compute_time.count(), 2.0);
  EXPECT_DOUBLE_EQ(compute.memory_time.count(), 0.5);
  EXPECT_DOUBLE_EQ(compute.time().count(), 2.0);
  EXPECT_FALSE(compute.memory_bound());

  // 1e9 FLOPs = 1 ms; 3e9 bytes over weights, KV reads and writes = 3 s: memory-bound.
  const rtlm::roofline_estimate memory = toy.roofline(
      {.matmul_flops = 1e9, .weight_bytes = 1e9, .kv_read_bytes = 1.5e9, .kv_write_bytes = 0.5e9});
  EXPECT_DOUBLE_EQ(memory.compute_time.count(), 1e-3);
  EXPECT_DOUBLE_EQ(memory.time().count(), 3.0);
  EXPECT_TRUE(memory.memory_bound());
}

TEST(hardware_spec, llama_decode_on_an_h100_is_memory_bound_and_long_prefill_compute_bound) {
  const rtlm::model_shape llama(rtlm::models::llama_3_8b());
  const rtlm::hardware_spec h100(rtlm::accelerators::h100_sxm_bf16());
  const std::vector<rtlm::tokens> kv{rtlm::tokens(1024)};
  const rtlm::roofline_estimate decode = h100.roofline(llama.decode_work(kv));
  EXPECT_TRUE(decode.memory_bound());
  // 15,144,206,336 bytes at 3.35e12 B/s.
  EXPECT_DOUBLE_EQ(decode.time().count(), 15'144'206'336.0 / 3.35e12);
  const rtlm::roofline_estimate prefill = h100.roofline(llama.prefill_work(rtlm::tokens(32768)));
  EXPECT_FALSE(prefill.memory_bound());
  EXPECT_DOUBLE_EQ(prefill.time().count(), 738'881'454'473'216.0 / 989.4e12);
}

TEST(hardware_spec, accelerators_by_short_name) {
  struct expected {
    const char* name;
    double flops, bandwidth, memory;
  };
  for (const expected& e :
       {expected{"h100", 989.4e12, 3.35e12, 80e9}, expected{"h200", 989.4e12, 4.8e12, 141e9},
        expected{"a100-80gb", 312e12, 2.039e12, 80e9},
        expected{"a100-40gb", 312e12, 1.555e12, 40e9}, expected{"l4", 121e12, 300e9, 24e9}}) {
    const std::optional<rtlm::hardware_config> c = rtlm::accelerators::by_name(e.name);
    ASSERT_TRUE(c.has_value()) << e.name;
    EXPECT_EQ(c->peak_flops_per_second, e.flops) << e.name;
    EXPECT_EQ(c->memory_bandwidth_bytes_per_second, e.bandwidth) << e.name;
    EXPECT_EQ(c->memory_capacity_bytes, e.memory) << e.name;
    EXPECT_NO_THROW(rtlm::hardware_spec{*c}) << e.name;
  }
  EXPECT_EQ(rtlm::accelerators::by_name("h100")->name, rtlm::accelerators::h100_sxm_bf16().name);
  EXPECT_FALSE(rtlm::accelerators::by_name("H100").has_value());
  EXPECT_FALSE(rtlm::accelerators::by_name("a100").has_value());
  EXPECT_FALSE(rtlm::accelerators::by_name("").has_value());
}

std::string blamed_field(const rtlm::hardware_config& config) {
  try {
    rtlm::hardware_spec spec(config);
  } catch (const rtlm::error& e) {
    return e.field();
  }
  return "";
}

TEST(hardware_spec, bad_configuration_names_the_field) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  rtlm::hardware_config c = rtlm::accelerators::h100_sxm_bf16();
  EXPECT_EQ(blamed_field(c), "");
  for (double bad : {0.0, -3.35e12, nan, inf}) {
    c = rtlm::accelerators::h100_sxm_bf16();
    c.memory_bandwidth_bytes_per_second = bad;
    EXPECT_EQ(blamed_field(c), "hardware_config.memory_bandwidth_bytes_per_second") << bad;
    c = rtlm::accelerators::h100_sxm_bf16();
    c.peak_flops_per_second = bad;
    EXPECT_EQ(blamed_field(c), "hardware_config.peak_flops_per_second") << bad;
  }
  c = rtlm::accelerators::h100_sxm_bf16();
  c.memory_capacity_bytes = -1;
  EXPECT_EQ(blamed_field(c), "hardware_config.memory_capacity_bytes");
}

TEST(hardware_spec, negative_bandwidth_message_shows_the_value) {
  rtlm::hardware_config c = rtlm::accelerators::h100_sxm_bf16();
  c.memory_bandwidth_bytes_per_second = -1.5;
  try {
    rtlm::hardware_spec spec(c);
    FAIL() << "a negative bandwidth was accepted";
  } catch (const rtlm::error& e) {
    EXPECT_STREQ(e.what(),
                 "rtlm: hardware_config.memory_bandwidth_bytes_per_second = -1.5: "
                 "must be a finite number > 0");
  }
}

}  // namespace
