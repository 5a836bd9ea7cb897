// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// A downstream program: uses rtlm's public API and checks one figure, so that a packaging
// mistake (missing header, unexported symbol, unforwarded dependency) fails the build or the run.

#include <rtlm/rtlm.hpp>

#include <cstdio>
#include <vector>

int main() {
  const rtlm::model_shape llama(rtlm::models::llama_3_8b());
  const std::vector<rtlm::tokens> kv{rtlm::tokens(1024)};
  const double flops = llama.decode_work(kv).flops();
  std::printf("rtlm %s: Llama-3-8B decode at KV 1024 is %.0f FLOPs\n", rtlm::version_string, flops);
  return flops == 15546712064.0 ? 0 : 1;
}
