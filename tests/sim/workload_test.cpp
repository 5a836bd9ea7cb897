// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/sim/workload.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <future>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "estimate/temp_file.hpp"
#include "rtlm/detail/split_mix64.hpp"

namespace {

using namespace rtlm::literals;
using rtlm::test::blamed_field;
using rtlm::test::temp_file;

constexpr const char* sarathi_header =
    "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n";

// The bundled ShareGPT length set (benchmarks/data/sharegpt/).
std::string sharegpt_path() {
  return std::string(RTLM_TEST_PROFILE_DIR) +
         "/../sharegpt/sharegpt_8k_filtered_stats_llama2_tokenizer.csv";
}

// The field of the rtlm::error `f` throws, after the file's directory ("" when it throws none).
template <class F>
std::string blamed_in_file(F&& f) {
  const std::string field = blamed_field(std::forward<F>(f));
  return field.substr(field.find('/') == std::string::npos ? 0 : field.rfind('/') + 1);
}

// Gaps between consecutive arrivals.
std::vector<double> gaps_of(const rtlm::sim::trace& t) {
  std::vector<double> gaps;
  for (std::size_t i = 1; i < t.requests.size(); ++i) {
    gaps.push_back(t.requests[i].arrival - t.requests[i - 1].arrival);
  }
  return gaps;
}

// n requests of distinct lengths (prompt i, output i + 1), no times.
rtlm::sim::length_set numbered_lengths(std::size_t n) {
  rtlm::sim::length_set set{.name = "numbered", .requests = {}};
  for (std::size_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::int64_t>(i);
    set.requests.push_back({.prompt = rtlm::tokens(k), .output = rtlm::tokens(k + 1)});
  }
  return set;
}

TEST(workload, the_bundled_sharegpt_length_set_loads_whole) {
  const rtlm::sim::length_set s = rtlm::sim::load_length_set(sharegpt_path());
  ASSERT_EQ(s.requests.size(), 30'731U);
  EXPECT_EQ(s.requests.front().prompt, 74_tok);
  EXPECT_EQ(s.requests.front().output, 918_tok);
  EXPECT_EQ(s.requests.back().prompt, 2285_tok);
  EXPECT_EQ(s.requests.back().output, 363_tok);
  std::int64_t prompt = 0;
  std::int64_t output = 0;
  for (const rtlm::sim::request_lengths& r : s.requests) {
    prompt += r.prompt.count();
    output += r.output.count();
  }
  // Sums of the file's first two columns (awk '{p += $1; o += $2}').
  EXPECT_EQ(prompt, 71'911'571);
  EXPECT_EQ(output, 13'481'988);
}

TEST(workload, a_plain_length_csv_reads_too_and_a_bom_is_skipped) {
  const temp_file f("lengths.csv", "\xEF\xBB\xBFinput_length,output_length\n10,5\n\n0,1\r\n");
  const rtlm::sim::length_set s = rtlm::sim::load_length_set(f.path());
  ASSERT_EQ(s.requests.size(), 2U);
  EXPECT_EQ(s.requests[0].prompt, 10_tok);
  EXPECT_EQ(s.requests[0].output, 5_tok);
  EXPECT_EQ(s.requests[1].prompt, 0_tok);
  EXPECT_EQ(s.requests[1].output, 1_tok);
  EXPECT_EQ(s.name, f.path());
}

TEST(workload, malformed_length_rows_name_the_file_line_and_column) {
  const auto blamed = [](const std::string& rows) {
    const temp_file f("bad.csv", std::string(sarathi_header) + rows);
    return blamed_in_file([&] { (void)rtlm::sim::load_length_set(f.path()); });
  };
  const std::string file = "malformed_length_rows_name_the_file_line_and_column_bad.csv";
  EXPECT_EQ(blamed("10,5,15,2\n"), "");
  EXPECT_EQ(blamed("10,5,15,2\nx,5,15,2\n"), file + ":3 num_prefill_tokens");
  EXPECT_EQ(blamed("-1,5,4,-0.2\n"), file + ":2 num_prefill_tokens");
  EXPECT_EQ(blamed("1.5,5,6.5,0.3\n"), file + ":2 num_prefill_tokens");
  EXPECT_EQ(blamed("10,0,10,inf\n"), file + ":2 num_decode_tokens");
  EXPECT_EQ(blamed("10,5,16,2\n"), file + ":2 num_total_tokens");
  EXPECT_EQ(blamed("10,5,15,0.5\n"), file + ":2 pd_ratio");
  EXPECT_EQ(blamed("10,5,15,nan\n"), file + ":2 pd_ratio");
  EXPECT_EQ(blamed("10,5,15\n"), file + ":2");
  const temp_file plain("plain.csv", "input_length,output_length\n3,4\n3,4,5\n");
  EXPECT_EQ(blamed_in_file([&] { (void)rtlm::sim::load_length_set(plain.path()); }),
            "malformed_length_rows_name_the_file_line_and_column_plain.csv:3");
}

TEST(workload, a_wrong_header_an_empty_file_or_a_directory_is_an_error) {
  const temp_file header("header.csv", "prompt,output\n1,2\n");
  const rtlm::error e = [&] {
    try {
      (void)rtlm::sim::load_length_set(header.path());
    } catch (const rtlm::error& err) {
      return err;
    }
    return rtlm::error("", "", "");
  }();
  EXPECT_EQ(e.field(), header.path() + ":1 header");
  EXPECT_EQ(e.value(), "prompt,output");
  const temp_file empty("empty.csv", "");
  EXPECT_EQ(blamed_field([&] { (void)rtlm::sim::load_length_set(empty.path()); }), empty.path());
  EXPECT_EQ(blamed_field([&] { (void)rtlm::sim::load_length_set("/nonexistent/lengths.csv"); }),
            "file");
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "rtlm_lengths_dir";
  std::filesystem::create_directories(dir);
  EXPECT_EQ(blamed_field([&] { (void)rtlm::sim::load_length_set(dir.string()); }), "file");
  std::filesystem::remove(dir);
}

TEST(workload, a_fifo_is_refused_before_it_is_read) {
  const std::string fifo = (std::filesystem::temp_directory_path() /
                            ("rtlm_lengths_fifo_" + std::to_string(::getpid()) + ".csv"))
                               .string();
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto load = std::async(std::launch::async, [&] {
    return blamed_field([&] { (void)rtlm::sim::load_length_set(fifo); });
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

TEST(workload, a_traces_lengths_keep_its_order) {
  rtlm::sim::trace t{.name = "t", .requests = {{0.0, 5_tok, 1_tok}, {2.0, 7_tok, 3_tok}}};
  const rtlm::sim::length_set s = rtlm::sim::lengths_of(t);
  ASSERT_EQ(s.requests.size(), 2U);
  EXPECT_EQ(s.name, "t");
  EXPECT_EQ(s.requests[1].prompt, 7_tok);
  EXPECT_EQ(s.requests[1].output, 3_tok);
}

TEST(workload, splitmix64_gives_the_reference_stream) {
  // Vigna's splitmix64.c from state 0.
  rtlm::detail::split_mix64 rng(0);
  EXPECT_EQ(rng.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(rng.next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(rng.next(), 0x06c45d188009454fULL);
}

TEST(workload, poisson_arrivals_are_deterministic_for_a_seed) {
  const rtlm::sim::length_set lengths = numbered_lengths(1000);
  const rtlm::sim::arrival_process poisson{.rate = 4.0};
  const rtlm::sim::trace a = rtlm::sim::with_arrivals(lengths, poisson, 0);
  const rtlm::sim::trace b = rtlm::sim::with_arrivals(lengths, poisson, 0);
  const rtlm::sim::trace c = rtlm::sim::with_arrivals(lengths, poisson, 1);
  ASSERT_EQ(a.requests.size(), 1000U);
  EXPECT_EQ(a.requests[0].arrival, 0.0);
  // The first gap is the first SplitMix64 draw of seed 0, by inversion: -ln(u) / rate.
  const double u = static_cast<double>((0xe220a8397b1dcdafULL >> 11U) + 1U) * 0x1p-53;
  EXPECT_EQ(a.requests[1].arrival, -std::log(u) / 4.0);
  std::size_t differ = 0;
  for (std::size_t i = 0; i < a.requests.size(); ++i) {
    EXPECT_EQ(a.requests[i].arrival, b.requests[i].arrival) << i;
    EXPECT_EQ(a.requests[i].prompt, rtlm::tokens(static_cast<std::int64_t>(i))) << i;
    EXPECT_EQ(a.requests[i].output, rtlm::tokens(static_cast<std::int64_t>(i) + 1)) << i;
    if (i > 0) {
      EXPECT_GE(a.requests[i].arrival, a.requests[i - 1].arrival) << i;
    }
    if (a.requests[i].arrival != c.requests[i].arrival) ++differ;
  }
  EXPECT_EQ(differ, 999U);  // another seed, other times (all but the first, at 0)
  EXPECT_EQ(a.name, "numbered with Poisson arrivals at 4 requests/s (seed 0)");
}

TEST(workload, gamma_arrivals_with_cv_1_are_the_poisson_ones) {
  const rtlm::sim::length_set lengths = numbered_lengths(500);
  const rtlm::sim::trace p = rtlm::sim::with_arrivals(lengths, {.rate = 3.0}, 9);
  const rtlm::sim::trace g = rtlm::sim::with_arrivals(
      lengths, {.process = rtlm::sim::arrival_process::kind::gamma, .rate = 3.0, .cv = 1.0}, 9);
  ASSERT_EQ(p.requests.size(), g.requests.size());
  for (std::size_t i = 0; i < p.requests.size(); ++i) {
    EXPECT_EQ(p.requests[i].arrival, g.requests[i].arrival) << i;
  }
  EXPECT_EQ(g.name, "numbered with gamma arrivals at 3 requests/s, CV 1 (seed 9)");
}

// The sample mean and coefficient of variation of `gaps`.
struct moments {
  double mean = 0.0;
  double cv = 0.0;
};
moments moments_of(const std::vector<double>& gaps) {
  double sum = 0.0;
  for (const double g : gaps) sum += g;
  const double mean = sum / static_cast<double>(gaps.size());
  double squares = 0.0;
  for (const double g : gaps) squares += (g - mean) * (g - mean);
  const double sd = std::sqrt(squares / static_cast<double>(gaps.size() - 1));
  return {.mean = mean, .cv = sd / mean};
}

TEST(workload, arrivals_have_the_rate_and_the_burstiness_asked_for) {
  // n gamma gaps of CV c and mean 1 / rate: the sample mean's relative standard error is
  // c / sqrt(n), and the sample CV^2's standard error about c^2 sqrt(2 (1 + c^2) / n) (the delta
  // method with the gamma's third and fourth moments). Each check allows 5 standard errors: a
  // correct sampler fails one about once in 1.7 million seeds; these seeds are fixed.
  constexpr std::size_t n = 200'000;
  const rtlm::sim::length_set lengths = numbered_lengths(n + 1);
  for (const double cv : {1.0, 0.5, 2.0, 4.0}) {
    for (const double rate : {0.25, 10.0}) {
      const rtlm::sim::arrival_process process{
          .process = cv == 1.0 ? rtlm::sim::arrival_process::kind::poisson
                               : rtlm::sim::arrival_process::kind::gamma,
          .rate = rate,
          .cv = cv};
      const rtlm::sim::trace t = rtlm::sim::with_arrivals(lengths, process, 42);
      const moments m = moments_of(gaps_of(t));
      const double count = static_cast<double>(n);
      EXPECT_NEAR(m.mean * rate, 1.0, 5.0 * cv / std::sqrt(count)) << cv << " " << rate;
      EXPECT_NEAR(t.arrival_rate() / rate, 1.0, 5.0 * cv / std::sqrt(count) * 1.01)
          << cv << " " << rate;
      EXPECT_NEAR(m.cv * m.cv, cv * cv, 5.0 * cv * cv * std::sqrt(2.0 * (1.0 + cv * cv) / count))
          << cv << " " << rate;
    }
  }
}

TEST(workload, arrival_process_kinds_have_names) {
  using kind = rtlm::sim::arrival_process::kind;
  EXPECT_EQ(rtlm::sim::to_string(kind::poisson), "poisson");
  EXPECT_EQ(rtlm::sim::to_string(kind::gamma), "gamma");
  EXPECT_EQ(rtlm::sim::to_string(static_cast<kind>(2)), "unknown");
  EXPECT_EQ(rtlm::sim::arrival_process_kind_from_string("gamma"), kind::gamma);
  EXPECT_EQ(rtlm::sim::arrival_process_kind_from_string("poisson"), kind::poisson);
  EXPECT_EQ(rtlm::sim::arrival_process_kind_from_string("Gamma"), std::nullopt);
}

TEST(workload, arrival_parameters_are_checked) {
  const rtlm::sim::length_set lengths = numbered_lengths(10);
  const auto blamed = [&](rtlm::sim::arrival_process p) {
    return blamed_field([&] { (void)rtlm::sim::with_arrivals(lengths, p, 1); });
  };
  constexpr auto gamma = rtlm::sim::arrival_process::kind::gamma;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const double rate : {0.0, -1.0, nan, inf}) {
    EXPECT_EQ(blamed({.rate = rate}), "arrival_process.rate") << rate;
    EXPECT_EQ(blamed({.process = gamma, .rate = rate}), "arrival_process.rate") << rate;
  }
  for (const double cv : {0.0, -1.0, nan, inf, 1000.5}) {
    EXPECT_EQ(blamed({.process = gamma, .rate = 1.0, .cv = cv}), "arrival_process.cv") << cv;
    EXPECT_EQ(blamed({.rate = 1.0, .cv = cv}), "") << cv;  // Poisson has no CV to check
  }
  EXPECT_EQ(blamed({.process = gamma, .rate = 1.0, .cv = 1000.0}), "");
  // Ten requests a billion seconds apart on average: past 4e9 s.
  EXPECT_EQ(blamed({.rate = 1e-9}), "arrival_process.rate");
  EXPECT_TRUE(rtlm::sim::with_arrivals({}, {.rate = 1.0}, 1).requests.empty());
}

// Five requests at 0, 1, 2, 2, 3 s, with distinct lengths (prompt 10 i, output i + 1).
rtlm::sim::trace five() {
  rtlm::sim::trace t{.name = "five", .requests = {}};
  for (const double at : {0.0, 1.0, 2.0, 2.0, 3.0}) {
    const auto i = static_cast<std::int64_t>(t.requests.size());
    t.requests.push_back(
        {.arrival = at, .prompt = rtlm::tokens(10 * i), .output = rtlm::tokens(i + 1)});
  }
  return t;
}

TEST(workload, a_burst_lands_at_its_time_after_the_requests_already_there) {
  const rtlm::sim::trace t = five();
  const rtlm::sim::trace b = rtlm::sim::inject_burst(t, 4, 2.0, 3);
  ASSERT_EQ(b.requests.size(), 9U);
  // The original requests keep their order: those by 2 s, the burst, then the one at 3 s.
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(b.requests[i].arrival, t.requests[i].arrival) << i;
    EXPECT_EQ(b.requests[i].prompt, t.requests[i].prompt) << i;
  }
  for (std::size_t i = 4; i < 8; ++i) {
    EXPECT_EQ(b.requests[i].arrival, 2.0) << i;
    // Lengths of one of the trace's requests: prompt 10 k with output k + 1.
    const std::int64_t k = b.requests[i].prompt.count() / 10;
    EXPECT_EQ(b.requests[i].prompt.count() % 10, 0) << i;
    EXPECT_GE(k, 0);
    EXPECT_LT(k, 5);
    EXPECT_EQ(b.requests[i].output, rtlm::tokens(k + 1)) << i;
  }
  EXPECT_EQ(b.requests[8].arrival, 3.0);
  EXPECT_EQ(b.requests[8].prompt, 40_tok);
  EXPECT_EQ(b.name, "five + a burst of 4 at 2 s");
  // Before the first request, and after the last.
  const rtlm::sim::trace first = rtlm::sim::inject_burst(t, 2, 0.0, 3);
  EXPECT_EQ(first.requests[0].prompt, 0_tok);  // the request already at 0 stays first
  EXPECT_EQ(first.requests[1].arrival, 0.0);
  EXPECT_EQ(first.requests[2].arrival, 0.0);
  EXPECT_EQ(first.requests[3].arrival, 1.0);
  const rtlm::sim::trace late = rtlm::sim::inject_burst(t, 3, 100.0, 3);
  ASSERT_EQ(late.requests.size(), 8U);
  EXPECT_EQ(late.requests[4].prompt, 40_tok);
  EXPECT_EQ(late.requests[7].arrival, 100.0);
}

TEST(workload, a_burst_draws_its_lengths_uniformly_and_the_same_for_a_seed) {
  const rtlm::sim::trace t = five();
  constexpr std::size_t n = 100'000;
  const rtlm::sim::trace a = rtlm::sim::inject_burst(t, n, 1.5, 11);
  const rtlm::sim::trace b = rtlm::sim::inject_burst(t, n, 1.5, 11);
  const rtlm::sim::trace c = rtlm::sim::inject_burst(t, n, 1.5, 12);
  ASSERT_EQ(a.requests.size(), n + 5);
  std::vector<std::size_t> count(5, 0);
  std::size_t differ = 0;
  for (std::size_t i = 2; i < n + 2; ++i) {
    ASSERT_EQ(a.requests[i].prompt, b.requests[i].prompt) << i;
    if (a.requests[i].prompt != c.requests[i].prompt) ++differ;
    ++count[static_cast<std::size_t>(a.requests[i].prompt.count() / 10)];
  }
  // Each of the five with probability 1/5: 20,000 draws, standard deviation sqrt(n p (1 - p)),
  // 126.5; 5 of them allowed. Another seed differs on about 4/5 of the draws.
  for (std::size_t k = 0; k < 5; ++k)
    EXPECT_NEAR(static_cast<double>(count[k]), n / 5.0, 5 * 126.5) << k;
  EXPECT_NEAR(static_cast<double>(differ), 0.8 * n, 5 * std::sqrt(n * 0.8 * 0.2));
}

TEST(workload, burst_parameters_are_checked) {
  const rtlm::sim::trace t = five();
  const auto blamed = [&](std::size_t n, double at, const rtlm::sim::trace& of) {
    return blamed_field([&] { (void)rtlm::sim::inject_burst(of, n, at, 1); });
  };
  EXPECT_EQ(blamed(0, 1.0, t), "n");
  EXPECT_EQ(blamed(rtlm::sim::max_burst_requests + 1, 1.0, t), "n");
  EXPECT_EQ(blamed(1, -1.0, t), "at_seconds");
  EXPECT_EQ(blamed(1, std::numeric_limits<double>::quiet_NaN(), t), "at_seconds");
  EXPECT_EQ(blamed(1, std::numeric_limits<double>::infinity(), t), "at_seconds");
  EXPECT_EQ(blamed(1, 4.1e9, t), "at_seconds");
  EXPECT_EQ(blamed(1, 4e9, t), "");
  EXPECT_EQ(blamed(1, 1.0, rtlm::sim::trace{}), "trace");
  rtlm::sim::trace unordered = t;
  unordered.requests[3].arrival = 0.5;
  EXPECT_EQ(blamed(1, 1.0, unordered), "trace request 3: arrival");
  unordered.requests[3].arrival = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(blamed(1, 1.0, unordered), "trace request 3: arrival");
}

TEST(workload, all_at_once_keeps_the_order_and_the_lengths) {
  const rtlm::sim::trace t = five();
  const rtlm::sim::trace a = rtlm::sim::all_at_once(t);
  ASSERT_EQ(a.requests.size(), t.requests.size());
  for (std::size_t i = 0; i < t.requests.size(); ++i) {
    EXPECT_EQ(a.requests[i].arrival, 0.0);
    EXPECT_EQ(a.requests[i].prompt, t.requests[i].prompt);
    EXPECT_EQ(a.requests[i].output, t.requests[i].output);
  }
  EXPECT_EQ(a.name, "five (all at once)");
  EXPECT_EQ(a.span(), 0.0);
}

}  // namespace
