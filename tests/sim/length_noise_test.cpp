// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/sim/length_noise.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "estimate/temp_file.hpp"
#include "rtlm/core/error.hpp"

namespace {

using rtlm::tokens;
using rtlm::sim::length_error_sample;
using rtlm::sim::length_noise_model;
using rtlm::test::blamed_field;
using rtlm::test::temp_file;

length_error_sample sample(tokens::rep truth, double mean, tokens::rep bound, double u) {
  return {.true_length = tokens(truth),
          .predicted_mean = mean,
          .bound = tokens(bound),
          .uncertainty = u};
}

// Bucket 6 ([64, 128)) under-predicts by half, bucket 8 ([256, 512)) over-predicts by two.
const std::vector<length_error_sample> two_buckets{sample(100, 50.0, 200, 0.1),
                                                   sample(300, 600.0, 900, 0.7)};

const std::string header = "generator,true_tokens,predicted_mean,bound_q90,uncertainty\n";

TEST(length_noise, log2_buckets) {
  EXPECT_EQ(length_noise_model::bucket_of(tokens(1)), 0U);
  EXPECT_EQ(length_noise_model::bucket_of(tokens(2)), 1U);
  EXPECT_EQ(length_noise_model::bucket_of(tokens(3)), 1U);
  EXPECT_EQ(length_noise_model::bucket_of(tokens(4)), 2U);
  EXPECT_EQ(length_noise_model::bucket_of(tokens(1023)), 9U);
  EXPECT_EQ(length_noise_model::bucket_of(tokens(1024)), 10U);
  EXPECT_EQ(length_noise_model::bucket_of(tokens(0)), 0U);
  EXPECT_EQ(length_noise_model::bucket_of(tokens(-5)), 0U);
  EXPECT_EQ(length_noise_model::bucket_of(tokens(std::numeric_limits<tokens::rep>::max())), 62U);
}

TEST(length_noise, picks_from_the_true_lengths_bucket) {
  const length_noise_model m(two_buckets);
  for (std::uint64_t key = 0; key < 50; ++key) {
    const rtlm::length_estimate short_one = m.predict(tokens(80), key);
    EXPECT_DOUBLE_EQ(short_one.mean_tokens, 40.0);
    EXPECT_EQ(short_one.upper_bound, tokens(160));
    EXPECT_DOUBLE_EQ(short_one.bound_coverage, 0.9);
    EXPECT_DOUBLE_EQ(short_one.uncertainty, 0.1);
    const rtlm::length_estimate long_one = m.predict(tokens(400), key);
    EXPECT_DOUBLE_EQ(long_one.mean_tokens, 800.0);
    EXPECT_EQ(long_one.upper_bound, tokens(1200));
    EXPECT_DOUBLE_EQ(long_one.uncertainty, 0.7);
  }
}

TEST(length_noise, empty_buckets_fall_back_to_the_nearest_the_shorter_on_a_tie) {
  const length_noise_model m(two_buckets);
  EXPECT_DOUBLE_EQ(m.predict(tokens(2000), 1).mean_tokens, 4000.0);  // bucket 10 -> 8
  EXPECT_DOUBLE_EQ(m.predict(tokens(1), 1).mean_tokens, 0.5);        // bucket 0 -> 6
  EXPECT_DOUBLE_EQ(m.predict(tokens(150), 1).mean_tokens, 75.0);     // bucket 7 -> 6, not 8
  EXPECT_DOUBLE_EQ(m.predict(tokens(250), 1).uncertainty, 0.1);
  // Lengths below 1 count as 1.
  const rtlm::length_estimate zero = m.predict(tokens(0), 1);
  EXPECT_DOUBLE_EQ(zero.mean_tokens, 0.5);
  EXPECT_EQ(zero.upper_bound, tokens(2));
}

TEST(length_noise, scales_the_sample_to_the_true_length) {
  const std::vector<length_error_sample> samples{sample(3, 4.0, 8, 0.25)};
  const length_noise_model m(samples, 0.99);
  const rtlm::length_estimate same = m.predict(tokens(3), 7);
  EXPECT_DOUBLE_EQ(same.mean_tokens, 4.0);
  EXPECT_EQ(same.upper_bound, tokens(8));
  EXPECT_DOUBLE_EQ(same.bound_coverage, 0.99);
  const rtlm::length_estimate two = m.predict(tokens(2), 7);
  EXPECT_DOUBLE_EQ(two.mean_tokens, 8.0 / 3.0);
  EXPECT_EQ(two.upper_bound, tokens(6));  // ceil(16 / 3), not rounded
  // A sample's own length gives back exactly its own bound, however large.
  const std::vector<length_error_sample> big{sample(999'983, 5e5, 3'999'971, 1.0)};
  EXPECT_EQ(length_noise_model(big).predict(tokens(999'983), 0).upper_bound, tokens(3'999'971));
  // The bound never drops below one token.
  const std::vector<length_error_sample> tiny{sample(1000, 1.0, 1, 0.0)};
  EXPECT_EQ(length_noise_model(tiny).predict(tokens(512), 0).upper_bound, tokens(1));
}

TEST(length_noise, same_key_same_prediction_on_every_platform) {
  EXPECT_EQ(rtlm::sim::detail::splitmix64(0), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(rtlm::sim::detail::splitmix64(1), 0x910a2dec89025cc1ULL);
  const std::vector<length_error_sample> samples{
      sample(600, 300.0, 700, 0.1), sample(700, 700.0, 900, 0.2), sample(800, 1200.0, 1500, 0.3)};
  const length_noise_model a(samples);
  const length_noise_model b(samples);
  for (std::uint64_t key = 0; key < 1000; ++key) {
    const rtlm::length_estimate x = a.predict(tokens(640), key);
    const rtlm::length_estimate y = b.predict(tokens(640), key);
    EXPECT_EQ(x.mean_tokens, y.mean_tokens);
    EXPECT_EQ(x.upper_bound, y.upper_bound);
    EXPECT_EQ(x.uncertainty, y.uncertainty);
    EXPECT_EQ(x.mean_tokens, a.predict(tokens(640), key).mean_tokens);
    // The documented choice: sample splitmix64(key) mod 3 of the bucket, in the given order.
    const std::uint64_t i = rtlm::sim::detail::splitmix64(key) % 3;
    EXPECT_DOUBLE_EQ(x.uncertainty, 0.1 * static_cast<double>(i + 1));
  }
}

TEST(length_noise, ratios_over_many_keys_reproduce_the_buckets_calibration_ratios) {
  // Bucket 9 ([512, 1024)): mean ratios 0.5, 1, 1.5, 3 and bound ratios 1.2, 1.5, 2, 4.
  // Bucket 4 ([16, 32)) has ratio 10, which bucket 9's requests must never see.
  const std::vector<length_error_sample> samples{
      sample(600, 300.0, 720, 0.0), sample(20, 200.0, 400, 9.0), sample(700, 700.0, 1050, 1.0),
      sample(800, 1200.0, 1600, 2.0), sample(900, 2700.0, 3600, 3.0)};
  const length_noise_model m(samples);
  const std::array<double, 4> mean_ratio{0.5, 1.0, 1.5, 3.0};
  const std::array<double, 4> bound_ratio{1.2, 1.5, 2.0, 4.0};
  std::array<double, 4> seen{};
  constexpr int n = 20000;
  double mean_of_ratios = 0;
  for (int k = 0; k < n; ++k) {
    const tokens length(512 + k % 512);
    const rtlm::length_estimate e = m.predict(length, static_cast<std::uint64_t>(k));
    const auto which = static_cast<std::size_t>(e.uncertainty);
    ASSERT_LT(which, 4U);
    const auto l = static_cast<double>(length.count());
    EXPECT_NEAR(e.mean_tokens / l, mean_ratio[which], 1e-12);
    EXPECT_GE(static_cast<double>(e.upper_bound.count()), l * bound_ratio[which] - 1e-9);
    EXPECT_LT(static_cast<double>(e.upper_bound.count()), l * bound_ratio[which] + 1.0);
    seen[which] += 1;
    mean_of_ratios += e.mean_tokens / l;
  }
  for (const double count : seen) EXPECT_NEAR(count / n, 0.25, 0.015);
  EXPECT_NEAR(mean_of_ratios / n, (0.5 + 1.0 + 1.5 + 3.0) / 4, 0.02);
}

TEST(length_noise, describe_and_accessors) {
  const length_noise_model m(two_buckets, 0.9, "hand-made errors");
  EXPECT_EQ(m.describe(), "noise model calibrated to hand-made errors (2 prompts)");
  EXPECT_EQ(m.samples().size(), 2U);
  EXPECT_DOUBLE_EQ(m.bound_coverage(), 0.9);
  EXPECT_EQ(m.source(), "hand-made errors");
}

TEST(length_noise, rejects_bad_samples) {
  const auto build = [](std::vector<length_error_sample> s, double coverage = 0.9) {
    return [s = std::move(s), coverage] { (void)length_noise_model(s, coverage); };
  };
  EXPECT_EQ(blamed_field(build({})), "length_noise_model.samples");
  EXPECT_EQ(blamed_field(build(two_buckets, 1.0)), "length_noise_model.bound_coverage");
  EXPECT_EQ(blamed_field(build(two_buckets, 0.0)), "length_noise_model.bound_coverage");
  EXPECT_EQ(blamed_field(build({sample(10, 5, 10, 0), sample(0, 5, 10, 0)})),
            "length_noise_model.samples[1].true_length");
  EXPECT_EQ(blamed_field(build({sample(10, std::nan(""), 10, 0)})),
            "length_noise_model.samples[0].predicted_mean");
  EXPECT_EQ(blamed_field(build({sample(10, 5, 0, 0)})), "length_noise_model.samples[0].bound");
  EXPECT_EQ(blamed_field(build({sample(10, 5, 10, -1)})),
            "length_noise_model.samples[0].uncertainty");
}

TEST(length_noise, loads_one_generators_rows) {
  const temp_file f("errors.csv", header +
                                      "a,100,50.00,200,0.1000\n"
                                      "b,7,7.00,9,0.5000\n"
                                      "\n"
                                      "a,300,600.00,900,0.7000\r\n"
                                      "a,80,80,90,0\n");
  const length_noise_model m = rtlm::sim::load_length_errors(f.path(), "a");
  EXPECT_EQ(m.samples().size(), 3U);
  EXPECT_DOUBLE_EQ(m.bound_coverage(), 0.9);
  EXPECT_NE(m.describe().find("for a in "), std::string::npos);
  EXPECT_NE(m.describe().find("(3 prompts)"), std::string::npos);
  EXPECT_DOUBLE_EQ(m.predict(tokens(400), 3).mean_tokens, 800.0);
  EXPECT_EQ(rtlm::sim::load_length_errors(f.path(), "b").samples().size(), 1U);
}

TEST(length_noise, loader_errors_name_the_line_and_column) {
  const auto load = [](const temp_file& f, const std::string& g = "a") {
    return [&f, g] { (void)rtlm::sim::load_length_errors(f.path(), g); };
  };
  const temp_file bad_mean("m.csv", header + "a,100,50,200,0.1\na,100,abc,200,0.1\n");
  EXPECT_EQ(blamed_field(load(bad_mean)), bad_mean.path() + ":3 predicted_mean");
  const temp_file bad_truth("t.csv", header + "a,0,50,200,0.1\n");
  EXPECT_EQ(blamed_field(load(bad_truth)), bad_truth.path() + ":2 true_tokens");
  const temp_file fractional("fr.csv", header + "a,10.5,50,200,0.1\n");
  EXPECT_EQ(blamed_field(load(fractional)), fractional.path() + ":2 true_tokens");
  const temp_file bad_bound("b.csv", header + "a,10,5,x,0.1\n");
  EXPECT_EQ(blamed_field(load(bad_bound)), bad_bound.path() + ":2 bound_q90");
  const temp_file bad_u("u.csv", header + "a,10,5,20,-0.5\n");
  EXPECT_EQ(blamed_field(load(bad_u)), bad_u.path() + ":2 uncertainty");
  const temp_file no_name("g.csv", header + ",10,5,20,0.5\n");
  EXPECT_EQ(blamed_field(load(no_name)), no_name.path() + ":2 generator");
  const temp_file short_row("s.csv", header + "a,10,5,20\n");
  EXPECT_EQ(blamed_field(load(short_row)), short_row.path() + ":2");
  const temp_file bad_header("h.csv", "generator,true,predicted\na,10,5,20,0.5\n");
  EXPECT_EQ(blamed_field(load(bad_header)), bad_header.path() + ":1 header");
  const temp_file empty("e.csv", "");
  EXPECT_EQ(blamed_field(load(empty)), empty.path());
  EXPECT_EQ(blamed_field([] { (void)rtlm::sim::load_length_errors("/no/such/file.csv", "a"); }),
            "file");
}

TEST(length_noise, loader_skips_a_byte_order_mark_and_names_a_directory) {
  const temp_file f("bom.csv", "\xEF\xBB\xBF" + header + "a,100,50,200,0.1\n");
  EXPECT_EQ(rtlm::sim::load_length_errors(f.path(), "a").samples().size(), 1U);
  try {
    (void)rtlm::sim::load_length_errors(std::string(RTLM_TEST_DATA_DIR), "a");
    ADD_FAILURE() << "a directory loaded";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), "file");
    EXPECT_EQ(e.requirement(), "is a directory, not a file");
  }
}

TEST(length_noise, unknown_generator_lists_the_ones_present) {
  const temp_file f("errors.csv", header + "a,10,5,20,0.5\nb,10,5,20,0.5\na,12,5,20,0.5\n");
  try {
    (void)rtlm::sim::load_length_errors(f.path(), "llama");
    FAIL() << "no error";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), "generator");
    EXPECT_EQ(e.value(), "llama");
    EXPECT_NE(std::string(e.what()).find("generators there: a, b)"), std::string::npos) << e.what();
  }
  const temp_file header_only("h.csv", header);
  EXPECT_EQ(blamed_field([&] { (void)rtlm::sim::load_length_errors(header_only.path(), "a"); }),
            "generator");
}

}  // namespace
