// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/core/error.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

TEST(error, message_names_field_value_and_requirement) {
  const rtlm::error e("model_config.layers", "0", "must be at least 1");
  EXPECT_STREQ(e.what(), "rtlm: model_config.layers = 0: must be at least 1");
  EXPECT_EQ(e.field(), "model_config.layers");
  EXPECT_EQ(e.value(), "0");
  EXPECT_EQ(e.requirement(), "must be at least 1");
}

TEST(error, control_bytes_are_escaped_and_a_long_value_is_cut) {
  const rtlm::error e("f.csv:2 x\n",
                      "a\x01\tb\xEF\xBB\xBF\xFF"
                      "c\xC3\xA9",
                      "must be \x7F");
  EXPECT_EQ(e.field(), "f.csv:2 x\\x0A");
  EXPECT_EQ(e.value(), "a\\x01\\x09b\\xEF\\xBB\\xBF\\xFFc\xC3\xA9");  // UTF-8 e-acute is kept
  EXPECT_EQ(e.requirement(), "must be \\x7F");
  EXPECT_STREQ(e.what(),
               "rtlm: f.csv:2 x\\x0A = a\\x01\\x09b\\xEF\\xBB\\xBF\\xFFc\xC3\xA9: must be \\x7F");
  const rtlm::error long_value("f", std::string(30'000'000, 'v'), "r");
  EXPECT_EQ(long_value.value(), std::string(256, 'v') + "...");
  EXPECT_EQ(rtlm::error("f", std::string(256, 'v'), "r").value(), std::string(256, 'v'));
  // An escape is not split by the cut.
  std::string control(254, 'v');
  control += '\x01';
  EXPECT_EQ(rtlm::error("f", control, "r").value(), std::string(254, 'v') + "...");
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
