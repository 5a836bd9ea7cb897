// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/estimate/profile_csv.hpp"

#include <gtest/gtest.h>

#include <string>

#include "estimate/temp_file.hpp"
#include "rtlm/core/error.hpp"

namespace {

using rtlm::test::blamed_field;
using rtlm::test::temp_file;

const std::string header =
    "# rtlm-profile: 1\n# gpu: NVIDIA H100 80GB HBM3\n# model: llama-3.1-8b\n"
    "phase,batch,new_tokens,kv_lengths,graph,repeat,seconds\n";

TEST(profile_csv, repeats_group_into_points_with_metadata) {
  const temp_file f("p.csv", header +
                                 "prefill,1,2048,0,1,0,0.050\n"
                                 "prefill,1,2048,0,1,1,0.052\n"
                                 "decode,2,2,100;300,1,0,0.007\n"
                                 "prefill,1,512,1024,0,0,0.015\n"
                                 "prefill,1,2048,0,1,2,0.051\n");
  const rtlm::profile p = rtlm::load_profile_csv(f.path());
  EXPECT_EQ(p.metadata.at("gpu"), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(p.metadata.at("model"), "llama-3.1-8b");
  ASSERT_EQ(p.points.size(), 3U);
  EXPECT_EQ(p.points[0].phase, rtlm::step_phase::prefill);
  EXPECT_EQ(p.points[0].new_tokens, rtlm::tokens(2048));
  ASSERT_EQ(p.points[0].measurements.size(), 3U);
  EXPECT_DOUBLE_EQ(p.points[0].median().count(), 0.051);
  EXPECT_EQ(p.points[1].phase, rtlm::step_phase::decode);
  EXPECT_EQ(p.points[1].kv_lengths,
            (std::vector<rtlm::tokens>{rtlm::tokens(100), rtlm::tokens(300)}));
  EXPECT_EQ(p.points[2].kv_lengths.front(), rtlm::tokens(1024));
}

TEST(profile_csv, median_of_an_even_count_is_the_middle_mean) {
  rtlm::profile_point p;
  p.measurements = {rtlm::seconds(4), rtlm::seconds(1), rtlm::seconds(3), rtlm::seconds(2)};
  EXPECT_DOUBLE_EQ(p.median().count(), 2.5);
  p.measurements.clear();
  EXPECT_DOUBLE_EQ(p.median().count(), 0.0);
}

TEST(profile_csv, save_and_load_round_trip) {
  rtlm::profile p;
  p.metadata["gpu"] = "test GPU";
  p.points.push_back(
      {.phase = rtlm::step_phase::decode,
       .new_tokens = rtlm::tokens(3),
       .kv_lengths = {rtlm::tokens(1), rtlm::tokens(2), rtlm::tokens(3)},
       .measurements = {rtlm::seconds(0.0071234567891), rtlm::seconds(0.0070000001)}});
  p.points.push_back({.phase = rtlm::step_phase::prefill,
                      .new_tokens = rtlm::tokens(77),
                      .kv_lengths = {rtlm::tokens(0)},
                      .measurements = {rtlm::seconds(0.01)}});
  const temp_file f("round.csv");
  rtlm::save_profile_csv(p, f.path());
  const rtlm::profile q = rtlm::load_profile_csv(f.path());
  EXPECT_EQ(q.metadata.at("gpu"), "test GPU");
  ASSERT_EQ(q.points.size(), 2U);
  EXPECT_EQ(q.points[0].kv_lengths, p.points[0].kv_lengths);
  ASSERT_EQ(q.points[0].measurements.size(), 2U);
  EXPECT_NEAR(q.points[0].measurements[0].count(), 0.0071234567891, 1e-12);
  EXPECT_EQ(q.points[1].new_tokens, rtlm::tokens(77));
}

TEST(profile_csv, malformed_lines_are_refused_with_file_and_line) {
  struct bad_case {
    std::string contents;
    std::string field_suffix;  // what the error's field must end with
  };
  const bad_case cases[] = {
      {header + "prefill,1,2048,0,1,0,fast\n", ".csv:5 seconds"},
      {header + "prefill,1,2048,0,1,0,nan\n", ".csv:5 seconds"},
      {header + "prefill,1,2048,0,1,0,-0.1\n", ".csv:5 seconds"},
      {header + "prefetch,1,2048,0,1,0,0.1\n", ".csv:5 phase"},
      {header + "decode,2,2,100,1,0,0.1\n", ".csv:5 kv_lengths"},
      {header + "decode,2,3,100;200,1,0,0.1\n", ".csv:5 new_tokens"},
      {header + "decode,2,2,100;x,1,0,0.1\n", ".csv:5 kv_lengths"},
      {header + "decode,2,2\n", ".csv:5"},
      {header + "prefill,1,2048,0,yes,0,0.1\n", ".csv:5 graph"},
      {"# rtlm-profile: 2\n", ".csv:1 rtlm-profile"},
      {"phase,batch\n", ".csv:1"},
      {"", ".csv"},
      {header, ".csv"},
  };
  for (const bad_case& c : cases) {
    const temp_file f("bad.csv", c.contents);
    const std::string field = blamed_field([&] { (void)rtlm::load_profile_csv(f.path()); });
    ASSERT_GE(field.size(), c.field_suffix.size()) << c.contents;
    EXPECT_EQ(field.substr(field.size() - c.field_suffix.size()), c.field_suffix) << c.contents;
  }
}

TEST(profile_csv, values_outside_the_documented_ranges_are_refused_naming_line_column_and_value) {
  struct bad_case {
    std::string row;
    std::string field_suffix;  // what the error's field must end with
    std::string value;         // and its value
  };
  const bad_case cases[] = {
      // The row that moved prefill(1024) of the committed profile from 27.7 ms to 8.2 ms.
      {"prefill,1,4611686018427387904,0,1,0,0.5\n", ".csv:6 new_tokens", "4611686018427387904"},
      {"prefill,1,16777217,0,1,0,0.5\n", ".csv:6 new_tokens", "16777217"},
      {"prefill,1,1024,16776193,1,0,0.5\n", ".csv:6 kv_lengths", "16776193"},
      {"decode,1,1,4611686018427387904,1,0,0.5\n", ".csv:6 kv_lengths", "4611686018427387904"},
      {"decode,65537,65537,0,1,0,0.5\n", ".csv:6 batch", "65537"},
      {"decode,2,2,1;2;3,1,0,0.5\n", ".csv:6 kv_lengths", "1;2;3"},
      {"prefill,1,1024,0,1,0,1000001\n", ".csv:6 seconds", "1000001"},
      {"prefill,1,1024,0,1,0,1e300\n", ".csv:6 seconds", "1e300"},
      {"prefill,1,1024,0,1,0,inf\n", ".csv:6 seconds", "'inf'"},
  };
  for (const bad_case& c : cases) {
    const temp_file f("range.csv", header + "prefill,1,1024,0,1,0,0.0277\n" + c.row);
    try {
      (void)rtlm::load_profile_csv(f.path());
      ADD_FAILURE() << "accepted " << c.row;
    } catch (const rtlm::error& e) {
      ASSERT_GE(e.field().size(), c.field_suffix.size()) << c.row;
      EXPECT_EQ(e.field().substr(e.field().size() - c.field_suffix.size()), c.field_suffix)
          << c.row;
      EXPECT_EQ(e.value(), c.value) << c.row;
    }
  }
  // The largest values are accepted.
  const temp_file edge("edge.csv", header +
                                       "prefill,1,16777215,1,1,0,1000000\n"
                                       "decode,1,1,16777215,1,0,0.0068\n");
  EXPECT_EQ(rtlm::load_profile_csv(edge.path()).points.size(), 2U);
}

TEST(profile_csv, a_byte_order_mark_is_skipped_and_a_directory_is_named) {
  const temp_file f("bom.csv", "\xEF\xBB\xBF" + header + "prefill,1,2048,0,1,0,0.050\n");
  EXPECT_EQ(rtlm::load_profile_csv(f.path()).points.size(), 1U);
  try {
    (void)rtlm::load_profile_csv(std::string(RTLM_TEST_PROFILE_DIR));
    ADD_FAILURE() << "a directory loaded";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), "file");
    EXPECT_EQ(e.requirement(), "is a directory, not a file");
  }
}

TEST(profile_csv, a_missing_file_is_named) {
  EXPECT_EQ(blamed_field([] { (void)rtlm::load_profile_csv("/nonexistent/profile.csv"); }), "file");
}

TEST(profile_csv, the_committed_tensor_parallel_shard_profile_loads) {
  const rtlm::profile p = rtlm::load_profile_csv(std::string(RTLM_TEST_PROFILE_DIR) +
                                                 "/h100_llama-3.1-70b-tp4-shard.csv");
  EXPECT_EQ(p.metadata.at("model"), "llama-3.1-70b");
  EXPECT_EQ(p.metadata.at("tensor_parallel"), "4");
  EXPECT_EQ(p.metadata.at("gpu"), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(p.points.size(), 125U);
}

TEST(profile_csv, the_committed_profiles_load) {
  for (const char* name : {"h100_llama-3.1-8b.csv", "h100_qwen2.5-7b.csv"}) {
    const rtlm::profile p = rtlm::load_profile_csv(std::string(RTLM_TEST_PROFILE_DIR) + "/" + name);
    EXPECT_EQ(p.metadata.at("gpu"), "NVIDIA H100 80GB HBM3");
    EXPECT_GT(p.points.size(), 100U) << name;
  }
}

}  // namespace
