// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/sim/trace.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
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
  // The prefix blocks: the first line's hash_ids, none on the second.
  ASSERT_EQ(t.prefix_blocks.size(), 2U);
  EXPECT_EQ(t.prefix_blocks[0], (std::vector<std::uint32_t>{0, 1}));
  EXPECT_TRUE(t.prefix_blocks[1].empty());
  EXPECT_EQ(t.prefix_block_tokens, 512_tok);
  // A prefix of the trace keeps its requests' blocks.
  const rtlm::sim::trace first = rtlm::sim::first_seconds(t, 1.0);
  ASSERT_EQ(first.requests.size(), 1U);
  EXPECT_EQ(first.prefix_blocks, (std::vector<std::vector<std::uint32_t>>{{0, 1}}));
}

TEST(trace, malformed_hash_ids_name_the_line) {
  for (const char* ids : {"[1, x]", "[1,]", "[-1]", "[4294967296]", "5", "[1 2]", "\"[1]\""}) {
    const temp_file f("ids.jsonl", std::string("{\"timestamp\": 0, \"input_length\": 1, "
                                               "\"output_length\": 5, \"hash_ids\": ") +
                                       ids + "}\n");
    const std::string field = blamed_field([&] { (void)rtlm::sim::load_mooncake_trace(f.path()); });
    EXPECT_NE(field.find(":1 hash_ids"), std::string::npos) << ids << ": " << field;
  }
  const temp_file empty("ids.jsonl",
                        "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 5, "
                        "\"hash_ids\": [ ]}\n");
  EXPECT_TRUE(rtlm::sim::load_mooncake_trace(empty.path()).prefix_blocks.at(0).empty());
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

// Runs `f` and returns the rtlm::error it throws; fails the test if it throws none.
template <class F>
rtlm::error error_from(F&& f) {
  try {
    f();
  } catch (const rtlm::error& e) {
    return e;
  }
  ADD_FAILURE() << "no rtlm::error";
  return {"", "", ""};
}

TEST(trace, a_utf8_byte_order_mark_at_the_start_is_skipped) {
  const std::string bom = "\xEF\xBB\xBF";
  const temp_file azure("bom.csv", bom + azure_header + "2023-11-16 18:15:46.5,374,44\n");
  EXPECT_EQ(rtlm::sim::load_trace(azure.path()).requests.size(), 1U);
  const temp_file lengths("bom_lengths.csv",
                          bom + "timestamp_ms,input_length,output_length\n0,10,5\n1000,20,6\n");
  EXPECT_EQ(rtlm::sim::load_trace(lengths.path()).requests.size(), 2U);
  const temp_file mooncake("bom.jsonl",
                           bom + "{\"timestamp\": 0, \"input_length\": 6, \"output_length\": 5}\n");
  EXPECT_EQ(rtlm::sim::load_trace(mooncake.path()).requests.size(), 1U);
}

TEST(trace, control_bytes_and_long_lines_are_escaped_and_cut_in_errors) {
  const temp_file control("control.csv",
                          std::string(azure_header) + "2023-11-16 18:15:46,\x01\x1b[2J,44\n");
  rtlm::error e = error_from([&] { (void)rtlm::sim::load_azure_trace(control.path()); });
  EXPECT_EQ(e.value(), "'\\x01\\x1B[2J'");
  EXPECT_EQ(std::string(e.what()).find('\x1b'), std::string::npos) << e.what();
  // A 30 MB line: the message stays short and says it was cut.
  const temp_file long_line("long.csv", std::string(azure_header) + "2023-11-16 18:15:46," +
                                            std::string(30'000'000, '7') + "x,44\n");
  e = error_from([&] { (void)rtlm::sim::load_azure_trace(long_line.path()); });
  EXPECT_EQ(e.value(), "'" + std::string(255, '7') + "...");
  EXPECT_LT(std::string(e.what()).size(), 1000U);
  // A byte-order mark inside a line is shown, not invisible.
  const temp_file bom_later("bom_later.csv", std::string(azure_header) +
                                                 "2023-11-16 18:15:46,\xEF\xBB\xBF"
                                                 "3,44\n");
  e = error_from([&] { (void)rtlm::sim::load_azure_trace(bom_later.path()); });
  EXPECT_EQ(e.value(), "'\\xEF\\xBB\\xBF3'");
}

TEST(trace, a_directory_is_named_as_one) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "rtlm_trace_dir.csv";
  std::filesystem::create_directories(dir);
  const rtlm::error e = error_from([&] { (void)rtlm::sim::load_trace(dir.string()); });
  std::filesystem::remove(dir);
  EXPECT_EQ(e.field(), "file");
  EXPECT_EQ(e.value(), dir.string());
  EXPECT_EQ(e.requirement(), "is a directory, not a file");
}

TEST(trace, a_fifo_is_refused_before_it_is_read) {
  const std::string fifo = (std::filesystem::temp_directory_path() /
                            ("rtlm_trace_fifo_" + std::to_string(::getpid()) + ".csv"))
                               .string();
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto load = std::async(std::launch::async, [&] {
    return rtlm::test::blamed_field([&] { (void)rtlm::sim::load_trace(fifo); });
  });
  if (load.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    // The loader blocks opening the FIFO: open its write end so that it sees an empty file.
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    ADD_FAILURE() << "loading a FIFO blocked";
  }
  EXPECT_EQ(load.get(), "file");
  std::filesystem::remove(fifo);
}

TEST(trace, mooncake_keys_are_read_at_the_top_level_only) {
  const temp_file f("nested.jsonl",
                    "{\"meta\": {\"output_length\": 5, \"x\": [1, {\"timestamp\": 9}]}, "
                    "\"timestamp\": 0, \"input_length\": 10, \"output_length\": 7}\n"
                    "{\"input_length\": 11, \"s\": \"\\\"output_length\\\": 3\", "
                    "\"output_length\": 8, \"timestamp\": 1000}\n");
  const rtlm::sim::trace t = rtlm::sim::load_mooncake_trace(f.path());
  ASSERT_EQ(t.requests.size(), 2U);
  EXPECT_EQ(t.requests[0].output, 7_tok);
  EXPECT_EQ(t.requests[1].output, 8_tok);
  EXPECT_DOUBLE_EQ(t.requests[1].arrival, 1.0);
  const auto blamed = [](const std::string& line) {
    const temp_file bad("bad.jsonl", line + "\n");
    const std::string field =
        blamed_field([&] { (void)rtlm::sim::load_mooncake_trace(bad.path()); });
    return field.substr(field.find(':'));
  };
  // Only nested: missing at the top level.
  EXPECT_EQ(blamed("{\"timestamp\": 0, \"input_length\": 1, \"m\": {\"output_length\": 5}}"),
            ":1 output_length");
  EXPECT_EQ(blamed("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 5, "
                   "\"output_length\": 6}"),
            ":1 output_length");
  EXPECT_EQ(blamed("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 5} x"), ":1");
  EXPECT_EQ(blamed("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 5, \"m\": [}"),
            ":1");
  EXPECT_EQ(blamed("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": }"), ":1");
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
