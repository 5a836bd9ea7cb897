// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// First example: declare a model and an accelerator, print what prefills and decode steps cost
// by the analytic model, then drive rtlm's fake backend through a few steps the way a
// scheduler drives a real one.

#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <exception>
#include <utility>
#include <vector>

#include "rtlm/rtlm.hpp"
#include "rtlm/testing/fake_backend.hpp"

namespace {

void print_row(const char* what, const rtlm::step_work& w, const rtlm::hardware_spec& hw) {
  const rtlm::roofline_estimate r = hw.roofline(w);
  fmt::print("{:<26} {:>12.4e} {:>12.4e} {:>10.3f} {:>10.3f} {:>10.3f}  {}\n", what, w.flops(),
             w.bytes(), r.compute_time.count() * 1e3, r.memory_time.count() * 1e3,
             r.time().count() * 1e3, r.memory_bound() ? "memory" : "compute");
}

int run() {
  using namespace rtlm::literals;
  // Llama-3-8B as published, and the H100's datasheet ceilings.
  const rtlm::model_shape llama(rtlm::models::llama_3_8b());
  const rtlm::hardware_spec h100(rtlm::accelerators::h100_sxm_bf16());

  fmt::print("rtlm {} | model {} ({:.2f} B parameters, {:.1f} KiB of KV per token) | {}\n\n",
             rtlm::version_string, llama.config().name, llama.parameter_count() / 1e9,
             llama.kv_bytes_per_token() / 1024, h100.config().name);
  fmt::print("{:<26} {:>12} {:>12} {:>10} {:>10} {:>10}  {}\n", "step", "FLOPs", "bytes",
             "compute ms", "memory ms", "roofline", "bound");
  for (const int n : {128, 2048, 32768}) {
    print_row(fmt::format("prefill {} tokens", n).c_str(), llama.prefill_work(rtlm::tokens(n)),
              h100);
  }
  for (const int batch : {1, 64}) {
    const std::vector<rtlm::tokens> kv(static_cast<std::size_t>(batch), 1024_tok);
    print_row(fmt::format("decode batch {} @ KV 1024", batch).c_str(), llama.decode_work(kv), h100);
  }

  // Drive the fake backend: two requests, one prefilled in two chunks, then decoded together.
  rtlm::testing::fake_backend_config config;
  config.capabilities.name = "fake-h100";
  config.capabilities.kv_capacity = 100000_tok;
  config.capabilities.can_chunk_prefill = true;
  config.default_output_length = 3_tok;
  config.step_time = rtlm::testing::fake_backend::roofline_step_time(llama, h100);
  rtlm::testing::fake_backend backend(std::move(config));
  const rtlm::request_id a{1};
  const rtlm::request_id b{2};
  std::array<rtlm::step_plan, 4> plans;
  plans[0].prefills = {
      {.id = a, .new_tokens = 512_tok, .computed_tokens = 0_tok},
      {.id = b, .new_tokens = 256_tok, .computed_tokens = 0_tok, .final_chunk = false}};
  plans[1].prefills = {{.id = b, .new_tokens = 256_tok, .computed_tokens = 256_tok}};
  plans[1].decodes = {{.id = a, .kv_length = 512_tok}};
  plans[2].decodes = {{.id = a, .kv_length = 513_tok}, {.id = b, .kv_length = 512_tok}};
  plans[3].releases = {a};
  plans[3].decodes = {{.id = b, .kv_length = 513_tok}};

  fmt::print("\nfake backend, {} steps:\n", plans.size());
  rtlm::step_result result;
  for (std::size_t step = 0; step < plans.size(); ++step) {
    const rtlm::step_status status = backend.execute(plans[step], result);
    if (status != rtlm::step_status::ok) {
      fmt::print(stderr, "step {} failed: {}\n", step, backend.last_error());
      return EXIT_FAILURE;
    }
    fmt::print("  step {}: {:.3f} ms, KV in use {:>4} tokens |", step,
               result.step_time.count() * 1e3, backend.kv_tokens_in_use());
    for (const rtlm::request_outcome& o : result.outcomes) {
      fmt::print(" request {} +{}{}", o.id, o.generated, o.finished ? " (finished)" : "");
    }
    fmt::print("\n");
  }
  return EXIT_SUCCESS;
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
