// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gmock/gmock.h>

#include "rtlm/backend/model_backend.hpp"

namespace rtlm::test {

/// A GMock double of the host interface: a real subclass of rtlm::model_backend, so execute()'s
/// checks run around the mocked run_step().
class mock_model_backend : public model_backend {
 public:
  MOCK_METHOD(const backend_capabilities&, capabilities, (), (const, noexcept, override));
  MOCK_METHOD(void, run_step, (const step_plan& plan, step_result& result), (override));
};

}  // namespace rtlm::test
