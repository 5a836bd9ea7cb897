// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/sim/trace.hpp"

#include <gtest/gtest.h>

#include <string>

#include "estimate/temp_file.hpp"

namespace {

using namespace rtlm::literals;
using rtlm::test::blamed_field;
using rtlm::test::temp_file;

constexpr const char* azure_header = "TIMESTAMP,ContextTokens,GeneratedTokens\n";

TEST(trace, azure_rows_become_relative_arrivals) {
  const temp_file f("azure.csv", std::string(azure_header) +
                                     "2023-11-16 23:59:59.5000000,374,44\n"
                                     "2023-11-17 00:00:01.2500000,396,109\n"
                                     "\n"
                                     "2023-11-17 00:00:01.2500000,10,1\n");
  const rtlm::sim::trace t = rtlm::sim::load_trace(f.path());
  ASSERT_EQ(t.requests.size(), 3U);
  EXPECT_DOUBLE_EQ(t.requests[0].arrival, 0.0);
  EXPECT_NEAR(t.requests[1].arrival, 1.75, 1e-9);  // across midnight
  EXPECT_EQ(t.requests[1].prompt, 396_tok);
  EXPECT_EQ(t.requests[1].output, 109_tok);
  EXPECT_NEAR(t.span(), 1.75, 1e-9);
  EXPECT_NEAR(t.arrival_rate(), 2 / 1.75, 1e-9);
}

TEST(trace, mooncake_lines_in_milliseconds) {
  const temp_file f("mooncake.jsonl",
                    "{\"timestamp\": 0, \"input_length\": 6758, \"output_length\": 500, "
                    "\"hash_ids\": [0, 1]}\n"
                    "{\"timestamp\": 1500, \"input_length\": 7322, \"output_length\": 490}\n");
  const rtlm::sim::trace t = rtlm::sim::load_trace(f.path());
  ASSERT_EQ(t.requests.size(), 2U);
  EXPECT_DOUBLE_EQ(t.requests[1].arrival, 1.5);
  EXPECT_EQ(t.requests[0].prompt, 6758_tok);
  EXPECT_EQ(t.requests[1].output, 490_tok);
}

TEST(trace, malformed_azure_lines_name_the_file_line_and_column) {
  const auto blamed = [](const std::string& rows) {
    const temp_file f("bad.csv", std::string(azure_header) + rows);
    const std::string field = blamed_field([&] { (void)rtlm::sim::load_azure_trace(f.path()); });
    return field.substr(field.find(':') == std::string::npos ? 0 : field.rfind('/') + 1);
  };
  EXPECT_EQ(blamed("2023-11-16 18:15:46.68,x,44\n"),
            "malformed_azure_lines_name_the_file_line_and_column_bad.csv:2 ContextTokens");
  EXPECT_EQ(blamed("2023-11-16 18:15:46,3,44\n2023-13-16 18:15:47,3,4\n"),
            "malformed_azure_lines_name_the_file_line_and_column_bad.csv:3 TIMESTAMP");
  EXPECT_EQ(blamed("2023-11-16 18:15:46,3,0\n"),
            "malformed_azure_lines_name_the_file_line_and_column_bad.csv:2 output tokens");
  EXPECT_EQ(blamed("2023-11-16 18:15:46,-3,4\n"),
            "malformed_azure_lines_name_the_file_line_and_column_bad.csv:2 prompt tokens");
  EXPECT_EQ(blamed("2023-11-16 18:15:46,3,4\n2023-11-16 18:15:45,3,4\n"),
            "malformed_azure_lines_name_the_file_line_and_column_bad.csv:3 arrival");
  EXPECT_EQ(blamed("2023-11-16 18:15:46,3\n"),
            "malformed_azure_lines_name_the_file_line_and_column_bad.csv:2");
}

TEST(trace, a_wrong_header_or_file_is_an_error) {
  const temp_file f("h.csv", "time,in,out\n1,2,3\n");
  EXPECT_NE(blamed_field([&] { (void)rtlm::sim::load_azure_trace(f.path()); }).find(":1 header"),
            std::string::npos);
  EXPECT_EQ(blamed_field([&] { (void)rtlm::sim::load_trace("/nonexistent/trace.csv"); }), "file");
  EXPECT_EQ(blamed_field([&] { (void)rtlm::sim::load_trace("trace.txt"); }), "trace");
  const temp_file j("bad.jsonl", "{\"timestamp\": 0, \"output_length\": 5}\n");
  EXPECT_NE(
      blamed_field([&] { (void)rtlm::sim::load_mooncake_trace(j.path()); }).find(":1 input_length"),
      std::string::npos);
}

TEST(trace, stretching_scales_every_gap) {
  rtlm::sim::trace t;
  t.requests = {{0.0, 1_tok, 1_tok}, {1.0, 1_tok, 1_tok}, {3.0, 1_tok, 1_tok}};
  const rtlm::sim::trace s = rtlm::sim::stretch_arrivals(t, 0.5);
  EXPECT_DOUBLE_EQ(s.requests[2].arrival, 1.5);
  EXPECT_DOUBLE_EQ(s.arrival_rate(), 2 * t.arrival_rate());
  EXPECT_EQ(rtlm::sim::first_seconds(t, 1.0).requests.size(), 2U);
  EXPECT_EQ(blamed_field([&] { (void)rtlm::sim::stretch_arrivals(t, 0.0); }), "stretch");
}

}  // namespace
