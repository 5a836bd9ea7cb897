// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// The third-party profile loaders against small verbatim excerpts of the published files
// (tests/data/profiles/, see its README), with every expected value worked out by hand from the
// excerpt's lines, and against malformed files written by the tests themselves.

#include "rtlm/estimate/third_party_profiles.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/core/error.hpp"

#ifndef RTLM_TEST_DATA_DIR
#error "the tests need RTLM_TEST_DATA_DIR, the path of tests/data"
#endif

namespace {

using rtlm::step_phase;

std::string data_file(std::string_view name) {
  return std::string(RTLM_TEST_DATA_DIR) + "/profiles/" + std::string(name);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Line `n` (1 = the header) of a file, without its newline.
std::string line_of(const std::string& path, int n) {
  std::istringstream in(read_text(path));
  std::string line;
  for (int i = 0; i < n; ++i) std::getline(in, line);
  return line;
}

// A file the test writes and removes again. Named after the test and the build mode, so the
// compiled and header-only suites can run side by side.
class scratch_file {
 public:
  explicit scratch_file(std::string_view content) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
#ifdef RTLM_HEADER_ONLY
    const std::string mode = "header_only";
#else
    const std::string mode = "compiled";
#endif
    path_ = (std::filesystem::temp_directory_path() /
             ("rtlm_" + mode + "_" + info->name() + "_" + std::to_string(count_++) + ".csv"))
                .string();
    std::ofstream(path_, std::ios::binary) << content;
  }
  scratch_file(const scratch_file&) = delete;
  scratch_file& operator=(const scratch_file&) = delete;
  scratch_file(scratch_file&&) = delete;
  scratch_file& operator=(scratch_file&&) = delete;
  ~scratch_file() { std::filesystem::remove(path_); }

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  static inline int count_ = 0;
  std::string path_;
};

// The rtlm::error that `load` throws; a test failure if it throws none.
rtlm::error error_from(const std::function<void()>& load) {
  try {
    load();
  } catch (const rtlm::error& e) {
    return e;
  }
  ADD_FAILURE() << "no rtlm::error was thrown";
  return {"(none)", "(none)", "(none)"};
}

std::vector<std::int64_t> kv_of(const rtlm::profile_point& p) {
  std::vector<std::int64_t> kv;
  for (rtlm::tokens t : p.kv_lengths) kv.push_back(t.count());
  return kv;
}

// ---- splitwise ----------------------------------------------------------------------------

const std::string splitwise_excerpt = data_file("splitwise/perf_model_excerpt.csv");
const rtlm::splitwise_selection h100_tp2{
    .model = "llama2-70b", .hardware = "h100-80gb", .tensor_parallel = 2};

TEST(third_party_splitwise, maps_each_row_to_a_batch_prefill_and_a_mean_decode_step) {
  const rtlm::profile p = rtlm::load_splitwise_profile(splitwise_excerpt, h100_tp2);
  EXPECT_EQ(p.source, splitwise_excerpt);
  // In order of first appearance: lines 7-11 (prompt 512, batch 1, 128 tokens), 12-16 (batch 4),
  // 22-26 (prompt 1024), 27-31 (512 prompt, 1024 tokens: its prefill joins the first point).
  ASSERT_EQ(p.points.size(), 7U);
  const std::int64_t mid_128 = 512 + 128 / 2;
  struct expected {
    step_phase phase;
    std::int64_t new_tokens;
    std::vector<std::int64_t> kv;
  };
  const std::vector<expected> shapes = {
      {step_phase::prefill, 512, {0}},
      {step_phase::decode, 1, {mid_128}},
      {step_phase::prefill, 4 * 512, {0, 0, 0, 0}},
      {step_phase::decode, 4, {mid_128, mid_128, mid_128, mid_128}},
      {step_phase::prefill, 1024, {0}},
      {step_phase::decode, 1, {1024 + 64}},
      {step_phase::decode, 1, {512 + 1024 / 2}},
  };
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(p.points[i].phase, shapes[i].phase);
    EXPECT_EQ(p.points[i].new_tokens.count(), shapes[i].new_tokens);
    EXPECT_EQ(kv_of(p.points[i]), shapes[i].kv);
  }
}

TEST(third_party_splitwise, takes_medians_of_the_repeats_in_seconds) {
  const rtlm::profile p = rtlm::load_splitwise_profile(splitwise_excerpt, h100_tp2);
  ASSERT_EQ(p.points.size(), 7U);
  // Every repeat is kept, in file order, converted from ms.
  EXPECT_DOUBLE_EQ(p.points[1].measurements.front().count(), 36.97136075164404 / 1e3);
  // Prefill 512: prompt_time of lines 7-11 and 27-31, sorted 82.85 83.26 83.30 83.41 [83.827
  // 83.829] 83.90 83.94 83.95 85.40: the mean of the middle two.
  EXPECT_DOUBLE_EQ(p.points[0].median().count(), (83.82702799281105 + 83.82929296931252) / 2 / 1e3);
  // token_time of lines 7-11: 36.87 36.97 [37.00] 37.05 37.11.
  EXPECT_DOUBLE_EQ(p.points[1].median().count(), 36.99995853523834 / 1e3);
  // Batch 4, lines 12-16: prompt 298.87 299.06 [299.82] 299.84 300.42, token 39.88 39.93 [39.98]
  // 39.99 40.00.
  EXPECT_DOUBLE_EQ(p.points[2].median().count(), 299.82047295197845 / 1e3);
  EXPECT_DOUBLE_EQ(p.points[3].median().count(), 39.98172925977682 / 1e3);
  // Prompt 1024, lines 22-26: prompt 156.82 157.60 [157.95] 158.13 158.52, token 37.24 37.34
  // [37.39] 37.41 37.42.
  EXPECT_DOUBLE_EQ(p.points[4].median().count(), 157.95009298017249 / 1e3);
  EXPECT_DOUBLE_EQ(p.points[5].median().count(), 37.387155197601125 / 1e3);
  // 1024 tokens, lines 27-31: token 36.89 37.04 [37.07] 37.10 37.15.
  EXPECT_DOUBLE_EQ(p.points[6].median().count(), 37.06656553445127 / 1e3);
}

TEST(third_party_splitwise, keeps_a_row_copied_byte_for_byte_once) {
  // Lines 17-21 repeat lines 7-11 exactly (splitwise lists its sweeps' centre once per sweep).
  ASSERT_EQ(line_of(splitwise_excerpt, 17), line_of(splitwise_excerpt, 7));
  const rtlm::profile p = rtlm::load_splitwise_profile(splitwise_excerpt, h100_tp2);
  ASSERT_EQ(p.points.size(), 7U);
  EXPECT_EQ(p.points[0].measurements.size(), 10U);  // 5 from lines 7-11, 5 from 27-31
  EXPECT_EQ(p.points[1].measurements.size(), 5U);
  EXPECT_EQ(p.points[2].measurements.size(), 5U);
}

TEST(third_party_splitwise, reads_only_the_selected_hardware) {
  const rtlm::profile p = rtlm::load_splitwise_profile(
      splitwise_excerpt, {.model = "llama2-70b", .hardware = "a100-80gb", .tensor_parallel = 2});
  ASSERT_EQ(p.points.size(), 2U);
  // Lines 2-6: prompt 195.56 196.25 [196.86] 197.14 197.44.
  EXPECT_DOUBLE_EQ(p.points[0].median().count(), 196.86237908899784 / 1e3);
  EXPECT_EQ(p.metadata.at("gpu"), "a100-80gb");
}

TEST(third_party_splitwise, records_what_was_selected_and_what_the_points_mean) {
  const rtlm::profile p = rtlm::load_splitwise_profile(splitwise_excerpt, h100_tp2);
  EXPECT_EQ(p.metadata.at("format"), "splitwise perf_model.csv");
  EXPECT_EQ(p.metadata.at("model"), "llama2-70b");
  EXPECT_EQ(p.metadata.at("gpu"), "h100-80gb");
  EXPECT_EQ(p.metadata.at("tensor_parallel"), "2");
  EXPECT_NE(p.metadata.at("notes").find("mean decode step"), std::string::npos);
}

TEST(third_party_splitwise, refuses_a_selection_that_matches_no_row) {
  const rtlm::error e = error_from([] {
    (void)rtlm::load_splitwise_profile(
        splitwise_excerpt, {.model = "llama2-70b", .hardware = "h100-80gb", .tensor_parallel = 4});
  });
  EXPECT_EQ(e.field(), splitwise_excerpt + " selection");
  EXPECT_EQ(e.value(), "model 'llama2-70b', hardware 'h100-80gb', tensor_parallel 4");
}

TEST(third_party_splitwise, refuses_a_tensor_parallel_degree_below_one) {
  const rtlm::error e = error_from([] {
    (void)rtlm::load_splitwise_profile(
        splitwise_excerpt, {.model = "llama2-70b", .hardware = "h100-80gb", .tensor_parallel = 0});
  });
  EXPECT_EQ(e.field(), "splitwise_selection.tensor_parallel");
  EXPECT_EQ(e.value(), "0");
}

const std::string splitwise_header =
    "model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,"
    "token_time,e2e_time,tensor_parallel\n";

TEST(third_party_splitwise, names_file_line_and_column_of_a_value_that_is_not_a_number) {
  const scratch_file f(splitwise_header +
                       "llama2-70b,h100-80gb,512,1,128,0.0,0.0,85.4,36.9,4784.1,2\n"
                       "llama2-70b,h100-80gb,512,1,128,0.0,0.0,abc,37.0,4792.5,2\n");
  const rtlm::error e = error_from([&] { (void)rtlm::load_splitwise_profile(f.path(), h100_tp2); });
  EXPECT_EQ(e.field(), f.path() + ":3 prompt_time");
  EXPECT_EQ(e.value(), "'abc'");
}

TEST(third_party_splitwise, rejects_a_malformed_row_that_the_selection_would_skip) {
  const scratch_file f(splitwise_header +
                       "llama2-70b,a100-80gb,512,1,128,0.0,0.0,196.3,54.9,,2\n"
                       "llama2-70b,a100-80gb,512,1,128,0.0,0.0,196.3,,7165.3,2\n");
  const rtlm::error e = error_from([&] { (void)rtlm::load_splitwise_profile(f.path(), h100_tp2); });
  EXPECT_EQ(e.field(), f.path() + ":3 token_time");
  EXPECT_EQ(e.value(), "''");
}

TEST(third_party_splitwise, rejects_a_time_that_is_not_positive_and_a_size_below_one) {
  const scratch_file zero_time(splitwise_header +
                               "llama2-70b,h100-80gb,512,1,128,0.0,0.0,0,36.9,4784.1,2\n");
  rtlm::error e =
      error_from([&] { (void)rtlm::load_splitwise_profile(zero_time.path(), h100_tp2); });
  EXPECT_EQ(e.field(), zero_time.path() + ":2 prompt_time");
  EXPECT_EQ(e.value(), "'0'");
  const scratch_file no_batch(splitwise_header +
                              "llama2-70b,h100-80gb,512,0,128,0.0,0.0,85.4,36.9,4784.1,2\n");
  e = error_from([&] { (void)rtlm::load_splitwise_profile(no_batch.path(), h100_tp2); });
  EXPECT_EQ(e.field(), no_batch.path() + ":2 batch_size");
  EXPECT_EQ(e.value(), "'0'");
}

TEST(third_party_splitwise, refuses_sizes_and_times_outside_the_profile_limits) {
  // A batch of 2^62 sequences used to be allocated as a point's KV list (std::length_error).
  const scratch_file huge_batch(
      splitwise_header +
      "llama2-70b,h100-80gb,512,4611686018427387904,128,0.0,0.0,85.4,36.9,4784.1,2\n");
  rtlm::error e =
      error_from([&] { (void)rtlm::load_splitwise_profile(huge_batch.path(), h100_tp2); });
  EXPECT_EQ(e.field(), huge_batch.path() + ":2 batch_size");
  EXPECT_EQ(e.value(), "'4611686018427387904'");
  const scratch_file huge_prompt(
      splitwise_header + "llama2-70b,h100-80gb,16777217,1,128,0.0,0.0,85.4,36.9,4784.1,2\n");
  e = error_from([&] { (void)rtlm::load_splitwise_profile(huge_prompt.path(), h100_tp2); });
  EXPECT_EQ(e.field(), huge_prompt.path() + ":2 prompt_size");
  // Each within its column's limit, but the step is not: 2^16 sequences of 2^10 tokens.
  const scratch_file big_step(splitwise_header +
                              "llama2-70b,h100-80gb,1024,65536,128,0.0,0.0,85.4,36.9,4784.1,2\n");
  e = error_from([&] { (void)rtlm::load_splitwise_profile(big_step.path(), h100_tp2); });
  EXPECT_EQ(e.field(), big_step.path() + ":2 new tokens");
  const scratch_file slow(splitwise_header +
                          "llama2-70b,h100-80gb,512,1,128,0.0,0.0,2e9,36.9,4784.1,2\n");
  e = error_from([&] { (void)rtlm::load_splitwise_profile(slow.path(), h100_tp2); });
  EXPECT_EQ(e.field(), slow.path() + ":2 step time");
}

TEST(third_party_splitwise, names_the_column_a_header_lacks) {
  const scratch_file f(
      "model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,"
      "e2e_time,tensor_parallel\n"
      "llama2-70b,h100-80gb,512,1,128,0.0,0.0,85.4,4784.1,2\n");
  const rtlm::error e = error_from([&] { (void)rtlm::load_splitwise_profile(f.path(), h100_tp2); });
  EXPECT_EQ(e.field(), f.path() + ":1 token_time");
  EXPECT_EQ(e.value(), "(missing)");
}

TEST(third_party_splitwise, names_the_first_column_a_short_row_lacks) {
  const scratch_file f(splitwise_header + "llama2-70b,h100-80gb,512,1,128,0.0,0.0,85.4\n");
  const rtlm::error e = error_from([&] { (void)rtlm::load_splitwise_profile(f.path(), h100_tp2); });
  EXPECT_EQ(e.field(), f.path() + ":2 token_time");
  EXPECT_EQ(e.value(), "'llama2-70b,h100-80gb,512,1,128,0.0,0.0,85.4'");
}

TEST(third_party_splitwise, refuses_a_row_longer_than_the_header) {
  const scratch_file f(splitwise_header +
                       "llama2-70b,h100-80gb,512,1,128,0.0,0.0,85.4,36.9,4784.1,2,7\n");
  const rtlm::error e = error_from([&] { (void)rtlm::load_splitwise_profile(f.path(), h100_tp2); });
  EXPECT_EQ(e.field(), f.path() + ":2");
}

TEST(third_party_splitwise, refuses_an_empty_file_and_a_file_of_only_a_header) {
  const scratch_file empty("");
  rtlm::error e = error_from([&] { (void)rtlm::load_splitwise_profile(empty.path(), h100_tp2); });
  EXPECT_EQ(e.field(), empty.path() + ":1 model");
  EXPECT_EQ(e.value(), "(empty file)");
  const scratch_file header_only(splitwise_header);
  e = error_from([&] { (void)rtlm::load_splitwise_profile(header_only.path(), h100_tp2); });
  EXPECT_EQ(e.field(), header_only.path() + " selection");
}

TEST(third_party_splitwise, reads_windows_line_ends_the_same) {
  std::string crlf;
  for (char c : read_text(splitwise_excerpt)) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  const scratch_file f(crlf);
  const rtlm::profile p = rtlm::load_splitwise_profile(f.path(), h100_tp2);
  const rtlm::profile q = rtlm::load_splitwise_profile(splitwise_excerpt, h100_tp2);
  ASSERT_EQ(p.points.size(), q.points.size());
  for (std::size_t i = 0; i < p.points.size(); ++i) {
    EXPECT_EQ(p.points[i].measurements, q.points[i].measurements);
  }
}

TEST(third_party_any, name_a_file_that_cannot_be_read) {
  const std::string missing = data_file("no_such_file.csv");
  const rtlm::error e = error_from([&] { (void)rtlm::load_splitwise_profile(missing, h100_tp2); });
  EXPECT_EQ(e.field(), "file");
  EXPECT_EQ(e.value(), missing);
}

// ---- LLMServingSim --------------------------------------------------------------------------

const std::string llama8_layers =
    data_file("llmservingsim/h100_llama-3.1-8b_tp1_layers_excerpt.csv");
const std::string llama70_layers =
    data_file("llmservingsim/h100_llama-3.1-70b_tp4_layers_excerpt.csv");
const std::string llama70_attention =
    data_file("llmservingsim/h100_llama-3.1-70b_tp4_attention_excerpt.csv");

// Llama-3.1-8B, input 1 and 2 (lines 2-16, 17-31), in ns: once per step embedding,
// final_layernorm and lm_head; per layer (32) the twelve other operators, attn last.
constexpr double llama8_input1_ns =
    2915.0 + 18363 + 366336 +
    32 * ((17701.0 + 16078 + 8275 + 8065 + 26853 + 15995 + 17120 + 41769 + 39978 + 4179 + 42647) +
          5810);
constexpr double llama8_input2_ns =
    3490.0 + 21018 + 364702 +
    32 * ((20284.0 + 16383 + 8313 + 8066 + 30448 + 16324 + 19660 + 41969 + 39847 + 4361 + 42710) +
          9185);

TEST(third_party_llmservingsim, composes_whole_prefill_steps_from_operator_medians) {
  const rtlm::profile p =
      rtlm::load_llmservingsim_profile(llama8_layers, {.layers = 32, .tensor_parallel = 1});
  EXPECT_EQ(p.source, llama8_layers);
  ASSERT_EQ(p.points.size(), 2U);
  for (std::size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(p.points[i].phase, step_phase::prefill);
    EXPECT_EQ(p.points[i].new_tokens.count(), static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(kv_of(p.points[i]), std::vector<std::int64_t>{0});
    EXPECT_EQ(p.points[i].measurements.size(), 1U);
  }
  EXPECT_DOUBLE_EQ(p.points[0].median().count(), llama8_input1_ns / 1e9);
  EXPECT_DOUBLE_EQ(p.points[1].median().count(), llama8_input2_ns / 1e9);
  EXPECT_EQ(p.metadata.at("layers"), "32");
  EXPECT_EQ(p.metadata.at("tensor_parallel"), "1");
  EXPECT_EQ(p.metadata.count("attention_file"), 0U);
}

// Llama-3.1-70B TP4 (80 layers), in ns: once-per-step operators and per-layer operators without
// attn at input 1, 2 and 32 (lines 2-16, 17-31, 32-46 of the layers excerpt).
constexpr double l70_once_1 = 2895.0 + 19083 + 176333;
constexpr double l70_layer_1 =
    17978.0 + 16243 + 7443 + 7305 + 24032 + 13323 + 17939 + 43526 + 43099 + 4012 + 40014;
constexpr double l70_once_2 = 3459.0 + 21386 + 181525;
constexpr double l70_layer_2 =
    20733.0 + 16297 + 7594 + 7465 + 27605 + 13555 + 20415 + 44029 + 43428 + 3994 + 40230;
constexpr double l70_once_32 = 4580.0 + 22192 + 177824;
constexpr double l70_layer_32 =
    21961.0 + 17844 + 8146 + 7892 + 32738 + 14511 + 21837 + 42677 + 41063 + 4497 + 41694;
constexpr double l70_once_64 = 6219.0 + 23741 + 182235;
constexpr double l70_layer_64 =
    23484.0 + 18314 + 8217 + 8050 + 34328 + 14973 + 23592 + 44496 + 42348 + 4695 + 42246;

// A step of the 70B model with attention `attn_ms` from attention.csv, in seconds.
double l70_step(double once_ns, double layer_ns, double attn_ms) {
  return (once_ns + 80 * (layer_ns + attn_ms * 1e6)) / 1e9;
}

TEST(third_party_llmservingsim, adds_decode_and_chunked_prefill_steps_from_the_attention_file) {
  const rtlm::profile p = rtlm::load_llmservingsim_profile(
      llama70_layers, {.layers = 80, .tensor_parallel = 4, .attention_path = llama70_attention});
  struct expected {
    step_phase phase;
    std::int64_t new_tokens;
    std::vector<std::int64_t> kv;
    std::size_t repeats;
    double median_s;
  };
  const std::vector<std::int64_t> ones(64, 1);
  const std::vector<expected> points = {
      // layers.csv: plain prefills of input 1, 2, 32, 64, attn included (5545, 9183, 9248, 9395).
      {step_phase::prefill, 1, {0}, 1, (l70_once_1 + 80 * (l70_layer_1 + 5545)) / 1e9},
      {step_phase::prefill, 2, {0}, 1, (l70_once_2 + 80 * (l70_layer_2 + 9183)) / 1e9},
      {step_phase::prefill, 32, {0}, 1, (l70_once_32 + 80 * (l70_layer_32 + 9248)) / 1e9},
      {step_phase::prefill, 64, {0}, 1, (l70_once_64 + 80 * (l70_layer_64 + 9395)) / 1e9},
      // attention.csv line 2 (chunk 32 over 32 keys: a plain prefill) is skipped; lines 3 and 4
      // are a chunk of 32 over 64 and 96 keys, i.e. on 32 and 64 cached tokens.
      {step_phase::prefill, 32, {32}, 1, l70_step(l70_once_32, l70_layer_32, 0.005312000000000001)},
      {step_phase::prefill, 32, {64}, 1, l70_step(l70_once_32, l70_layer_32, 0.007232000000000001)},
      // Line 5: batch 1 over 32 keys; line 6: batch 2 over 32 keys, 16 each.
      {step_phase::decode, 1, {32}, 1, l70_step(l70_once_1, l70_layer_1, 0.005216)},
      {step_phase::decode, 2, {16, 16}, 1, l70_step(l70_once_2, l70_layer_2, 0.005248)},
      // Line 7 (batch 64 over 32 keys: none each) is skipped; line 8: batch 2 over 64 keys.
      {step_phase::decode, 2, {32, 32}, 1, l70_step(l70_once_2, l70_layer_2, 0.00528)},
      // Lines 9 and 10: batch 64 over 64 and 96 keys, both 1 key each: one shape, two repeats.
      {step_phase::decode, 64, ones, 2,
       (l70_step(l70_once_64, l70_layer_64, 0.022623499999999998) +
        l70_step(l70_once_64, l70_layer_64, 0.022591999999999998)) /
           2},
      // Lines 11 and 12: batch 1 over 1024 keys, listed twice by the profiler.
      {step_phase::decode,
       1,
       {1024},
       2,
       (l70_step(l70_once_1, l70_layer_1, 0.030976) +
        l70_step(l70_once_1, l70_layer_1, 0.0309765)) /
           2},
  };
  ASSERT_EQ(p.points.size(), points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(p.points[i].phase, points[i].phase);
    EXPECT_EQ(p.points[i].new_tokens.count(), points[i].new_tokens);
    EXPECT_EQ(kv_of(p.points[i]), points[i].kv);
    EXPECT_EQ(p.points[i].measurements.size(), points[i].repeats);
    EXPECT_DOUBLE_EQ(p.points[i].median().count(), points[i].median_s);
  }
  EXPECT_EQ(p.metadata.at("attention_file"), llama70_attention);
  EXPECT_EQ(p.metadata.at("attention_shape"), "n_embd 8192, n_q_head 64, n_kv_head 8");
  EXPECT_EQ(p.metadata.at("tensor_parallel"), "4");
}

TEST(third_party_llmservingsim,
     maps_cached_tokens_and_takes_the_median_of_a_listed_twice_operator) {
  // Derived from the 8B excerpt's input-1 rows: kv_cache set to 100, and lm_head listed three
  // times (366336, 1, 400000): its median, 366336, counts.
  std::string text = line_of(llama8_layers, 1) + "\n";
  for (int n = 2; n <= 16; ++n) {
    std::string line = line_of(llama8_layers, n);
    line.replace(line.find(",1,0,1,"), 7, ",1,100,1,");
    text += line + "\n";
  }
  text += "lm_head,1,100,1,1\nlm_head,1,100,1,400000\n";
  const scratch_file f(text);
  const rtlm::profile p =
      rtlm::load_llmservingsim_profile(f.path(), {.layers = 32, .tensor_parallel = 1});
  ASSERT_EQ(p.points.size(), 1U);
  EXPECT_EQ(p.points[0].phase, step_phase::prefill);
  EXPECT_EQ(p.points[0].new_tokens.count(), 1);
  EXPECT_EQ(kv_of(p.points[0]), std::vector<std::int64_t>{100});
  EXPECT_DOUBLE_EQ(p.points[0].median().count(), llama8_input1_ns / 1e9);
}

TEST(third_party_llmservingsim, refuses_an_operator_it_does_not_know) {
  const scratch_file f("layer_name,input,kv_cache,tp_size,latency(ns)\nexpert.w1,1,0,1,2915\n");
  const rtlm::error e = error_from([&] {
    (void)rtlm::load_llmservingsim_profile(f.path(), {.layers = 32, .tensor_parallel = 1});
  });
  EXPECT_EQ(e.field(), f.path() + ":2 layer_name");
  EXPECT_EQ(e.value(), "'expert.w1'");
}

TEST(third_party_llmservingsim, names_a_step_that_lacks_an_operator) {
  std::string text;
  for (int n = 1; n <= 15; ++n) text += line_of(llama8_layers, n) + "\n";  // no lm_head
  const scratch_file f(text);
  const rtlm::error e = error_from([&] {
    (void)rtlm::load_llmservingsim_profile(f.path(), {.layers = 32, .tensor_parallel = 1});
  });
  EXPECT_EQ(e.field(), f.path() + " input 1 kv_cache 0");
  EXPECT_EQ(e.value(), "'lm_head'");
}

TEST(third_party_llmservingsim, names_a_latency_that_is_not_a_whole_number) {
  const scratch_file f("layer_name,input,kv_cache,tp_size,latency(ns)\nembedding,1,0,1,29.15\n");
  const rtlm::error e = error_from([&] {
    (void)rtlm::load_llmservingsim_profile(f.path(), {.layers = 32, .tensor_parallel = 1});
  });
  EXPECT_EQ(e.field(), f.path() + ":2 latency(ns)");
  EXPECT_EQ(e.value(), "'29.15'");
}

TEST(third_party_llmservingsim, refuses_a_degree_with_no_rows_and_bad_options) {
  rtlm::error e = error_from([] {
    (void)rtlm::load_llmservingsim_profile(llama8_layers, {.layers = 32, .tensor_parallel = 2});
  });
  EXPECT_EQ(e.field(), llama8_layers + " selection");
  EXPECT_EQ(e.value(), "tp_size 2");
  e = error_from([] { (void)rtlm::load_llmservingsim_profile(llama8_layers, {}); });
  EXPECT_EQ(e.field(), "llmservingsim_options.layers");
  e = error_from([] {
    (void)rtlm::load_llmservingsim_profile(llama8_layers, {.layers = 32, .tensor_parallel = 0});
  });
  EXPECT_EQ(e.field(), "llmservingsim_options.tensor_parallel");
  e = error_from([] {
    (void)rtlm::load_llmservingsim_profile(
        llama70_layers, {.layers = 80, .tensor_parallel = 2, .attention_path = llama70_attention});
  });
  EXPECT_EQ(e.field(), llama70_layers + " selection");
}

// The attention excerpt's header with one row.
std::string attention_file_with(std::string_view row) {
  return line_of(llama70_attention, 1) + "\n" + std::string(row) + "\n";
}

TEST(third_party_llmservingsim, names_an_attention_row_whose_step_size_layers_csv_lacks) {
  const scratch_file f(attention_file_with(
      ",,,,,0.005151,0.00528,0.0052153,0.005216,2.35e-05,8192,64,8,4,131072,3,0,96,False,"
      "FLASH_ATTENTION"));
  const rtlm::error e = error_from([&] {
    (void)rtlm::load_llmservingsim_profile(
        llama70_layers, {.layers = 80, .tensor_parallel = 4, .attention_path = f.path()});
  });
  EXPECT_EQ(e.field(), f.path() + ":2 batch_size");
  EXPECT_EQ(e.value(), "3");
}

struct attention_row_case {
  std::string_view row;
  std::string_view field;  // after the path
  std::string_view value;
};

TEST(third_party_llmservingsim, refuses_malformed_attention_rows) {
  const attention_row_case cases[] = {
      // is_prefill must read as Python writes a bool.
      {"0.005248,0.0056,0.0053,0.005312,4.8e-05,,,,,,8192,64,8,4,131072,1,32,64,yes,"
       "FLASH_ATTENTION",
       ":2 is_prefill", "'yes'"},
      // A prefill chunk's keys include its own, so there are at least as many as the chunk.
      {"0.005248,0.0056,0.0053,0.005312,4.8e-05,,,,,,8192,64,8,4,131072,1,64,32,True,"
       "FLASH_ATTENTION",
       ":2 kv_cache_size", "32"},
      // A decode row needs its decode median.
      {",,,,,0.005151,0.00528,0.0052153,,2.35e-05,8192,64,8,4,131072,1,0,32,False,"
       "FLASH_ATTENTION",
       ":2 time_stats.attn_decode.median", "''"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.row);
    const scratch_file f(attention_file_with(c.row));
    const rtlm::error e = error_from([&] {
      (void)rtlm::load_llmservingsim_profile(
          llama70_layers, {.layers = 80, .tensor_parallel = 4, .attention_path = f.path()});
    });
    EXPECT_EQ(e.field(), f.path() + std::string(c.field));
    EXPECT_EQ(e.value(), c.value);
  }
}

// ---- Vidur ----------------------------------------------------------------------------------

const std::string vidur_mlp = data_file("vidur/h100_llama-2-7b_mlp_excerpt.csv");
const std::string vidur_attention = data_file("vidur/a100_llama-2-70b-tp2_attention_excerpt.csv");

TEST(third_party_vidur_mlp, sums_the_non_attention_operators_of_a_step) {
  const rtlm::profile p =
      rtlm::load_vidur_mlp_profile(vidur_mlp, {.layers = 32, .tensor_parallel = 1});
  // TP1 rows: num_tokens 4096 (twice), 4064, 2048 (twice), 2, 1.
  ASSERT_EQ(p.points.size(), 5U);
  const std::int64_t tokens[] = {4096, 4064, 2048, 2, 1};
  const std::size_t repeats[] = {2, 1, 2, 1, 1};
  for (std::size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(p.points[i].phase, step_phase::prefill);
    EXPECT_EQ(p.points[i].new_tokens.count(), tokens[i]);
    EXPECT_EQ(kv_of(p.points[i]), std::vector<std::int64_t>{0});
    EXPECT_EQ(p.points[i].measurements.size(), repeats[i]);
  }
  // Line 8, num_tokens 1: emb + 32 x (input_layernorm, attn_pre_proj, attn_rope,
  // attn_post_proj, post_attention_layernorm, mlp_up_proj, mlp_act, mlp_down_proj, add), in ms.
  EXPECT_DOUBLE_EQ(
      p.points[4].median().count(),
      (0.002 + 32 * (0.004 + 0.038 + 0.004 + 0.016 + 0.004 + 0.064 + 0.006 + 0.038 + 0.001)) / 1e3);
  // Lines 2 and 3, num_tokens 4096: two repeats, so the median is their mean.
  const double first = (0.11900000000000001 + 32 * (0.0665 + 0.584 + 0.0835 + 0.193 + 0.067 +
                                                    0.987 + 0.139 + 0.441 + 0.031)) /
                       1e3;
  const double second = (0.11900000000000001 + 32 * (0.0665 + 0.593 + 0.084 + 0.195 + 0.067 +
                                                     0.999 + 0.138 + 0.435 + 0.031)) /
                        1e3;
  EXPECT_DOUBLE_EQ(p.points[0].measurements[0].count(), first);
  EXPECT_DOUBLE_EQ(p.points[0].measurements[1].count(), second);
  EXPECT_DOUBLE_EQ(p.points[0].median().count(), (first + second) / 2);
}

TEST(third_party_vidur_mlp, says_attention_is_excluded_and_reads_one_degree) {
  const rtlm::profile p =
      rtlm::load_vidur_mlp_profile(vidur_mlp, {.layers = 32, .tensor_parallel = 2});
  ASSERT_EQ(p.points.size(), 3U);  // 4096 (twice), 2, 1
  EXPECT_EQ(p.points[0].measurements.size(), 2U);
  // Line 12, num_tokens 1 at TP2.
  EXPECT_DOUBLE_EQ(p.points[2].median().count(),
                   (0.002 + 32 * (0.004 + 0.02 + 0.003 + 0.009000000000000001 + 0.004 +
                                  0.036000000000000004 + 0.003 + 0.02 + 0.001)) /
                       1e3);
  EXPECT_EQ(p.metadata.at("attention"), "excluded");
  EXPECT_EQ(p.metadata.at("tensor_parallel"), "2");
  EXPECT_EQ(p.metadata.at("model_shape"),
            "n_head 32, n_kv_head 32, n_embd 4096, n_expanded_embd 11008, vocab_size 32768, "
            "use_gated_mlp True");
}

TEST(third_party_vidur_mlp, refuses_a_missing_column_a_degree_with_no_rows_and_mixed_models) {
  const std::string header = line_of(vidur_mlp, 1);
  std::string renamed = header;
  renamed.replace(renamed.find("time_stats.add.median"), 21, "time_stats.add.p50");
  const scratch_file no_add(renamed + "\n" + line_of(vidur_mlp, 8) + "\n");
  rtlm::error e = error_from([&] {
    (void)rtlm::load_vidur_mlp_profile(no_add.path(), {.layers = 32, .tensor_parallel = 1});
  });
  EXPECT_EQ(e.field(), no_add.path() + ":1 time_stats.add.median");

  e = error_from(
      [] { (void)rtlm::load_vidur_mlp_profile(vidur_mlp, {.layers = 32, .tensor_parallel = 16}); });
  EXPECT_EQ(e.field(), vidur_mlp + " selection");
  EXPECT_EQ(e.value(), "num_tensor_parallel_workers 16");

  // Line 8 again as if it came from a model of another width.
  std::string wider = line_of(vidur_mlp, 8);
  wider.replace(wider.find(",4096,11008,"), 12, ",5120,11008,");
  const scratch_file mixed(header + "\n" + line_of(vidur_mlp, 8) + "\n" + wider + "\n");
  e = error_from([&] {
    (void)rtlm::load_vidur_mlp_profile(mixed.path(), {.layers = 32, .tensor_parallel = 1});
  });
  EXPECT_EQ(e.field(), mixed.path() + ":3 n_embd");
  EXPECT_EQ(e.value(), "'5120'");
}

TEST(third_party_vidur_attention, reads_attention_only_prefill_and_decode_points) {
  const rtlm::profile p =
      rtlm::load_vidur_attention_profile(vidur_attention, {.layers = 80, .tensor_parallel = 2});
  struct expected {
    step_phase phase;
    std::int64_t batch;
    std::int64_t new_tokens;
    std::int64_t kv;
    std::size_t repeats;
    double median_s;  // 80 layers x (kernel + input reshape + output reshape), ms to s
  };
  const std::vector<expected> points = {
      {step_phase::decode, 1, 1, 32, 1, 80 * (0.015 + (0.0 + 0.001)) / 1e3},        // line 2
      {step_phase::decode, 2, 2, 32, 1, 80 * (0.014 + (0.0 + 0.001)) / 1e3},        // line 3
      {step_phase::decode, 1, 1, 1024, 2, 80 * (0.017 + (0.0 + 0.001)) / 1e3},      // lines 4-5
      {step_phase::decode, 128, 128, 4032, 1, 80 * (0.667 + (0.0 + 0.004)) / 1e3},  // line 6
      {step_phase::prefill, 1, 64, 0, 1, 80 * (0.015 + (0.0 + 0.002)) / 1e3},       // line 7
      {step_phase::prefill, 1, 64, 32, 1, 80 * (0.015 + (0.0 + 0.002)) / 1e3},      // line 8
      {step_phase::prefill, 1, 64, 1024, 2, 80 * (0.029 + (0.0 + 0.002)) / 1e3},    // lines 9-10
  };
  ASSERT_EQ(p.points.size(), points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(p.points[i].phase, points[i].phase);
    EXPECT_EQ(p.points[i].batch(), static_cast<std::size_t>(points[i].batch));
    EXPECT_EQ(p.points[i].new_tokens.count(), points[i].new_tokens);
    EXPECT_EQ(kv_of(p.points[i]),
              std::vector<std::int64_t>(static_cast<std::size_t>(points[i].batch), points[i].kv));
    EXPECT_EQ(p.points[i].measurements.size(), points[i].repeats);
    EXPECT_DOUBLE_EQ(p.points[i].median().count(), points[i].median_s);
  }
  EXPECT_EQ(p.metadata.at("attention_shape"), "n_embd 8192, n_q_head 64, n_kv_head 8");
  EXPECT_EQ(p.metadata.at("attention_backend"), "AttentionBackend.FLASH_ATTENTION");
  EXPECT_EQ(p.metadata.at("layers"), "80");
}

TEST(third_party_vidur_attention, refuses_a_prefill_row_of_several_sequences) {
  std::string row = line_of(vidur_attention, 7);  // prefill, batch 1, chunk 64, kv 0
  row.replace(row.find(",1,64,0,True,"), 13, ",2,64,0,True,");
  const scratch_file f(line_of(vidur_attention, 1) + "\n" + row + "\n");
  const rtlm::error e = error_from([&] {
    (void)rtlm::load_vidur_attention_profile(f.path(), {.layers = 80, .tensor_parallel = 2});
  });
  EXPECT_EQ(e.field(), f.path() + ":2 batch_size");
  EXPECT_EQ(e.value(), "2");
}

TEST(third_party_vidur_attention, refuses_a_cache_beyond_the_profile_limits) {
  std::string row = line_of(vidur_attention, 7);  // prefill, batch 1, chunk 64, kv 0
  row.replace(row.find(",1,64,0,True,"), 13, ",1,64,4611686018427387904,True,");
  const scratch_file f(line_of(vidur_attention, 1) + "\n" + row + "\n");
  const rtlm::error e = error_from([&] {
    (void)rtlm::load_vidur_attention_profile(f.path(), {.layers = 80, .tensor_parallel = 2});
  });
  EXPECT_EQ(e.field(), f.path() + ":2 kv_cache_size");
}

TEST(third_party_any, skips_a_byte_order_mark) {
  const scratch_file f("\xEF\xBB\xBF" + splitwise_header +
                       "llama2-70b,h100-80gb,512,1,128,0.0,0.0,85.4,36.9,4784.1,2\n");
  EXPECT_EQ(rtlm::load_splitwise_profile(f.path(), h100_tp2).points.size(), 2U);
}

TEST(third_party_vidur_attention, refuses_a_depth_below_one) {
  const rtlm::error e = error_from([] {
    (void)rtlm::load_vidur_attention_profile(vidur_attention, {.layers = 0, .tensor_parallel = 2});
  });
  EXPECT_EQ(e.field(), "vidur_selection.layers");
}

}  // namespace
