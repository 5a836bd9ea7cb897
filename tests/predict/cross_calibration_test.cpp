// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/predict/cross_calibration.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "predict/test_data.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/predict/online_length_regressor.hpp"

namespace {

// A test double that remembers which prompts (feature groups) it was fitted on and reports every
// prompt it is asked to predict that it was also trained on: a leak from training into scoring.
class spy_predictor final : public rtlm::length_predictor {
 public:
  [[nodiscard]] const rtlm::prompt_feature_config& feature_config() const noexcept override {
    return features_;
  }
  [[nodiscard]] rtlm::length_predictor_kind kind() const noexcept override {
    return rtlm::length_predictor_kind::online_regressor;
  }
  std::shared_ptr<std::size_t> leaks = std::make_shared<std::size_t>(0);
  std::shared_ptr<std::size_t> scored = std::make_shared<std::size_t>(0);
  std::shared_ptr<std::size_t> fits = std::make_shared<std::size_t>(0);

 private:
  void do_predict(const rtlm::prompt_features& f, rtlm::length_distribution& out) const override {
    ++*scored;
    if (trained_on_.count(rtlm::feature_group(f)) != 0) ++*leaks;
    out.resize(1);
    out.mutable_edges()[0] = 0.0;
    out.mutable_edges()[1] = 200.0;
    out.mutable_probabilities()[0] = 1.0;
    out.normalize();
  }
  void do_learn(const rtlm::prompt_features& /*f*/, rtlm::tokens /*length*/) noexcept override {}
  void do_fit(std::span<const rtlm::prompt_features> f,
              std::span<const rtlm::tokens> /*lengths*/) override {
    ++*fits;
    trained_on_.clear();
    for (const rtlm::prompt_features& x : f) trained_on_.insert(rtlm::feature_group(x));
  }
  void write_payload(rtlm::detail::byte_writer& /*w*/) const override {}

  rtlm::prompt_feature_config features_;
  std::set<std::uint64_t> trained_on_;
};

// 200 distinct prompts, each logged twice (as a real request log repeats prompts), the copies
// interleaved far apart.
rtlm::test::planted_data duplicated(std::size_t distinct, std::uint64_t seed) {
  rtlm::test::planted_data once = rtlm::test::make_planted(distinct, seed, 0.5);
  rtlm::test::planted_data twice = once;
  for (std::size_t i = 0; i < distinct; ++i) {
    twice.features.push_back(once.features[i]);
    // The second copy's answer differs, as a sampled model's would.
    twice.lengths.emplace_back(once.lengths[i].count() + 1);
    twice.log_means.push_back(once.log_means[i]);
  }
  return twice;
}

TEST(fit_and_calibrate, never_scores_a_prompt_it_was_trained_on_when_prompts_repeat) {
  const rtlm::test::planted_data data = duplicated(200, 7);
  const std::vector<std::uint64_t> groups = rtlm::feature_groups(data.features);
  std::set<std::uint64_t> distinct(groups.begin(), groups.end());
  ASSERT_GT(distinct.size(), 150U);  // planted prompts repeat rarely on their own
  spy_predictor spy;
  rtlm::conformal_length_bound bound;
  rtlm::fit_and_calibrate(spy, std::span<const rtlm::prompt_features>(data.features),
                          std::span<const rtlm::tokens>(data.lengths), bound, 5, 3);
  // Splitting by row put a copy of about 4 in 5 test prompts in the training folds.
  EXPECT_EQ(*spy.leaks, 0U);
  EXPECT_EQ(*spy.scored, data.features.size());  // every example scored exactly once
  EXPECT_EQ(*spy.fits, 6U);                      // five folds, then the final fit
  EXPECT_EQ(bound.size(), data.features.size());
  // Folds by row, as fit_and_calibrate split them before: copies of test prompts in training.
  std::vector<std::uint64_t> rows(data.features.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  spy_predictor by_row;
  rtlm::conformal_length_bound row_bound;
  rtlm::fit_and_calibrate(by_row, std::span<const rtlm::prompt_features>(data.features),
                          std::span<const rtlm::tokens>(data.lengths),
                          std::span<const std::uint64_t>(rows), row_bound, 5, 3);
  EXPECT_GT(*by_row.leaks, data.features.size() / 2);
}

TEST(fit_and_calibrate, takes_the_callers_groups) {
  const rtlm::test::planted_data data = rtlm::test::make_planted(120, 8, 0.5);
  // Groups of three consecutive rows: the spy sees a leak unless all three share a fold.
  std::vector<std::uint64_t> groups;
  for (std::size_t i = 0; i < data.features.size(); ++i) groups.push_back(i / 3);
  const std::vector<std::size_t> fold = rtlm::group_folds(groups, 5, 1);
  for (std::size_t i = 0; i < fold.size(); i += 3) {
    EXPECT_EQ(fold[i], fold[i + 1]);
    EXPECT_EQ(fold[i], fold[i + 2]);
  }
  std::vector<std::size_t> sizes(5, 0);
  for (std::size_t f : fold) ++sizes[f];
  for (std::size_t s : sizes) EXPECT_EQ(s, 24U);  // 40 groups of 3 over 5 folds
  spy_predictor spy;
  rtlm::conformal_length_bound bound;
  rtlm::fit_and_calibrate(spy, std::span<const rtlm::prompt_features>(data.features),
                          std::span<const rtlm::tokens>(data.lengths),
                          std::span<const std::uint64_t>(groups), bound, 5, 1);
  EXPECT_EQ(*spy.scored, 120U);
}

TEST(group_folds, do_not_depend_on_the_order_of_the_examples) {
  std::vector<std::uint64_t> groups{5, 9, 5, 2, 11, 9, 40, 2, 7, 7};
  const std::vector<std::size_t> fold = rtlm::group_folds(groups, 3, 4);
  std::vector<std::uint64_t> reversed(groups.rbegin(), groups.rend());
  const std::vector<std::size_t> fold_reversed = rtlm::group_folds(reversed, 3, 4);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    EXPECT_EQ(fold[i], fold_reversed[groups.size() - 1 - i]);
  }
}

TEST(fit_and_calibrate, the_bound_covers_new_prompts_when_the_log_repeats_them) {
  // With every prompt twice, a predictor scored on copies of its own training prompts looks
  // better than it is and the bound comes out too tight; grouped folds keep it honest.
  const rtlm::test::planted_data data = duplicated(300, 9);
  const rtlm::test::planted_data fresh = rtlm::test::make_planted(3000, 10, 0.5);
  rtlm::online_length_regressor r({.features = {.hash_bits = 8}});
  rtlm::conformal_length_bound bound;
  rtlm::fit_and_calibrate(r, std::span<const rtlm::prompt_features>(data.features),
                          std::span<const rtlm::tokens>(data.lengths), bound, 5, 0);
  double covered = 0;
  rtlm::length_distribution d;
  for (std::size_t i = 0; i < fresh.features.size(); ++i) {
    r.predict(fresh.features[i], d);
    covered += fresh.lengths[i] <= bound.bound(d, 0.9).length ? 1 : 0;
  }
  EXPECT_NEAR(covered / static_cast<double>(fresh.features.size()), 0.9, 0.03);
}

TEST(fit_and_calibrate, errors_name_the_field_and_value) {
  const rtlm::test::planted_data data = rtlm::test::make_planted(20, 11, 0.5);
  std::vector<std::uint64_t> two_groups(20, 1);
  two_groups[0] = 2;
  spy_predictor spy;
  rtlm::conformal_length_bound bound;
  const auto message = [&](std::span<const std::uint64_t> groups, std::size_t folds) {
    try {
      rtlm::fit_and_calibrate(spy, std::span<const rtlm::prompt_features>(data.features),
                              std::span<const rtlm::tokens>(data.lengths), groups, bound, folds, 0);
    } catch (const rtlm::error& e) {
      return e.field() + " = " + e.value() + ": " + e.what();
    }
    return std::string();
  };
  EXPECT_NE(message(two_groups, 3).find("fit_and_calibrate.folds = 3"), std::string::npos);
  EXPECT_NE(message(two_groups, 3).find("distinct prompts (2 among 20 examples)"),
            std::string::npos);
  EXPECT_EQ(message(two_groups, 2), "");
  EXPECT_NE(message(std::span<const std::uint64_t>(two_groups).first(5), 2)
                .find("fit_and_calibrate.groups = 5"),
            std::string::npos);
}

TEST(cross_validate, scores_each_example_once_out_of_its_folds) {
  const rtlm::test::planted_data data = duplicated(100, 12);
  const std::vector<std::uint64_t> groups = rtlm::feature_groups(data.features);
  const std::vector<double> coverages{0.5, 0.9};
  spy_predictor spy;
  const std::vector<rtlm::out_of_fold_prediction> oof = rtlm::cross_validate(
      spy, std::span<const rtlm::prompt_features>(data.features),
      std::span<const rtlm::tokens>(data.lengths), std::span<const std::uint64_t>(groups),
      std::span<const double>(coverages), 5, 0);
  EXPECT_EQ(*spy.leaks, 0U);
  ASSERT_EQ(oof.size(), data.features.size());
  for (const rtlm::out_of_fold_prediction& o : oof) {
    ASSERT_EQ(o.bounds.size(), 2U);
    EXPECT_LE(o.bounds[0].length, o.bounds[1].length);
    EXPECT_DOUBLE_EQ(o.mean, 100.0);
  }
}

}  // namespace
