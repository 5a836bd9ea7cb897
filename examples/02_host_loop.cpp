// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// Second example: a whole host around rtlm's scheduler. A fake engine stands in for the model
// runtime. Two client threads predict each request's output length and submit it; the host's
// loop plans each step, runs it on the engine and hands the result back (the asynchronous form:
// plan_step, the engine, complete_step); finished requests teach the length predictor, measured
// step times the estimator. Time is simulated, so every run prints the same summary.
// docs/backend.md, "A whole host", walks through it.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "rtlm/estimate/roofline_estimator.hpp"
#include "rtlm/predict/online_length_regressor.hpp"
#include "rtlm/schedule/length_feedback.hpp"
#include "rtlm/schedule/scheduler.hpp"
#include "rtlm/testing/fake_backend.hpp"

namespace {

using namespace rtlm::literals;
using ns = rtlm::duration::rep;  // a time point's nanoseconds, as atomics hold them
constexpr ns never = std::numeric_limits<ns>::max();

// Simulated time: the host moves it by each step's measured time, and clients wait on it. A
// real host reads std::chrono::steady_clock and needs none of this.
class sim_clock {
 public:
  rtlm::time_point now() const noexcept { return rtlm::time_point(rtlm::duration(ns_.load())); }
  void advance_to(rtlm::time_point t) noexcept {
    ns_.store(t.time_since_epoch().count());
    ns_.notify_all();
  }
  void wait_until(rtlm::time_point t) const noexcept {
    for (ns now = ns_.load(); now < t.time_since_epoch().count(); now = ns_.load()) ns_.wait(now);
  }

 private:
  std::atomic<ns> ns_{0};
};

// The length predictor, shared: clients predict on their own threads while the scheduler's
// thread learns from finished requests, and predict() may overlap itself but not learn().
struct shared_predictor {
  rtlm::online_length_regressor model;
  rtlm::prompt_feature_extractor extractor;  // const, so safe on every thread
  mutable std::shared_mutex mutex;
};

// One client thread's requests, and the arrival of the next one it has not submitted yet.
struct client {
  std::vector<rtlm::request> requests;
  std::atomic<ns> next_due{never};
};

void run_client(client& c, rtlm::scheduler& s, const shared_predictor& p, const sim_clock& clock) {
  rtlm::prompt_features features;  // reused: extraction allocates only while it grows
  rtlm::length_distribution predicted;
  for (std::size_t i = 0; i < c.requests.size(); ++i) {
    rtlm::request& r = c.requests[i];
    clock.wait_until(r.arrival);  // a real client waits for its user instead
    p.extractor.extract(*r.prompt_text, features);
    {
      const std::shared_lock lock(p.mutex);
      p.model.predict(features, predicted);
    }
    // The predictor's own 90% quantile as the bound (conformal_length_bound would calibrate it).
    r.predicted_length = predicted.to_estimate(predicted.quantile(0.9), 0.9);
    // submit() is lock-free and never blocks; on queue_full the request is still ours to retry.
    while (s.submit(r) == rtlm::submit_status::queue_full) std::this_thread::yield();
    const bool last = i + 1 == c.requests.size();
    c.next_due = last ? never : c.requests[i + 1].arrival.time_since_epoch().count();
    c.next_due.notify_all();
  }
}

// Sees every request event, on the scheduler's thread: a finished request counts toward the
// summary and teaches the predictor its true length (rtlm::length_feedback).
class host_observer final : public rtlm::scheduler_observer {
 public:
  explicit host_observer(shared_predictor& p) : predictor_(&p), feedback_(p.model, p.extractor) {}
  void on_event(const rtlm::request_event& e, const rtlm::request& r) noexcept override {
    if (e.kind != rtlm::request_event_kind::finished) return;
    ++finished_;
    latency_ += e.at - r.arrival;
    const std::unique_lock lock(predictor_->mutex);  // learn() must not overlap a predict()
    feedback_.on_event(e, r);
  }
  [[nodiscard]] std::size_t finished() const noexcept { return finished_; }
  [[nodiscard]] rtlm::seconds latency() const noexcept { return latency_; }

 private:
  shared_predictor* predictor_;
  rtlm::length_feedback feedback_;
  std::size_t finished_ = 0;
  rtlm::duration latency_{0};
};

int run() {
  const rtlm::model_shape llama(rtlm::models::llama_3_8b());
  const rtlm::hardware_spec h100(rtlm::accelerators::h100_sxm_bf16());

  // The engine: a fake backend whose steps take 1.5x their datasheet roofline plus 2 ms of
  // launches, standing in for the model runtime the host drives one step at a time.
  rtlm::testing::fake_backend_config config;
  config.capabilities.kv_capacity = 65536_tok;
  config.capabilities.max_batch_size = 32;
  config.step_time = [roofline = rtlm::testing::fake_backend::roofline_step_time(llama, h100)](
                         const rtlm::step_plan& p) {
    return p.computed() == 0 ? rtlm::seconds(0) : 1.5 * roofline(p) + rtlm::seconds(0.002);
  };
  rtlm::testing::fake_backend engine(config);

  // Bring-up without a profile: time a long prefill and a decode step of one probe request on
  // the engine, then calibrate the datasheet roofline to the two (its efficiencies).
  rtlm::step_plan probe;
  rtlm::step_result result;
  rtlm::roofline_measurements measured{.prefill_tokens = 2048_tok, .decode_kv_length = 2048_tok};
  probe.prefills = {{.id = rtlm::request_id{0}, .new_tokens = 2048_tok}};
  if (engine.execute(probe, result) == rtlm::step_status::ok)
    measured.prefill_time = result.step_time;
  probe.clear();
  probe.decodes = {{.id = rtlm::request_id{0}, .kv_length = 2048_tok}};
  if (engine.execute(probe, result) == rtlm::step_status::ok)
    measured.decode_time = result.step_time;
  probe.clear();
  probe.releases = {rtlm::request_id{0}};
  static_cast<void>(engine.execute(probe, result));
  // Throws rtlm::error naming the field if a time is missing or contradicts the roofline.
  const auto estimator = rtlm::roofline_estimator::from_measurements(llama, h100, measured);

  // Two clients of 40 requests, arriving in turn every 25 ms: one-word answers and essays,
  // whose true lengths only the engine knows (a model's end of sequence).
  std::array<client, 2> clients;
  for (std::int64_t n = 1; n <= 80; ++n) {
    const bool essay = n % 3 == 0;
    const auto id = static_cast<std::uint64_t>(n);
    rtlm::request r{.id = rtlm::request_id{id},
                    .prompt_tokens = rtlm::tokens(essay ? 300 : 40 + n % 50),
                    .prompt_text = essay ? fmt::format("Write a detailed essay about topic {}.", id)
                                         : fmt::format("In one word: is {} a prime?", id),
                    .arrival = rtlm::time_point(std::chrono::milliseconds(25 * n)),
                    .time_budget = rtlm::seconds(30)};
    engine.set_output_length(r.id, rtlm::tokens(essay ? 150 + n % 40 : 2 + n % 4));
    clients[id % 2].requests.push_back(std::move(r));
  }
  for (client& c : clients) c.next_due = c.requests.front().arrival.time_since_epoch().count();

  shared_predictor predictor;
  host_observer observer(predictor);
  sim_clock clock;
  rtlm::scheduler s;  // the default policy, uncertainty_aware_priority
  const std::size_t b = s.add_backend(engine, estimator);
  s.set_observer(&observer);
  std::vector<std::jthread> threads;
  threads.reserve(clients.size());
  for (client& c : clients) {
    threads.emplace_back(run_client, std::ref(c), std::ref(s), std::cref(predictor),
                         std::cref(clock));
  }

  std::size_t steps = 0;
  for (;;) {
    const rtlm::time_point now = clock.now();
    // Every request due by `now` is in the intake before the plan, so arrivals land on the
    // same steps on every run. A real host skips this: its clients submit whenever they like.
    for (client& c : clients) {
      for (ns due = c.next_due; due <= now.time_since_epoch().count(); due = c.next_due) {
        c.next_due.wait(due);
      }
    }
    if (!s.has_work(b)) {
      // Idle. A real host sleeps until a client's submit() wakes it (a condition variable);
      // here time jumps to the next arrival, and the host stops once the clients are done.
      ns next = never;
      for (const client& c : clients) next = std::min(next, c.next_due.load());
      if (next == never) break;
      clock.advance_to(rtlm::time_point(rtlm::duration(next)));
      continue;
    }
    // s.step(b, now) in three parts: the plan stays valid until complete_step(), so the engine
    // may run it on its own thread or stream while this one serves other backends.
    const rtlm::step_plan& next_step = s.plan_step(b, now);
    result.clear();
    rtlm::step_status status = rtlm::step_status::ok;
    // An empty plan (all it took in was refused or cancelled) has nothing for the engine.
    if (!next_step.empty()) status = engine.execute(next_step, result);
    // The measured time is what the scheduler's estimator learns from.
    const rtlm::time_point done =
        now + std::chrono::duration_cast<rtlm::duration>(result.step_time);
    const rtlm::step_report report = s.complete_step(b, status, result, done);
    // A failed step's requests are planned again (report.affected); a host logs it and goes on.
    if (report.status != rtlm::step_status::ok) fmt::print(stderr, "step: {}\n", report.error);
    clock.advance_to(done);
    ++steps;
  }
  threads.clear();  // joins the clients, done by now

  const rtlm::online_step_correction& learned = s.estimator(b);
  const auto predicted_median = [&](const char* prompt) {
    return predictor.model.predict(predictor.extractor.extract(prompt)).quantile(0.5);
  };
  const std::size_t finished = observer.finished();
  fmt::print("{} of 80 requests finished in {} steps, {:.3f} s simulated; mean latency {:.3f} s\n",
             finished, steps, rtlm::seconds(clock.now().time_since_epoch()).count(),
             observer.latency().count() / static_cast<double>(std::max<std::size_t>(1, finished)));
  fmt::print(
      "estimator: calibrated {:.3f} compute, {:.3f} memory; online x{:.3f} decode, x{:.3f} "
      "prefill\n",
      estimator.efficiency().compute, estimator.efficiency().memory, learned.decode_factor(),
      learned.prefill_scale());
  fmt::print("predictor (median): {} tokens for a one-word answer, {} for an essay\n",
             predicted_median("In one word: is 7 a prime?"),
             predicted_median("Write a detailed essay about topic 7."));
  return finished == 80 ? EXIT_SUCCESS : EXIT_FAILURE;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return EXIT_FAILURE;
  }
}
