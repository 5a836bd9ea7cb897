// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/predict/predictor_file.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "predict/test_data.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/predict/bucketed_length_classifier.hpp"
#include "rtlm/predict/online_length_regressor.hpp"

namespace {

namespace fs = std::filesystem;

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / ("rtlm_predictor_file_test_" + name);
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The message of the rtlm::error that loading `bytes` throws, or "" when it loads.
std::string load_error(const std::string& bytes) {
  std::istringstream in(bytes);
  try {
    (void)rtlm::load_length_predictor(in, "model.rtlm");
  } catch (const rtlm::error& e) {
    return e.what();
  }
  return "";
}

void expect_same_predictions(const rtlm::length_predictor& a, const rtlm::length_predictor& b,
                             const rtlm::test::planted_data& d) {
  for (const rtlm::prompt_features& f : d.features) {
    const rtlm::length_distribution x = a.predict(f);
    const rtlm::length_distribution y = b.predict(f);
    EXPECT_EQ(x.mean(), y.mean());
    EXPECT_EQ(x.quantile(0.9), y.quantile(0.9));
  }
}

TEST(predictor_file, regressor_and_classifier_round_trip_exactly) {
  const auto train = rtlm::test::make_planted(200, 41, 0.3);
  const auto test = rtlm::test::make_planted(20, 42, 0.3);
  rtlm::online_length_regressor r({.features = {.hash_bits = 8, .char_ngram_size = 0}});
  r.fit(train.features, train.lengths);
  r.learn(test.features[0], rtlm::tokens(77));
  rtlm::bucketed_length_classifier c(
      {.features = {.hash_bits = 8}, .bucket_width = rtlm::tokens(20), .bucket_count = 64});
  c.fit(train.features, train.lengths);
  for (const rtlm::length_predictor* p : {static_cast<const rtlm::length_predictor*>(&r),
                                          static_cast<const rtlm::length_predictor*>(&c)}) {
    const fs::path path = temp_file("round_trip");
    rtlm::save_length_predictor(*p, path);
    const rtlm::length_predictor_ptr loaded = rtlm::load_length_predictor(path);
    ASSERT_NE(loaded, nullptr);
    EXPECT_EQ(loaded->kind(), p->kind());
    EXPECT_EQ(loaded->feature_config().hash_bits, 8);
    EXPECT_EQ(loaded->serialize(), p->serialize());
    expect_same_predictions(*p, *loaded, test);
    fs::remove(path);
  }
}

TEST(predictor_file, conformal_bound_round_trips) {
  rtlm::conformal_length_bound b({.window = 50});
  for (int k = 0; k < 80; ++k) b.observe_score(0.01 * k);
  const fs::path path = temp_file("bound");
  rtlm::save_conformal_bound(b, path);
  const rtlm::conformal_length_bound loaded = rtlm::load_conformal_bound(path);
  EXPECT_EQ(loaded.size(), 50U);
  EXPECT_EQ(loaded.serialize(), b.serialize());
  // A predictor file is not a bound file, and the other way round.
  rtlm::online_length_regressor r({.features = {.hash_bits = 8}});
  rtlm::save_length_predictor(r, path);
  EXPECT_THROW((void)rtlm::load_conformal_bound(path), rtlm::error);
  rtlm::save_conformal_bound(b, path);
  EXPECT_THROW((void)rtlm::load_length_predictor(path), rtlm::error);
  fs::remove(path);
}

TEST(predictor_file, conformal_bound_loads_from_a_stream) {
  rtlm::conformal_length_bound b({.window = 50});
  for (int k = 0; k < 10; ++k) b.observe_score(0.1 * k);
  const fs::path path = temp_file("bound_stream");
  rtlm::save_conformal_bound(b, path);
  std::istringstream in(read_all(path));
  fs::remove(path);
  EXPECT_EQ(rtlm::load_conformal_bound(in, "bound.rtlm").serialize(), b.serialize());
  std::istringstream truncated(std::string("RTLMLENP"));
  try {
    (void)rtlm::load_conformal_bound(truncated, "bound.rtlm");
    ADD_FAILURE() << "a truncated file loaded";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.value(), "bound.rtlm");  // the stream's name, as messages give it
  }
}

TEST(predictor_file, corrupt_or_foreign_files_are_refused_with_a_clear_message) {
  const rtlm::online_length_regressor r({.features = {.hash_bits = 8}});
  std::ostringstream out;
  rtlm::save_length_predictor(r, out);
  const std::string good = out.str();
  EXPECT_EQ(load_error(good), "");

  EXPECT_NE(load_error("").find("not an rtlm length-predictor file"), std::string::npos);
  EXPECT_NE(load_error("{\"weights\": [1, 2]}").find("not an rtlm length-predictor file"),
            std::string::npos);
  EXPECT_NE(load_error(good.substr(0, 20)).find("header is incomplete"), std::string::npos);
  EXPECT_NE(load_error(good.substr(0, good.size() - 8)).find("truncated"), std::string::npos);
  std::string flipped = good;
  flipped[good.size() / 2] = static_cast<char>(flipped[good.size() / 2] ^ 0x40);
  EXPECT_NE(load_error(flipped).find("checksum"), std::string::npos);
  std::string future = good;
  future[8] = 9;  // format version 9
  EXPECT_NE(load_error(future).find("format version 9"), std::string::npos);
  std::string unknown = good;
  unknown[12] = 42;  // kind 42
  EXPECT_NE(load_error(unknown).find("unknown predictor kind 42"), std::string::npos);
  EXPECT_NE(load_error(good).find("model.rtlm"), 0U);

  // A well-formed file whose payload disagrees with itself: a valid checksum over bad contents.
  rtlm::detail::byte_writer header;
  const std::string payload = good.substr(32, 200);  // cut short, then re-checksummed
  header.bytes("RTLMLENP");
  header.u32(rtlm::length_predictor_file_version);
  header.u32(1);
  header.u64(payload.size());
  header.u64(rtlm::detail::checksum(payload));
  const std::string inconsistent = header.data() + payload;
  const std::string message = load_error(inconsistent);
  EXPECT_NE(message.find("model.rtlm"), std::string::npos);
  EXPECT_NE(message.find("byte "), std::string::npos);  // where the contents went wrong

  EXPECT_THROW((void)rtlm::load_length_predictor(temp_file("does_not_exist")), rtlm::error);
  const fs::path path = temp_file("garbage");
  write_all(path, std::string(100, '\x7f'));
  EXPECT_THROW((void)rtlm::load_length_predictor(path), rtlm::error);
  EXPECT_EQ(read_all(path).size(), 100U);
  fs::remove(path);
}

// Format version 2 added the classifier's support guard. A version-1 file (the same payload
// without it) still loads, and predicts unguarded as it did; the guarded model never predicts
// past 4x its longest trained length.
TEST(predictor_file, version_1_classifiers_load_unguarded) {
  const auto train = rtlm::test::make_planted(200, 61, 0.2);
  rtlm::bucketed_length_classifier c(
      {.features = {.hash_bits = 8}, .bucket_width = rtlm::tokens(20), .bucket_count = 64});
  c.fit(train.features, train.lengths);
  std::ostringstream out;
  rtlm::save_length_predictor(c, out);
  const std::string v2 = out.str();
  std::istringstream in(v2);
  const auto loaded = rtlm::load_length_predictor(in, "v2");
  expect_same_predictions(c, *loaded, train);
  // Version 1: the guard's bytes (a u64 and two arrays of prompt_cue_count doubles, each with its
  // u64 size) cut off, the header's version and checksum rewritten.
  const std::size_t guard_bytes = 8 + 2 * (8 + 8 * rtlm::prompt_cue_count);
  const std::string payload = v2.substr(32, v2.size() - 32 - guard_bytes);
  rtlm::detail::byte_writer header;
  header.bytes("RTLMLENP");
  header.u32(1);
  header.u32(static_cast<std::uint32_t>(rtlm::length_predictor_kind::bucketed_classifier));
  header.u64(payload.size());
  header.u64(rtlm::detail::checksum(payload));
  std::istringstream v1(header.data() + payload);
  const auto old = rtlm::load_length_predictor(v1, "v1");
  const auto& unguarded = dynamic_cast<const rtlm::bucketed_length_classifier&>(*old);
  EXPECT_EQ(unguarded.longest_trained(), rtlm::tokens(0));
  EXPECT_EQ(c.longest_trained(), *std::max_element(train.lengths.begin(), train.lengths.end()));
  // 64 buckets of 20 reach 1280 tokens: unguarded, the top of the distribution is there.
  EXPECT_EQ(unguarded.predict(train.features[0]).quantile_value(1.0), 1280.0);
  EXPECT_LE(c.predict(train.features[0]).quantile_value(1.0),
            4.0 * static_cast<double>(c.longest_trained().count()));
  // A version-2 payload read as version 1 has bytes left over: refused, naming the source.
  rtlm::detail::byte_writer h1;
  h1.bytes("RTLMLENP");
  h1.u32(1);
  h1.u32(static_cast<std::uint32_t>(rtlm::length_predictor_kind::bucketed_classifier));
  h1.u64(v2.size() - 32);
  h1.u64(rtlm::detail::checksum(v2.substr(32)));
  EXPECT_NE(load_error(h1.data() + v2.substr(32)).find("bytes after the end"), std::string::npos);
}

// A file of a few kilobytes may declare a model of gigabytes (a feature space of 2^24 hashed
// slots, say). The loader refuses it from the sizes alone, before allocating anything that big.
TEST(predictor_file, a_model_larger_than_its_file_is_refused_before_allocating) {
  const rtlm::online_length_regressor regressor({.features = {.hash_bits = 8}});
  const rtlm::bucketed_length_classifier classifier({.features = {.hash_bits = 8}});
  for (const rtlm::length_predictor* model :
       {static_cast<const rtlm::length_predictor*>(&regressor),
        static_cast<const rtlm::length_predictor*>(&classifier)}) {
    std::ostringstream out;
    rtlm::save_length_predictor(*model, out);
    std::string bytes = out.str();
    ASSERT_EQ(load_error(bytes), "");
    // The payload starts at byte 32 with the feature configuration's hash_bits (a little-endian
    // u32); 24 is valid for the extractor. Then the checksum (bytes 24..31) is made right again.
    bytes[32] = 24;
    const std::string payload = bytes.substr(32);
    rtlm::detail::byte_writer sum;
    sum.u64(rtlm::detail::checksum(payload));
    bytes.replace(24, 8, sum.data());
    EXPECT_NE(load_error(bytes).find("a model larger than the data it holds"), std::string::npos)
        << load_error(bytes);
  }
}

}  // namespace
