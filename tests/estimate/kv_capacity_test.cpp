// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// KV-cache capacity from GPU memory, against figures computed by hand from each model's
// published dimensions and each GPU's datasheet memory. Every byte count below is an integer
// under 2^53, so the comparisons of sizes are exact.

#include "rtlm/estimate/kv_capacity.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "rtlm/core/error.hpp"

namespace {

using namespace rtlm::literals;

rtlm::model_shape llama_70b(int tensor_parallel) {
  rtlm::model_config c = *rtlm::models::by_name("llama-3.1-70b");
  c.tensor_parallel = tensor_parallel;
  return rtlm::model_shape(c);
}

TEST(kv_capacity, llama_3_1_8b_on_an_h100) {
  const rtlm::model_shape llama(*rtlm::models::by_name("llama-3.1-8b"));
  const rtlm::kv_cache_plan plan = rtlm::plan_kv_cache(llama, rtlm::accelerators::h100_sxm_bf16());
  EXPECT_EQ(plan.usable_bytes, 72e9);  // 80 GB x 0.9
  // The weights a step reads (15,009,849,344 bytes, model_shape_test) plus the 128256 x 4096
  // embedding table at 2 bytes (1,050,673,152).
  EXPECT_EQ(plan.weight_bytes, 16'060'522'496.0);
  // 8192 tokens x (2 x 4096 + 4096 + 2 x 1024 + 3 x 14336 = 57,344) x 2 bytes = 939,524,096,
  // plus 256 sequences x 128256 fp32 logits = 131,334,144.
  EXPECT_EQ(plan.activation_reserve_bytes, 1'070'858'240.0);
  EXPECT_EQ(plan.overhead_bytes, 0.0);
  // 72e9 - 16,060,522,496 - 1,070,858,240.
  EXPECT_EQ(plan.kv_cache_bytes, 54'868'619'264.0);
  EXPECT_EQ(plan.kv_bytes_per_token, 131'072.0);
  // Blocks of 16 tokens x 131,072 bytes = 2,097,152 bytes: 26,163 whole blocks (26,163.4).
  EXPECT_EQ(plan.blocks, 26'163);
  EXPECT_EQ(plan.capacity, 418'608_tok);  // 26,163 x 16
  EXPECT_EQ(rtlm::kv_cache_capacity(llama, rtlm::accelerators::h100_sxm_bf16()), 418'608_tok);
}

TEST(kv_capacity, llama_3_1_70b_per_gpu_at_each_tensor_parallel_degree) {
  const rtlm::hardware_config h100 = rtlm::accelerators::h100_sxm_bf16();
  // TP 4: weights 34,753,495,040 (model_shape_test) + 32064 x 8192 x 2 = 35,278,831,616;
  // reserve 8192 x (16384 + 2048 + 512 + 3 x 7168) x 2 + 256 x 32064 x 4 = 695,533,568;
  // KV 72e9 - both = 36,025,634,816 at 81,920 bytes per token: 27,485 blocks of 16.
  const rtlm::kv_cache_plan tp4 = rtlm::plan_kv_cache(llama_70b(4), h100);
  EXPECT_EQ(tp4.weight_bytes, 35'278'831'616.0);
  EXPECT_EQ(tp4.activation_reserve_bytes, 695'533'568.0);
  EXPECT_EQ(tp4.kv_cache_bytes, 36'025'634'816.0);
  EXPECT_EQ(tp4.capacity, 439'760_tok);
  // TP 8: weights 17,640,734,720, reserve 481,984,512, 40,960 bytes per token.
  const rtlm::kv_cache_plan tp8 = rtlm::plan_kv_cache(llama_70b(8), h100);
  EXPECT_EQ(tp8.weight_bytes, 17'640'734'720.0);
  EXPECT_EQ(tp8.activation_reserve_bytes, 481'984'512.0);
  EXPECT_EQ(tp8.capacity, 1'315'360_tok);  // 82,210 blocks
  // TP 2 on an H200 (141 GB): weights 70,555,025,408, reserve 1,122,631,680, 163,840 bytes per
  // token: 126.9e9 - both = 55,222,342,912 bytes, 21,065 blocks.
  const rtlm::kv_cache_plan h200 =
      rtlm::plan_kv_cache(llama_70b(2), rtlm::accelerators::h200_sxm_bf16());
  EXPECT_EQ(h200.kv_cache_bytes, 55'222'342'912.0);
  EXPECT_EQ(h200.capacity, 337'040_tok);
}

TEST(kv_capacity, the_reserve_and_blocks_follow_the_configuration) {
  const rtlm::model_shape llama(*rtlm::models::by_name("llama-3.1-8b"));
  const rtlm::hardware_config h100 = rtlm::accelerators::h100_sxm_bf16();
  // 2048 tokens and 128 sequences: 2048 x 114,688 + 128 x 513,024 = 300,548,096 bytes; 1 GB of
  // overhead; blocks of 1 token: (72e9 - 16,060,522,496 - 300,548,096 - 1e9) / 131,072
  // = 54,638,929,408 / 131,072 = 416,861.9 tokens.
  const rtlm::kv_cache_plan plan = rtlm::plan_kv_cache(llama, h100,
                                                       {.gpu_memory_utilization = 0.9,
                                                        .max_batched_tokens = 2048_tok,
                                                        .max_sequences = 128,
                                                        .block_size = 1_tok,
                                                        .overhead_bytes = 1e9});
  EXPECT_EQ(plan.activation_reserve_bytes, 300'548'096.0);
  EXPECT_EQ(plan.kv_cache_bytes, 54'638'929'408.0);
  EXPECT_EQ(plan.capacity, 416'861_tok);
  // A lower utilisation leaves less: 0.5 x 80 GB = 40e9, less the same weights and reserve.
  EXPECT_EQ(rtlm::plan_kv_cache(llama, h100, {.gpu_memory_utilization = 0.5}).kv_cache_bytes,
            40e9 - 16'060'522'496.0 - 1'070'858'240.0);
}

TEST(kv_capacity, a_model_that_does_not_fit_names_the_model_gpu_and_degree) {
  // 70B at TP 1: 141 GB of weights against 72 GB usable.
  try {
    (void)rtlm::kv_cache_capacity(llama_70b(1), rtlm::accelerators::h100_sxm_bf16());
    FAIL() << "a 141 GB model was fitted into 72 GB";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(),
              "model 'llama-3.1-70b' on 'NVIDIA H100 SXM5 80GB (bf16 dense)': "
              "tensor_parallel");
    EXPECT_EQ(e.value(), "1");
    EXPECT_NE(std::string(e.what()).find("raise tensor_parallel"), std::string::npos);
  }
  // TP 2 on an 80 GB A100: 70.6 GB of weights and a 1.1 GB reserve leave 0.32 GB of 72 GB,
  // 122 blocks (1,952 tokens); on a 40 GB A100 nothing is left.
  EXPECT_EQ(rtlm::kv_cache_capacity(llama_70b(2), rtlm::accelerators::a100_sxm_80gb_bf16()),
            1'952_tok);
  try {
    (void)rtlm::kv_cache_capacity(llama_70b(2), rtlm::accelerators::a100_sxm_40gb_bf16());
    FAIL() << "a 70.6 GB shard was fitted into 36 GB";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.value(), "2");
  }
  // Llama-3.1-8B fits an L4 (24 GB x 0.9 = 21.6 GB) with room for the cache.
  EXPECT_GT(rtlm::kv_cache_capacity(rtlm::model_shape(*rtlm::models::by_name("llama-3.1-8b")),
                                    rtlm::accelerators::l4_bf16()),
            0_tok);
}

std::string blamed_field(const rtlm::kv_cache_config& config,
                         rtlm::hardware_config gpu = rtlm::accelerators::h100_sxm_bf16()) {
  try {
    (void)rtlm::plan_kv_cache(rtlm::model_shape(*rtlm::models::by_name("llama-3.1-8b")), gpu,
                              config);
  } catch (const rtlm::error& e) {
    return e.field();
  }
  return "";
}

TEST(kv_capacity, bad_configuration_names_the_field_and_value) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(blamed_field({}), "");
  EXPECT_EQ(blamed_field({.gpu_memory_utilization = 1.0}), "");
  for (const double bad : {0.0, -0.5, 1.01, nan}) {
    EXPECT_EQ(blamed_field({.gpu_memory_utilization = bad}),
              "kv_cache_config.gpu_memory_utilization")
        << bad;
  }
  EXPECT_EQ(blamed_field({.max_batched_tokens = 0_tok}), "kv_cache_config.max_batched_tokens");
  EXPECT_EQ(blamed_field({.max_sequences = 0}), "kv_cache_config.max_sequences");
  EXPECT_EQ(blamed_field({.block_size = 0_tok}), "kv_cache_config.block_size");
  EXPECT_EQ(blamed_field({.overhead_bytes = -1}), "kv_cache_config.overhead_bytes");
  rtlm::hardware_config unknown = rtlm::accelerators::h100_sxm_bf16();
  unknown.memory_capacity_bytes = 0;
  EXPECT_EQ(blamed_field({}, unknown), "hardware_config.memory_capacity_bytes");
  try {
    (void)rtlm::kv_cache_capacity(rtlm::model_shape(*rtlm::models::by_name("llama-3.1-8b")),
                                  rtlm::accelerators::h100_sxm_bf16(), 1.5);
    FAIL() << "a utilisation of 1.5 was accepted";
  } catch (const rtlm::error& e) {
    EXPECT_STREQ(e.what(), "rtlm: kv_cache_config.gpu_memory_utilization = 1.5: must be in (0, 1]");
  }
}

}  // namespace
