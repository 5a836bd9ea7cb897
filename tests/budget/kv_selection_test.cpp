// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/budget/kv_selection.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "rtlm/core/error.hpp"

namespace {

using rtlm::attention_heads;
using rtlm::attention_matrix;
using rtlm::kv_budget;
using rtlm::kv_selection;
using rtlm::tokens;
using positions = std::vector<std::int64_t>;

positions head(const kv_selection& s, std::int64_t h) {
  const auto p = s.positions(h);
  return {p.begin(), p.end()};
}

kv_budget keep(std::int64_t n) { return kv_budget::kept(tokens(n)); }

// The field named by the rtlm::error that `f` throws, or "" when it throws none.
std::string field_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const rtlm::error& e) {
    return e.field();
  }
  return "";
}

// One head, length 8, window 2: the two window queries sit at positions 6 and 7 (in 1/16ths;
// the query at 6 gives position 7 nothing, the causal mask).
//   query at 6: 3 2 0 5 0 0 6 0
//   query at 7: 3 3 0 4 0 0 2 4
// Window sums over the prefix 0..5:   s = 6 5 0 9 0 0
attention_matrix hand_case() {
  attention_matrix p{{3, 2, 0, 5, 0, 0, 6, 0}, {3, 3, 0, 4, 0, 0, 2, 4}};
  return p / 16.0F;
}

TEST(kv_selection, budget_turns_a_ratio_or_a_count_into_kept_tokens) {
  EXPECT_EQ(kv_budget::ratio(0.0).kept_for(tokens(10)).count(), 10);
  EXPECT_EQ(kv_budget::ratio(0.9).kept_for(tokens(10)).count(), 1);   // floor, as eviction_ratio
  EXPECT_EQ(kv_budget::ratio(0.25).kept_for(tokens(10)).count(), 7);  // floor(7.5)
  EXPECT_EQ(kv_budget::ratio(1.0).kept_for(tokens(10)).count(), 0);
  EXPECT_EQ(keep(5).kept_for(tokens(3)).count(), 3);
  EXPECT_EQ(keep(5).kept_for(tokens(8)).count(), 5);
  EXPECT_EQ(keep(5).kept_for(tokens(-2)).count(), 0);
}

TEST(kv_selection, snapkv_max_pooling_keeps_the_neighbourhood_of_a_peak) {
  // Max pooling, kernel 3 (padding 1, padding never wins):
  //   pooled = max(s[j-1..j+1]) = 6 6 9 9 9 0
  // Capacity 5 = window 2 + top 3 of the prefix: 2, 3, 4 (raw scores would keep 0, 1, 3).
  const rtlm::snapkv_options o{.window = 2, .kernel = 3};
  const kv_selection s = rtlm::select_snapkv(hand_case(), {}, keep(5), o);
  ASSERT_EQ(s.head_count(), 1);
  EXPECT_EQ(s.kept_per_head().count(), 5);
  EXPECT_EQ(s.length().count(), 8);
  EXPECT_EQ(head(s, 0), (positions{2, 3, 4, 6, 7}));
  // The same budget as a ratio: floor((1 - 0.375) * 8) = 5.
  EXPECT_EQ(head(rtlm::select_snapkv(hand_case(), {}, kv_budget::ratio(0.375), o), 0),
            (positions{2, 3, 4, 6, 7}));
}

TEST(kv_selection, snapkv_average_pooling_and_no_pooling) {
  // Average pooling, kernel 3, padding counted as 0 (divide by 3 everywhere):
  //   pooled = 11/3 11/3 14/3 9/3 9/3 0  -> top 3: 2, 0, 1
  const rtlm::snapkv_options avg{
      .window = 2, .kernel = 3, .pooling = rtlm::snapkv_pooling::average};
  EXPECT_EQ(head(rtlm::select_snapkv(hand_case(), {}, keep(5), avg), 0),
            (positions{0, 1, 2, 6, 7}));
  // Kernel 1 is no smoothing: the raw sums 6 5 0 9 0 0 -> top 3: 3, 0, 1.
  const rtlm::snapkv_options raw{.window = 2, .kernel = 1};
  EXPECT_EQ(head(rtlm::select_snapkv(hand_case(), {}, keep(5), raw), 0),
            (positions{0, 1, 3, 6, 7}));
}

TEST(kv_selection, snapkv_ties_go_to_the_lower_position) {
  // Default kernel 5 (padding 2), max pooling: pooled = 6 9 9 9 9 9; five positions tie at 9
  // for three places, so 1, 2, 3 win.
  const rtlm::snapkv_options o{.window = 2};
  EXPECT_EQ(head(rtlm::select_snapkv(hand_case(), {}, keep(5), o), 0), (positions{1, 2, 3, 6, 7}));
}

TEST(kv_selection, snapkv_pools_scores_across_a_gqa_group) {
  // Length 6, window 1 (the query at 5), kernel 1, capacity 3 = window + 2. In 1/16ths:
  //   head A: 8 0 4 0 0 4    prefix scores 8 0 4 0 0
  //   head B: 0 6 0 6 0 4    prefix scores 0 6 0 6 0
  //   mean:                                4 3 2 3 0  -> 0, then 1 over 3 (tie)
  const attention_matrix a = attention_matrix{{8, 0, 4, 0, 0, 4}} / 16.0F;
  const attention_matrix b = attention_matrix{{0, 6, 0, 6, 0, 4}} / 16.0F;
  attention_matrix two(2, 6);
  two << a, b;
  rtlm::snapkv_options o{.window = 1, .kernel = 1};
  const attention_heads mqa{.query_heads = 2, .kv_heads = 1};

  const kv_selection grouped = rtlm::select_snapkv(two, mqa, keep(3), o);
  ASSERT_EQ(grouped.head_count(), 1);
  EXPECT_EQ(head(grouped, 0), (positions{0, 1, 5}));

  o.gqa = rtlm::snapkv_gqa::per_query_head;
  const kv_selection each = rtlm::select_snapkv(two, mqa, keep(3), o);
  ASSERT_EQ(each.head_count(), 2);
  EXPECT_EQ(head(each, 0), (positions{0, 2, 5}));
  EXPECT_EQ(head(each, 1), (positions{1, 3, 5}));
  EXPECT_EQ(each.all_positions().size(), 6U);

  // Four query heads over two KV heads: query heads 0, 1 share KV head 0 and 2, 3 share KV
  // head 1 (adjacent, as repeat_kv). Heads A A B B give KV head 0 A's choice and 1 B's.
  attention_matrix four(4, 6);
  four << a, a, b, b;
  o.gqa = rtlm::snapkv_gqa::kv_group_mean;
  const kv_selection gqa = rtlm::select_snapkv(four, {.query_heads = 4, .kv_heads = 2}, keep(3), o);
  ASSERT_EQ(gqa.head_count(), 2);
  EXPECT_EQ(head(gqa, 0), (positions{0, 2, 5}));
  EXPECT_EQ(head(gqa, 1), (positions{1, 3, 5}));
}

TEST(kv_selection, snapkv_edge_cases) {
  const rtlm::snapkv_options o{.window = 2, .kernel = 3};
  // A budget of the whole prompt or more, or alpha 0, keeps everything.
  for (const kv_budget b : {keep(8), keep(100), kv_budget::ratio(0.0)}) {
    const kv_selection s = rtlm::select_snapkv(hand_case(), {}, b, o);
    EXPECT_EQ(head(s, 0), (positions{0, 1, 2, 3, 4, 5, 6, 7}));
  }
  // A budget no larger than the window keeps the last positions only; alpha 1 keeps nothing.
  EXPECT_EQ(head(rtlm::select_snapkv(hand_case(), {}, keep(2), o), 0), (positions{6, 7}));
  EXPECT_EQ(head(rtlm::select_snapkv(hand_case(), {}, keep(1), o), 0), (positions{7}));
  const kv_selection none = rtlm::select_snapkv(hand_case(), {}, kv_budget::ratio(1.0), o);
  EXPECT_EQ(none.head_count(), 1);
  EXPECT_EQ(none.kept_per_head().count(), 0);
  EXPECT_TRUE(none.positions(0).empty());
  // A prompt shorter than the window: the window is the whole prompt (3 queries).
  const attention_matrix short_prompt = attention_matrix::Constant(3, 3, 0.25F);
  EXPECT_EQ(head(rtlm::select_snapkv(short_prompt, {}, keep(2), {.window = 4}), 0),
            (positions{1, 2}));
  // Length 0: every head keeps nothing.
  const kv_selection empty =
      rtlm::select_snapkv(attention_matrix(0, 0), {.query_heads = 2, .kv_heads = 2}, keep(4), o);
  EXPECT_EQ(empty.head_count(), 2);
  EXPECT_EQ(empty.length().count(), 0);
  EXPECT_TRUE(empty.all_positions().empty());
}

TEST(kv_selection, window_attention_is_a_causal_softmax) {
  // Length 4, window 2, head dimension 2: window query 0 sits at position 2, query 1 at 3.
  const attention_matrix q{{1, 0}, {0, 1}};
  const attention_matrix k{{0, 0}, {1, 0}, {2, 0}, {5, 5}};
  const attention_matrix p = rtlm::snapkv_window_attention(q, k, {});
  ASSERT_EQ(p.rows(), 2);
  ASSERT_EQ(p.cols(), 4);
  // Key 3 comes after query 0: probability exactly 0 though its logit (5 / sqrt 2) is the
  // largest.
  EXPECT_EQ(p(0, 3), 0.0F);
  const double r = 1.0 / std::sqrt(2.0);
  const std::vector<double> l0{0, r, 2 * r};  // q0 . k / sqrt(2) over keys 0..2
  const std::vector<double> l1{0, 0, 0, 5 * r};
  double z0 = 0;
  double z1 = 0;
  for (const double x : l0) z0 += std::exp(x);
  for (const double x : l1) z1 += std::exp(x);
  for (std::size_t t = 0; t < 3; ++t) {
    EXPECT_NEAR(p(0, static_cast<Eigen::Index>(t)), std::exp(l0[t]) / z0, 1e-6) << t;
  }
  for (std::size_t t = 0; t < 4; ++t) {
    EXPECT_NEAR(p(1, static_cast<Eigen::Index>(t)), std::exp(l1[t]) / z1, 1e-6) << t;
  }
  EXPECT_NEAR(p.row(0).sum(), 1.0F, 1e-6F);
  EXPECT_NEAR(p.row(1).sum(), 1.0F, 1e-6F);

  // Equal logits: uniform over the visible keys.
  const attention_matrix flat = rtlm::snapkv_window_attention(q, attention_matrix::Zero(4, 2), {});
  EXPECT_FLOAT_EQ(flat(0, 0), 1.0F / 3.0F);
  EXPECT_EQ(flat(0, 3), 0.0F);
  EXPECT_FLOAT_EQ(flat(1, 3), 0.25F);
}

TEST(kv_selection, window_attention_maps_query_heads_to_their_kv_head) {
  // Two query heads over one KV head read the same keys; over two KV heads, the second reads
  // rows 4..7 of `keys`.
  const attention_matrix q{{1, 0}, {0, 1}, {1, 0}, {0, 1}};
  const attention_matrix k{{0, 0}, {1, 0}, {2, 0}, {5, 5}};
  const attention_matrix shared = rtlm::snapkv_window_attention(q, k, {2, 1});
  ASSERT_EQ(shared.rows(), 4);
  EXPECT_TRUE(shared.topRows(2) == shared.bottomRows(2));
  attention_matrix k2(8, 2);
  k2 << k, attention_matrix::Zero(4, 2);
  attention_matrix out;
  rtlm::snapkv_window_attention(q, k2, {2, 2}, out);
  EXPECT_TRUE(out.topRows(2) == shared.topRows(2));
  EXPECT_FLOAT_EQ(out(2, 0), 1.0F / 3.0F);  // zero keys: uniform over positions 0..2
  EXPECT_EQ(out(2, 3), 0.0F);
}

TEST(kv_selection, window_attention_feeds_select_snapkv) {
  // Length 6, window 2, d 1: position 1's key draws almost all attention from both window
  // queries, so with kernel 1 and capacity 3 SnapKV keeps 1 plus the window 4, 5.
  const attention_matrix q{{1}, {1}};
  const attention_matrix k{{0}, {10}, {0}, {0}, {0}, {0}};
  const attention_matrix p = rtlm::snapkv_window_attention(q, k, {});
  const kv_selection s = rtlm::select_snapkv(p, {}, keep(3), {.window = 2, .kernel = 1});
  EXPECT_EQ(head(s, 0), (positions{1, 4, 5}));
}

// Window sums per query head of `probabilities` (query_heads * window rows), as a GPU host
// reduces them before shipping them to select_snapkv_from_window_scores.
attention_matrix window_sums(const attention_matrix& probabilities, std::int64_t query_heads) {
  const std::int64_t window = probabilities.rows() / query_heads;
  attention_matrix sums(query_heads, probabilities.cols());
  for (std::int64_t h = 0; h < query_heads; ++h)
    sums.row(h) = probabilities.middleRows(h * window, window).colwise().sum();
  return sums;
}

TEST(kv_selection, snapkv_from_window_scores_selects_as_from_the_probabilities) {
  // Hand case: window sums 6 5 0 9 0 0 over the prefix, kernel 1, capacity 4 = window + 2.
  const rtlm::snapkv_options hand{.window = 2, .kernel = 1};
  EXPECT_EQ(
      head(rtlm::select_snapkv_from_window_scores(window_sums(hand_case(), 1), {}, keep(4), hand),
           0),
      (positions{0, 3, 6, 7}));
  // Random GQA attention, both poolings and GQA modes, budgets across the edge cases: the two
  // entry points keep the same positions.
  const attention_heads gqa{.query_heads = 8, .kv_heads = 2};
  const std::int64_t length = 57;
  const std::int64_t window = 5;
  const attention_matrix q = attention_matrix::Random(gqa.query_heads * window, 16);
  const attention_matrix k = attention_matrix::Random(gqa.kv_heads * length, 16);
  const attention_matrix p = rtlm::snapkv_window_attention(q, k, gqa);
  const attention_matrix sums = window_sums(p, gqa.query_heads);
  for (const rtlm::snapkv_pooling pooling :
       {rtlm::snapkv_pooling::max, rtlm::snapkv_pooling::average}) {
    for (const rtlm::snapkv_gqa mode :
         {rtlm::snapkv_gqa::kv_group_mean, rtlm::snapkv_gqa::per_query_head}) {
      const rtlm::snapkv_options o{.window = window, .kernel = 5, .pooling = pooling, .gqa = mode};
      for (const std::int64_t kept : {0, 3, 5, 6, 20, 56, 57, 80}) {
        const kv_selection a = rtlm::select_snapkv(p, gqa, keep(kept), o);
        const kv_selection b = rtlm::select_snapkv_from_window_scores(sums, gqa, keep(kept), o);
        ASSERT_EQ(a.head_count(), b.head_count());
        for (std::int64_t h = 0; h < a.head_count(); ++h)
          EXPECT_EQ(head(a, h), head(b, h)) << "kept " << kept << " head " << h;
      }
    }
  }
  // Bad input names the field.
  EXPECT_EQ(field_of([&] {
              (void)rtlm::select_snapkv_from_window_scores(sums, {.query_heads = 4, .kv_heads = 2},
                                                           keep(9), {});
            }),
            "window_scores.rows");
  attention_matrix bad = sums;
  bad(3, 7) = -1.0F;
  EXPECT_EQ(field_of([&] { (void)rtlm::select_snapkv_from_window_scores(bad, gqa, keep(9), {}); }),
            "window_scores(3, 7)");
  EXPECT_EQ(field_of([&] {
              (void)rtlm::select_snapkv_from_window_scores(sums, gqa, keep(9), {.window = 0});
            }),
            "snapkv_options.window");
}

TEST(kv_selection, streaming_llm_keeps_sinks_and_recent_tokens) {
  const tokens ten(10);
  EXPECT_EQ(head(rtlm::select_streaming_llm(ten, keep(7)), 0), (positions{0, 1, 2, 3, 7, 8, 9}));
  // floor((1 - 0.3) * 10) = 7
  EXPECT_EQ(head(rtlm::select_streaming_llm(ten, kv_budget::ratio(0.3)), 0),
            (positions{0, 1, 2, 3, 7, 8, 9}));
  EXPECT_EQ(head(rtlm::select_streaming_llm(ten, keep(5)), 0), (positions{0, 1, 2, 3, 9}));
  EXPECT_EQ(head(rtlm::select_streaming_llm(ten, keep(4)), 0), (positions{0, 1, 2, 3}));
  EXPECT_EQ(head(rtlm::select_streaming_llm(ten, keep(3)), 0), (positions{0, 1, 2}));
  EXPECT_EQ(head(rtlm::select_streaming_llm(ten, keep(3), {.sink = 0}), 0), (positions{7, 8, 9}));
  EXPECT_EQ(head(rtlm::select_streaming_llm(tokens(3), keep(3)), 0), (positions{0, 1, 2}));
  EXPECT_EQ(rtlm::select_streaming_llm(ten, kv_budget::ratio(0.0)).kept_per_head().count(), 10);
  EXPECT_TRUE(rtlm::select_streaming_llm(ten, kv_budget::ratio(1.0)).positions(0).empty());
  const kv_selection empty = rtlm::select_streaming_llm(tokens(0), keep(4));
  EXPECT_EQ(empty.head_count(), 1);
  EXPECT_TRUE(empty.all_positions().empty());
}

TEST(kv_selection, h2o_keeps_heavy_hitters_and_a_recent_window) {
  //            position: 0  1  2  3  4  5  6  7  8  9
  const attention_matrix scores{{5, 1, 0, 7, 2, 2, 0, 3, 1, 4}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}};
  // Capacity 4, half and half: recent 8, 9; heavy among 0..7: 3 (7), 0 (5). Head 1 ties
  // everywhere: 0, 1.
  const kv_selection s = rtlm::select_h2o(scores, keep(4));
  ASSERT_EQ(s.head_count(), 2);
  EXPECT_EQ(head(s, 0), (positions{0, 3, 8, 9}));
  EXPECT_EQ(head(s, 1), (positions{0, 1, 8, 9}));
  // Capacity 5: heavy floor(2.5) = 2, recent 3 (7, 8, 9); heavy among 0..6: 3, 0.
  EXPECT_EQ(head(rtlm::select_h2o(scores, keep(5)), 0), (positions{0, 3, 7, 8, 9}));
  // heavy_fraction 0.75 of 4: heavy 3, recent 1 (9); heavy among 0..8: 3, 0, 7.
  EXPECT_EQ(head(rtlm::select_h2o(scores, keep(4), {.heavy_fraction = 0.75}), 0),
            (positions{0, 3, 7, 9}));
  // 0: recent only; 1: heavy only, among all ten: 3, 0, 9, 7.
  EXPECT_EQ(head(rtlm::select_h2o(scores, keep(4), {.heavy_fraction = 0.0}), 0),
            (positions{6, 7, 8, 9}));
  EXPECT_EQ(head(rtlm::select_h2o(scores, keep(4), {.heavy_fraction = 1.0}), 0),
            (positions{0, 3, 7, 9}));
  // Everything, nothing, and length 0.
  EXPECT_EQ(rtlm::select_h2o(scores, kv_budget::ratio(0.0)).kept_per_head().count(), 10);
  EXPECT_EQ(head(rtlm::select_h2o(scores, keep(12)), 1), (positions{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_TRUE(rtlm::select_h2o(scores, kv_budget::ratio(1.0)).all_positions().empty());
  const kv_selection empty = rtlm::select_h2o(attention_matrix(3, 0), keep(4));
  EXPECT_EQ(empty.head_count(), 3);
  EXPECT_TRUE(empty.all_positions().empty());
}

TEST(kv_selection, a_reused_selection_stops_allocating_and_stays_exact) {
  kv_selection out;
  const rtlm::snapkv_options o{.window = 2, .kernel = 3};
  rtlm::select_snapkv(hand_case(), {}, keep(6), o, out);  // warm-up: the largest call
  const std::int64_t* storage = out.all_positions().data();
  rtlm::select_snapkv(hand_case(), {}, keep(5), o, out);
  EXPECT_EQ(out.all_positions().data(), storage);
  EXPECT_EQ(head(out, 0), (positions{2, 3, 4, 6, 7}));
  rtlm::select_streaming_llm(tokens(8), keep(3), {}, out);
  EXPECT_EQ(out.all_positions().data(), storage);
  EXPECT_EQ(head(out, 0), (positions{0, 1, 2}));
  rtlm::select_h2o(attention_matrix{{0, 9, 0, 0, 0, 0, 0, 0}}, keep(2), {}, out);
  EXPECT_EQ(out.all_positions().data(), storage);
  EXPECT_EQ(head(out, 0), (positions{1, 7}));
}

TEST(kv_selection, bad_input_throws_naming_the_field) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const float nanf = std::numeric_limits<float>::quiet_NaN();
  try {
    (void)kv_budget::ratio(nan);
    ADD_FAILURE() << "no throw";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), "kv_budget.ratio");
    EXPECT_EQ(e.value(), "nan");
  }
  EXPECT_EQ(field_of([] { (void)kv_budget::ratio(-0.1); }), "kv_budget.ratio");
  EXPECT_EQ(field_of([] { (void)kv_budget::ratio(1.5); }), "kv_budget.ratio");
  EXPECT_EQ(field_of([] { (void)keep(-1); }), "kv_budget.kept");

  const attention_matrix p = hand_case();
  const auto snap = [&p](rtlm::snapkv_options o, attention_heads h = {}) {
    return field_of([&] { (void)rtlm::select_snapkv(p, h, keep(5), o); });
  };
  EXPECT_EQ(snap({.window = 0}), "snapkv_options.window");
  EXPECT_EQ(snap({.window = 2, .kernel = 4}), "snapkv_options.kernel");
  EXPECT_EQ(snap({.window = 2, .kernel = 0}), "snapkv_options.kernel");
  EXPECT_EQ(snap({.window = 2, .kernel = -3}), "snapkv_options.kernel");
  EXPECT_EQ(snap({.window = 3}), "window_probabilities.rows");  // 2 rows for a window of 3
  EXPECT_EQ(snap({.window = 2}, {.query_heads = 2, .kv_heads = 1}), "window_probabilities.rows");
  EXPECT_EQ(snap({.window = 2}, {.query_heads = 0, .kv_heads = 1}), "attention_heads.query_heads");
  EXPECT_EQ(snap({.window = 2}, {.query_heads = 1, .kv_heads = 0}), "attention_heads.kv_heads");
  EXPECT_EQ(snap({.window = 1}, {.query_heads = 2, .kv_heads = 3}), "attention_heads.kv_heads");
  attention_matrix bad = p;
  bad(1, 2) = nanf;
  EXPECT_EQ(field_of([&] { (void)rtlm::select_snapkv(bad, {}, keep(5), {.window = 2}); }),
            "window_probabilities(1, 2)");
  bad(1, 2) = -0.5F;
  EXPECT_EQ(field_of([&] { (void)rtlm::select_snapkv(bad, {}, keep(5), {.window = 2}); }),
            "window_probabilities(1, 2)");

  const attention_matrix q{{1, 0}, {0, 1}};
  const attention_matrix k{{0, 0}, {1, 0}, {2, 0}, {5, 5}};
  const auto attend = [](const attention_matrix& qq, const attention_matrix& kk,
                         attention_heads h = {}) {
    return field_of([&] { (void)rtlm::snapkv_window_attention(qq, kk, h); });
  };
  EXPECT_EQ(attend(q, k.leftCols(1)), "keys.cols");
  EXPECT_EQ(attend(q, k, {.query_heads = 3, .kv_heads = 1}), "queries.rows");
  EXPECT_EQ(attend(q, k, {.query_heads = 2, .kv_heads = 3}), "attention_heads.kv_heads");
  EXPECT_EQ(attend(q, k.topRows(3), {.query_heads = 2, .kv_heads = 2}), "keys.rows");
  EXPECT_EQ(attend(q, k.topRows(1)), "queries.rows");  // a window of 2 in a prompt of 1
  EXPECT_EQ(attend(attention_matrix(2, 0), attention_matrix(4, 0)), "queries.cols");
  attention_matrix bad_k = k;
  bad_k(0, 1) = std::numeric_limits<float>::infinity();
  EXPECT_EQ(attend(q, bad_k), "keys(0, 1)");
  attention_matrix bad_q = q;
  bad_q(1, 0) = nanf;
  EXPECT_EQ(attend(bad_q, k), "queries(1, 0)");

  EXPECT_EQ(field_of([] { (void)rtlm::select_streaming_llm(tokens(8), keep(4), {.sink = -1}); }),
            "streaming_llm_options.sink");
  EXPECT_EQ(field_of([] { (void)rtlm::select_streaming_llm(tokens(-1), keep(4)); }), "length");

  const attention_matrix s{{5, 1, 0, 7}};
  const auto h2o = [](const attention_matrix& m, double fraction) {
    return field_of([&] { (void)rtlm::select_h2o(m, keep(2), {.heavy_fraction = fraction}); });
  };
  EXPECT_EQ(h2o(s, nan), "h2o_options.heavy_fraction");
  EXPECT_EQ(h2o(s, -0.5), "h2o_options.heavy_fraction");
  EXPECT_EQ(h2o(s, 1.5), "h2o_options.heavy_fraction");
  EXPECT_EQ(h2o(attention_matrix(0, 4), 0.5), "accumulated_scores.rows");
  attention_matrix bad_s = s;
  bad_s(0, 3) = nanf;
  EXPECT_EQ(h2o(bad_s, 0.5), "accumulated_scores(0, 3)");
  bad_s(0, 3) = -1.0F;
  EXPECT_EQ(h2o(bad_s, 0.5), "accumulated_scores(0, 3)");
  // rtlm::error is an std::invalid_argument.
  EXPECT_THROW((void)rtlm::select_h2o(bad_s, keep(2)), std::invalid_argument);
}

}  // namespace
