// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/core/error.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

TEST(error, message_names_field_value_and_requirement) {
  const rtlm::error e("model_config.layers", "0", "must be at least 1");
  EXPECT_STREQ(e.what(), "rtlm: model_config.layers = 0: must be at least 1");
  EXPECT_EQ(e.field(), "model_config.layers");
  EXPECT_EQ(e.value(), "0");
  EXPECT_EQ(e.requirement(), "must be at least 1");
}

TEST(error, is_caught_as_std_invalid_argument) {
  try {
    throw rtlm::error("f", "v", "r");
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "rtlm: f = v: r");
    return;
  }
  FAIL() << "rtlm::error was not caught as std::invalid_argument";
}

}  // namespace
