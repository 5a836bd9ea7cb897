// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/placement.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "estimate/temp_file.hpp"
#include "rtlm/estimate/online_step_correction.hpp"
#include "rtlm/schedule/request_index.hpp"
#include "rtlm/schedule/scheduler.hpp"
#include "rtlm/testing/fake_backend.hpp"
#include "schedule/linear_estimator.hpp"

namespace {

using namespace rtlm::literals;
using rtlm::device_kind;
using rtlm::placement_reason;
using rtlm::request_id;

constexpr rtlm::time_point t0{};

rtlm::time_point at(double s) {
  return t0 + std::chrono::duration_cast<rtlm::duration>(rtlm::seconds(s));
}

rtlm::placement_option option(device_kind d, double wait, double service) {
  return {.device = d, .wait = rtlm::seconds(wait), .service = rtlm::seconds(service)};
}

TEST(placement, earliest_finishing_gpu_by_default) {
  const std::vector<rtlm::placement_option> o = {option(device_kind::gpu, 2.0, 1.0),
                                                 option(device_kind::gpu, 0.5, 1.0),
                                                 option(device_kind::cpu, 0.0, 0.1)};
  const rtlm::placement_decision d = rtlm::place_request(o, {}, {}, t0);
  EXPECT_EQ(d.backend, 1U);  // the CPU finishes first but rule 1 and 2 do not apply
  EXPECT_EQ(d.reason, placement_reason::earliest_finish);
}

TEST(placement, rule_1_the_cpu_meets_a_deadline_no_gpu_meets) {
  const std::vector<rtlm::placement_option> o = {option(device_kind::gpu, 5.0, 1.0),
                                                 option(device_kind::cpu, 0.0, 3.0)};
  rtlm::placement_request r{.deadline = at(4.0)};
  EXPECT_EQ(rtlm::place_request(o, r, {}, t0).reason, placement_reason::cpu_meets_deadline);
  r.deadline = at(2.0);  // neither meets it: the GPU, the faster one
  EXPECT_EQ(rtlm::place_request(o, r, {}, t0).backend, 0U);
  r.deadline = at(7.0);  // the GPU meets it
  EXPECT_EQ(rtlm::place_request(o, r, {}, t0).backend, 0U);
  rtlm::offload_config off;
  off.enabled = false;
  r.deadline = at(4.0);
  EXPECT_EQ(rtlm::place_request(o, r, off, t0).backend, 0U);
}

TEST(placement, rule_2_long_background_work_leaves_saturated_gpus) {
  std::vector<rtlm::placement_option> o = {option(device_kind::gpu, 3.0, 1.0),
                                           option(device_kind::gpu, 1.5, 1.0),
                                           option(device_kind::cpu, 0.0, 30.0)};
  rtlm::placement_request r{.priority = rtlm::priority_class::background, .output_bound = 1000_tok};
  const rtlm::offload_config config;  // long >= 512, background, saturated >= 1 s
  EXPECT_EQ(rtlm::place_request(o, r, config, t0).backend, 2U);
  EXPECT_EQ(rtlm::place_request(o, r, config, t0).reason, placement_reason::cpu_offload_long);
  // Not when one GPU is not saturated, the request is short, or it is more urgent.
  o[1].wait = rtlm::seconds(0.5);
  EXPECT_EQ(rtlm::place_request(o, r, config, t0).backend, 1U);
  o[1].wait = rtlm::seconds(1.5);
  r.output_bound = 100_tok;
  EXPECT_EQ(rtlm::place_request(o, r, config, t0).backend, 1U);
  r.output_bound = 1000_tok;
  r.priority = rtlm::priority_class::standard;
  EXPECT_EQ(rtlm::place_request(o, r, config, t0).backend, 1U);
  // Nor when the CPU would miss the request's deadline.
  r.priority = rtlm::priority_class::background;
  r.deadline = at(10.0);
  EXPECT_EQ(rtlm::place_request(o, r, config, t0).backend, 1U);
}

TEST(placement, only_cpus_or_only_gpus) {
  const std::vector<rtlm::placement_option> cpus = {option(device_kind::cpu, 1.0, 1.0),
                                                    option(device_kind::cpu, 0.0, 1.0)};
  EXPECT_EQ(rtlm::place_request(cpus, {}, {}, t0).backend, 1U);
  const std::vector<rtlm::placement_option> gpus = {option(device_kind::gpu, 1.0, 1.0),
                                                    option(device_kind::other, 0.0, 1.0)};
  EXPECT_EQ(rtlm::place_request(gpus, {}, {}, t0).backend, 1U);
}

rtlm::testing::fake_backend_config backend_config(const char* name, device_kind device) {
  rtlm::testing::fake_backend_config c;
  c.capabilities.name = name;
  c.capabilities.device = device;
  c.capabilities.kv_capacity = 100'000_tok;
  c.capabilities.max_batch_size = 1;
  c.capabilities.can_chunk_prefill = true;
  c.capabilities.can_preempt_recompute = true;
  return c;
}

TEST(placement, the_scheduler_offloads_to_the_cpu_by_the_rule) {
  // A GPU at 10 ms per decode step and a CPU at 50 ms. The GPU is busy with a long request
  // (1000 tokens, ~10 s queued); a request with a 6 s deadline and 100 tokens cannot wait that
  // long, but the CPU finishes it in ~5 s: rule 1 sends it there. A short request without a
  // deadline still goes to the GPU.
  rtlm::scheduler_config config;
  config.max_requests = 16;
  config.solver_max_tokens = 1024_tok;
  rtlm::scheduler s(config);
  rtlm::testing::fake_backend gpu(backend_config("gpu0", device_kind::gpu));
  rtlm::testing::fake_backend cpu(backend_config("cpu", device_kind::cpu));
  rtlm::test::linear_estimator gpu_time;
  gpu_time.decode_per_sequence = 0.0;
  rtlm::test::linear_estimator cpu_time;
  cpu_time.decode_fixed = 0.050;
  cpu_time.decode_per_sequence = 0.0;
  cpu_time.prefill_per_token = 0.001;
  ASSERT_EQ(s.add_backend(gpu, gpu_time), 0U);
  ASSERT_EQ(s.add_backend(cpu, cpu_time), 1U);
  const auto submit = [&](std::uint64_t id, double mean, std::optional<double> deadline) {
    rtlm::request r;
    r.id = request_id{id};
    r.prompt_tokens = 10_tok;
    r.predicted_length =
        rtlm::length_estimate{.mean_tokens = mean,
                              .upper_bound = rtlm::tokens(static_cast<std::int64_t>(mean)),
                              .bound_coverage = 0.9};
    if (deadline) r.deadline = at(*deadline);
    ASSERT_EQ(s.submit(r), rtlm::submit_status::accepted);
  };
  submit(1, 1000, std::nullopt);
  submit(2, 1000, std::nullopt);  // queued behind 1: ~10 s of GPU work waiting
  s.plan_step(0, t0);
  submit(3, 100, 6.0);
  submit(4, 10, std::nullopt);
  s.plan_step(1, t0);
  EXPECT_EQ(s.waiting(0) + s.running(0), 4U - 1U);  // 1 running, 2 and 4 waiting
  EXPECT_EQ(s.running(1), 1U);                      // 3 on the CPU
  const rtlm::step_plan& cpu_plan = s.plan_step(1, t0);
  ASSERT_EQ(cpu_plan.prefills.size(), 1U);
  EXPECT_EQ(cpu_plan.prefills[0].id, request_id{3});
}

TEST(request_index, insert_find_erase_with_collisions) {
  rtlm::detail::request_index index(8);  // 16 entries
  for (std::uint64_t id = 0; id < 8; ++id) {
    ASSERT_TRUE(index.insert(request_id{id * 16}, static_cast<std::uint32_t>(id)));
  }
  EXPECT_FALSE(index.insert(request_id{999}, 9));  // full
  EXPECT_FALSE(index.insert(request_id{16}, 9));   // present
  EXPECT_EQ(index.size(), 8U);
  // Erase in an order that exercises the backward shift, checking every other id stays found.
  for (const std::uint64_t gone : {16U, 0U, 112U, 48U}) {
    ASSERT_TRUE(index.erase(request_id{gone}));
    EXPECT_FALSE(index.find(request_id{gone}));
    EXPECT_FALSE(index.erase(request_id{gone}));
  }
  for (const std::uint64_t id : {2U, 4U, 5U, 6U}) {
    ASSERT_EQ(index.find(request_id{id * 16}), std::optional<std::uint32_t>(id)) << id;
  }
  for (std::uint64_t round = 0; round < 1000; ++round) {  // churn leaves no tombstones behind
    ASSERT_TRUE(index.insert(request_id{10'000 + round}, 1));
    ASSERT_TRUE(index.erase(request_id{10'000 + round}));
  }
  EXPECT_EQ(index.size(), 4U);
}

TEST(online_step_correction, follows_the_measured_ratio_and_ignores_garbage) {
  rtlm::test::linear_estimator base;
  rtlm::online_step_correction corrected(base, {.weight = 0.5});
  const std::vector<rtlm::tokens> kv = {100_tok};
  const double predicted = base.decode_time(kv).count();
  const auto decode_step = [&](double measured) {
    return corrected.observe_step(
        {.base_decode = base.decode_time(kv), .measured = rtlm::seconds(measured)});
  };
  for (int i = 0; i < 60; ++i) EXPECT_TRUE(decode_step(1.2 * predicted));
  EXPECT_NEAR(corrected.decode_factor(), 1.2, 1e-9);
  EXPECT_DOUBLE_EQ(corrected.prefill_scale(), 1.0);
  EXPECT_DOUBLE_EQ(corrected.prefill_offset(), 0.0);
  EXPECT_NEAR(corrected.decode_time(kv).count(), 1.2 * predicted, 1e-12);
  EXPECT_FALSE(decode_step(std::nan("")));
  EXPECT_FALSE(decode_step(-1));
  EXPECT_FALSE(decode_step(100 * predicted));  // outlier
  EXPECT_EQ(corrected.observed_steps(), 60U);
  EXPECT_EQ(
      rtlm::test::blamed_field([&] { rtlm::online_step_correction bad(base, {.weight = 2}); }),
      "online_correction_config.weight");
}

TEST(online_step_correction, a_step_timed_as_a_whole_scales_both_parts_alike) {
  rtlm::test::linear_estimator base;
  rtlm::online_step_correction corrected(base, {.weight = 1.0});
  const std::vector<rtlm::tokens> kv = {100_tok, 200_tok};
  const rtlm::seconds prefill = base.prefill_time(300_tok, 0_tok);
  const rtlm::seconds decode = base.decode_time(kv);
  EXPECT_TRUE(corrected.observe_step({.base_prefill = prefill,
                                      .prefills = 1,
                                      .base_decode = decode,
                                      .measured = 1.5 * (prefill + decode)}));
  EXPECT_DOUBLE_EQ(corrected.prefill_scale(), 1.5);
  EXPECT_DOUBLE_EQ(corrected.prefill_offset(), 0.0);
  EXPECT_DOUBLE_EQ(corrected.decode_factor(), 1.5);
  EXPECT_DOUBLE_EQ(corrected.prefill_time(300_tok, 0_tok).count(), 1.5 * prefill.count());
}

// A host whose every prefill launches 4 ms faster than its profile says (the base's one-token
// prefill is 10.01 ms) and whose decodes run 20% slower: one factor per part cannot get both a
// short and a long prompt right; the split fit can.
TEST(online_step_correction, prefills_timed_apart_learn_a_per_prefill_offset) {
  rtlm::test::linear_estimator base;
  rtlm::online_step_correction corrected(base, {.weight = 0.2});
  const std::vector<rtlm::tokens> kv = {100_tok, 200_tok, 300_tok};
  const auto truth = [&](rtlm::tokens n) { return base.prefill_time(n, 0_tok).count() - 0.004; };
  for (int i = 0; i < 200; ++i) {
    const rtlm::tokens n = i % 2 == 0 ? 16_tok : 2000_tok;
    const rtlm::seconds decode = base.decode_time(kv);
    const rtlm::seconds prefill(truth(n));
    ASSERT_TRUE(corrected.observe_step({.base_prefill = base.prefill_time(n, 0_tok),
                                        .prefills = 1,
                                        .base_decode = decode,
                                        .measured = prefill + 1.2 * decode,
                                        .measured_prefill = prefill}));
  }
  EXPECT_NEAR(corrected.decode_factor(), 1.2, 1e-9);
  // The ridge (0.1% of the data) pulls a little towards the prior.
  EXPECT_NEAR(corrected.prefill_scale(), 1.0, 2e-3);
  EXPECT_NEAR(corrected.prefill_offset() * base.prefill_time(1_tok, 0_tok).count(), -0.004, 1e-4);
  for (const rtlm::tokens n : {16_tok, 500_tok, 2000_tok}) {
    EXPECT_NEAR(corrected.prefill_time(n, 0_tok).count() / truth(n), 1.0, 5e-3) << n.count();
  }
  // Two chunks pay the offset twice.
  const rtlm::seconds two = base.prefill_time(16_tok, 0_tok) + base.prefill_time(2000_tok, 0_tok);
  EXPECT_NEAR(corrected.step_time(two, 2, rtlm::seconds(0)).count(),
              corrected.prefill_time(16_tok, 0_tok).count() +
                  corrected.prefill_time(2000_tok, 0_tok).count(),
              1e-12);
}

TEST(online_step_correction, a_base_without_a_per_prefill_cost_learns_the_scale_alone) {
  rtlm::test::linear_estimator base;
  base.prefill_fixed = -base.prefill_per_token;  // a one-token prefill costs nothing
  rtlm::online_step_correction corrected(base, {.weight = 0.5});
  for (int i = 0; i < 40; ++i) {
    const rtlm::seconds prefill = base.prefill_time(i % 2 == 0 ? 100_tok : 900_tok, 0_tok);
    ASSERT_TRUE(corrected.observe_step({.base_prefill = prefill,
                                        .prefills = 1,
                                        .measured = 1.3 * prefill,
                                        .measured_prefill = 1.3 * prefill}));
  }
  EXPECT_NEAR(corrected.prefill_scale(), 1.3, 1e-3);
  EXPECT_DOUBLE_EQ(corrected.prefill_offset(), 0.0);
}

TEST(online_step_correction, a_part_out_of_range_teaches_nothing) {
  rtlm::test::linear_estimator base;
  rtlm::online_step_correction corrected(base);
  const std::vector<rtlm::tokens> kv = {100_tok};
  const rtlm::seconds prefill = base.prefill_time(100_tok, 0_tok);
  const rtlm::seconds decode = base.decode_time(kv);
  const auto split_step = [&](rtlm::seconds measured_prefill, rtlm::seconds measured) {
    return corrected.observe_step({.base_prefill = prefill,
                                   .prefills = 1,
                                   .base_decode = decode,
                                   .measured = measured,
                                   .measured_prefill = measured_prefill});
  };
  // The prefill part 12x its estimate, in a whole step within 10x of its estimate.
  EXPECT_FALSE(split_step(12 * prefill, 12 * prefill + decode));
  EXPECT_FALSE(split_step(prefill, prefill));  // the decodes took no time
  EXPECT_FALSE(split_step(rtlm::seconds(0), decode));
  EXPECT_EQ(corrected.observed_steps(), 0U);
  EXPECT_DOUBLE_EQ(corrected.prefill_scale(), 1.0);
  EXPECT_DOUBLE_EQ(corrected.prefill_offset(), 0.0);
  EXPECT_DOUBLE_EQ(corrected.decode_factor(), 1.0);
  EXPECT_TRUE(split_step(prefill, prefill + decode));
}

}  // namespace
