// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/estimate/estimator_file.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "estimate/temp_file.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/profile_csv.hpp"

namespace {

using rtlm::tokens;
using rtlm::test::blamed_field;
using rtlm::test::temp_file;

const rtlm::model_shape llama{rtlm::models::by_name("llama-3.1-8b").value()};
const rtlm::hardware_spec h100{rtlm::accelerators::h100_sxm_bf16()};

const rtlm::profile& measured() {
  static const rtlm::profile p =
      rtlm::load_profile_csv(std::string(RTLM_TEST_PROFILE_DIR) + "/h100_llama-3.1-8b.csv");
  return p;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(estimator_file, roofline_round_trip_is_exact) {
  const rtlm::roofline_fit fit =
      rtlm::fit_roofline_estimator(rtlm::step_featurizer(llama, h100), measured());
  const temp_file f("roofline.txt");
  rtlm::save_estimator(fit.estimator, f.path());
  const rtlm::fitted_roofline_estimator loaded =
      rtlm::load_roofline_estimator(f.path(), llama, h100);
  const std::vector<tokens> kv{tokens(100), tokens(5000), tokens(300)};
  EXPECT_EQ(loaded.prefill_time(tokens(1234), tokens(0)),
            fit.estimator.prefill_time(tokens(1234), tokens(0)));
  EXPECT_EQ(loaded.prefill_time(tokens(512), tokens(4096)),
            fit.estimator.prefill_time(tokens(512), tokens(4096)));
  EXPECT_EQ(loaded.decode_time(kv), fit.estimator.decode_time(kv));
  EXPECT_EQ(loaded.decode_upper_bound(kv, 0.99), fit.estimator.decode_upper_bound(kv, 0.99));
  for (std::size_t r = 0; r < rtlm::step_regime_count; ++r) {
    const auto regime = static_cast<rtlm::step_regime>(r);
    const auto a = loaded.error_bound(regime).residuals();
    const auto b = fit.estimator.error_bound(regime).residuals();
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << r;
  }
}

TEST(estimator_file, timebill_round_trip_is_exact) {
  const rtlm::timebill_estimator fit = rtlm::fit_timebill_estimator(measured());
  const temp_file f("timebill.txt");
  rtlm::save_estimator(fit, llama.config(), f.path());
  const rtlm::timebill_estimator loaded = rtlm::load_timebill_estimator(f.path(), llama);
  EXPECT_EQ(loaded.coefficients().a, fit.coefficients().a);
  EXPECT_EQ(loaded.coefficients().q, fit.coefficients().q);
  EXPECT_EQ(loaded.prefill_upper_bound(tokens(700), tokens(0), 0.9),
            fit.prefill_upper_bound(tokens(700), tokens(0), 0.9));
}

TEST(estimator_file, foreign_files_are_refused) {
  const rtlm::timebill_estimator fit = rtlm::fit_timebill_estimator(measured());
  const temp_file saved("saved.txt");
  rtlm::save_estimator(fit, llama.config(), saved.path());
  const std::string text = read(saved.path());

  // Another format version: the one before split_kv_time, and one after this build's.
  std::string v1 = text;
  v1[v1.find("rtlm-step-estimator 2") + 20] = '1';
  const temp_file f1("v1.txt", v1);
  EXPECT_EQ(blamed_field([&] { (void)rtlm::load_timebill_estimator(f1.path(), llama); }),
            f1.path() + ":1 format version");
  std::string v2 = text;
  v2[v2.find("rtlm-step-estimator 2") + 20] = '3';
  const temp_file f2("v3.txt", v2);
  EXPECT_EQ(blamed_field([&] { (void)rtlm::load_timebill_estimator(f2.path(), llama); }),
            f2.path() + ":1 format version");

  // Another model shape: the field names the mismatch.
  const rtlm::model_shape qwen(rtlm::models::qwen2_5_7b());
  EXPECT_EQ(blamed_field([&] { (void)rtlm::load_timebill_estimator(saved.path(), qwen); }),
            saved.path() + ":3 model.name");
  rtlm::model_config deeper = llama.config();
  deeper.layers = 40;
  EXPECT_EQ(blamed_field([&] {
              (void)rtlm::load_timebill_estimator(saved.path(), rtlm::model_shape(deeper));
            }),
            saved.path() + ":3 model.layers");

  // Another kind of estimator.
  EXPECT_EQ(blamed_field([&] { (void)rtlm::load_roofline_estimator(saved.path(), llama, h100); }),
            saved.path() + ":2 kind");

  // Not an estimator at all, and a corrupt number.
  const temp_file junk("junk.txt", "hello\n");
  EXPECT_EQ(blamed_field([&] { (void)rtlm::load_timebill_estimator(junk.path(), llama); }),
            junk.path() + ":1");
  std::string corrupt = text;
  corrupt[corrupt.find(" a=") + 3] = 'x';
  const temp_file fc("corrupt.txt", corrupt);
  EXPECT_EQ(blamed_field([&] { (void)rtlm::load_timebill_estimator(fc.path(), llama); }),
            fc.path() + ":4 timebill.a");

  // A residual no measurement can have (measured / estimated - 1 <= -1), first of its line.
  std::string impossible = text;
  const std::size_t line = impossible.find("residuals prefill ");
  ASSERT_NE(line, std::string::npos);
  const std::size_t count = line + std::string("residuals prefill ").size();
  const std::size_t count_end = impossible.find(' ', count);
  const int n = std::stoi(impossible.substr(count, count_end - count));
  impossible.replace(count, count_end - count, std::to_string(n + 1) + " -1.5");
  const temp_file fr("residual.txt", impossible);
  const auto line_number =
      1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(line), '\n');
  EXPECT_EQ(blamed_field([&] { (void)rtlm::load_timebill_estimator(fr.path(), llama); }),
            fr.path() + ":" + std::to_string(line_number) + " residual");
}

}  // namespace
