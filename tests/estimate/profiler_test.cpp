// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/estimate/profiler.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "estimate/temp_file.hpp"
#include "rtlm/estimate/profile_csv.hpp"
#include "rtlm/testing/fake_backend.hpp"

namespace {

using rtlm::tokens;

// A fake whose step time is 1 ms plus 1 us per new token plus 1 ns per KV entry read.
rtlm::testing::fake_backend_config config(tokens capacity, bool can_chunk) {
  rtlm::testing::fake_backend_config c;
  c.capabilities.name = "fake";
  c.capabilities.kv_capacity = capacity;
  c.capabilities.can_chunk_prefill = can_chunk;
  c.default_output_length = tokens(1 << 20);
  c.step_time = [](const rtlm::step_plan& plan) {
    double t = plan.computed() == 0 ? 0.0 : 1e-3;
    for (const auto& p : plan.prefills)
      t += 1e-6 * static_cast<double>(p.new_tokens.count()) +
           1e-9 * static_cast<double>(p.computed_tokens.count());
    for (const auto& d : plan.decodes) t += 1e-6 + 1e-9 * static_cast<double>(d.kv_length.count());
    return rtlm::seconds(t);
  };
  return c;
}

TEST(run_profiler, measures_every_shape_of_the_grid) {
  rtlm::testing::fake_backend backend(config(tokens(100000), true));
  rtlm::profile_grid grid;
  grid.prefill_lengths = {tokens(10), tokens(1000)};
  grid.prefill_chunks = {{tokens(100), tokens(400)}};
  grid.decode_batch_sizes = {1, 4};
  grid.decode_kv_lengths = {tokens(512)};
  grid.mixed_decode_batches = {{tokens(100), tokens(900)}};
  const rtlm::profile p = rtlm::run_profiler(backend, grid, {.warmup = 2, .repeats = 4});
  ASSERT_EQ(p.points.size(), 6U);
  EXPECT_EQ(p.points[0].measurements.size(), 4U);
  EXPECT_DOUBLE_EQ(p.points[0].median().count(), 1e-3 + 10e-6);
  EXPECT_DOUBLE_EQ(p.points[1].median().count(), 1e-3 + 1000e-6);
  EXPECT_EQ(p.points[2].kv_lengths.front(), tokens(400));
  EXPECT_DOUBLE_EQ(p.points[2].median().count(), 1e-3 + 100e-6 + 400e-9);
  // Decode steps at batch 1 run from KV 512 - 3 upwards: 509..514, of which the last four count.
  const rtlm::profile_point& d1 = p.points[3];
  EXPECT_EQ(d1.phase, rtlm::step_phase::decode);
  ASSERT_EQ(d1.measurements.size(), 4U);
  EXPECT_DOUBLE_EQ(d1.measurements.front().count(), 1e-3 + 1e-6 + 511e-9);
  EXPECT_DOUBLE_EQ(d1.measurements.back().count(), 1e-3 + 1e-6 + 514e-9);
  EXPECT_EQ(p.points[4].batch(), 4U);
  EXPECT_EQ(p.points[5].kv_lengths, (std::vector<tokens>{tokens(100), tokens(900)}));
  EXPECT_FALSE(p.metadata.contains("skipped"));
  // Every request was released.
  EXPECT_EQ(backend.kv_tokens_in_use(), tokens(0));

  // What it measured saves as a valid profile.
  const rtlm::test::temp_file f("profiled.csv");
  rtlm::save_profile_csv(p, f.path());
  EXPECT_EQ(rtlm::load_profile_csv(f.path()).points.size(), 6U);
}

TEST(run_profiler, skips_what_the_backend_cannot_hold_or_do) {
  rtlm::testing::fake_backend backend(config(tokens(2000), false));
  rtlm::profile_grid grid;
  grid.prefill_lengths = {tokens(1000), tokens(4000)};
  grid.prefill_chunks = {{tokens(100), tokens(400)}};
  grid.decode_batch_sizes = {8};
  grid.decode_kv_lengths = {tokens(512)};
  const rtlm::profile p = rtlm::run_profiler(backend, grid, {.warmup = 1, .repeats = 2});
  ASSERT_EQ(p.points.size(), 1U);
  EXPECT_EQ(p.metadata.at("skipped"), "prefill:4000 chunk:400+100 decode:8x512");
}

TEST(run_profiler, a_request_ending_early_is_an_error) {
  rtlm::testing::fake_backend_config c = config(tokens(100000), true);
  c.default_output_length = tokens(3);
  rtlm::testing::fake_backend backend(std::move(c));
  rtlm::profile_grid grid;
  grid.decode_batch_sizes = {1};
  grid.decode_kv_lengths = {tokens(64)};
  EXPECT_EQ(rtlm::test::blamed_field([&] { (void)rtlm::run_profiler(backend, grid); }), "backend");
}

TEST(run_profiler, standard_grid_covers_the_regimes) {
  const rtlm::profile_grid g = rtlm::profile_grid::standard(tokens(32768));
  EXPECT_EQ(g.prefill_lengths.front(), tokens(1));
  EXPECT_EQ(g.prefill_lengths.back(), tokens(32768));
  EXPECT_EQ(g.prefill_chunks.size(), 9U);
  EXPECT_EQ(g.decode_kv_lengths.back(), tokens(32768));
}

}  // namespace
