// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/estimate/step_features.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"

namespace {

using rtlm::step_feature;
using rtlm::tokens;

double at(const rtlm::step_feature_vector& f, step_feature which) {
  return f[static_cast<std::size_t>(which)];
}

const rtlm::step_featurizer llama_h100{rtlm::model_shape(rtlm::models::llama_3_8b()),
                                       rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())};

TEST(flash_decode_splits, one_split_once_the_blocks_nearly_fill_the_slots) {
  // 264 slots (two blocks on each of 132 SMs): 0.8 x 264 = 211.2 blocks.
  EXPECT_EQ(rtlm::detail::flash_decode_splits(212, 264, 256), 1);
  EXPECT_EQ(rtlm::detail::flash_decode_splits(256, 264, 256), 1);
}

TEST(flash_decode_splits, the_fewest_splits_within_85_percent_of_the_best_wave_efficiency) {
  // 16 blocks over 256 KV tiles: the best eligible efficiency is 256 / 264 (16 or 32 splits);
  // 14 splits (224 / 264 = 0.848) is the first at 85% of it; 13 (0.788) is not.
  EXPECT_EQ(rtlm::detail::flash_decode_splits(16, 264, 256), 14);
  // A single KV tile cannot be split.
  EXPECT_EQ(rtlm::detail::flash_decode_splits(16, 264, 1), 1);
}

TEST(split_kv_time, a_uniform_batch_without_splits_pays_for_the_idle_slots_of_its_wave) {
  // 32 sequences x 8 KV heads = 256 blocks, no split, one wave of 264 slots: every slot's block
  // reads one sequence's KV, so the step takes 264 / 256 of an even spread.
  const std::vector<tokens> kv(32, tokens(4096));
  const rtlm::step_feature_vector f = llama_h100.decode(kv);
  EXPECT_DOUBLE_EQ(at(f, step_feature::split_kv_time) / at(f, step_feature::kv_read_time),
                   264.0 / 256.0);
}

TEST(split_kv_time, a_mixed_batch_waits_for_its_longest_sequence) {
  // One 16,384-token sequence among 31 of 128: the longest sequence's block bounds the step.
  std::vector<tokens> kv(31, tokens(128));
  kv.push_back(tokens(16384));
  const rtlm::step_feature_vector mixed = llama_h100.decode(kv);
  const std::vector<tokens> longest_alone(32, tokens(16384));
  EXPECT_DOUBLE_EQ(at(mixed, step_feature::split_kv_time),
                   at(llama_h100.decode(longest_alone), step_feature::split_kv_time));
  EXPECT_GT(at(mixed, step_feature::split_kv_time), 10 * at(mixed, step_feature::kv_read_time));
}

TEST(split_kv_time, falls_back_to_the_kv_read_time_when_the_sms_are_unknown) {
  rtlm::hardware_config unknown = rtlm::accelerators::h100_sxm_bf16();
  unknown.multiprocessors = 0;
  const rtlm::step_featurizer f{rtlm::model_shape(rtlm::models::llama_3_8b()),
                                rtlm::hardware_spec(unknown)};
  const std::vector<tokens> kv{tokens(100), tokens(9000)};
  const rtlm::step_feature_vector v = f.decode(kv);
  EXPECT_DOUBLE_EQ(at(v, step_feature::split_kv_time), at(v, step_feature::kv_read_time));
}

TEST(hardware_spec, refuses_negative_multiprocessors) {
  rtlm::hardware_config bad = rtlm::accelerators::h100_sxm_bf16();
  bad.multiprocessors = -1;
  try {
    const rtlm::hardware_spec spec(bad);
    FAIL() << "accepted -1 multiprocessors";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), "hardware_config.multiprocessors");
  }
}

}  // namespace
