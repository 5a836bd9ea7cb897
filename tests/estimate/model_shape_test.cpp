// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// FLOPs and bytes against values computed by hand from each model's published dimensions.
// Every figure below is an integer well under 2^53, so doubles hold it exactly and the
// comparisons are exact.

#include "rtlm/estimate/model_shape.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "rtlm/core/error.hpp"

namespace {

using namespace rtlm::literals;
using rtlm::tokens;

const rtlm::model_shape& llama() {
  static const rtlm::model_shape shape(rtlm::models::llama_3_8b());
  return shape;
}
const rtlm::model_shape& qwen() {
  static const rtlm::model_shape shape(rtlm::models::qwen2_5_7b());
  return shape;
}

// Llama-3-8B per layer: QKV 4096 x (4096 + 2 x 1024) + O 4096 x 4096 + MLP 3 x 4096 x 14336
// = 25,165,824 + 16,777,216 + 176,160,768 = 218,103,808 linear weights.
constexpr double llama_linear_per_layer = 218'103'808;
// Bytes of all weights one GPU reads per step: 32 layers of linear weights, 2 norms of 4096 per
// layer, the final norm and the 4096 x 128256 LM head, at 2 bytes each.
constexpr double llama_weight_bytes =
    (32 * llama_linear_per_layer + 32 * 2 * 4096 + 4096 + 4096.0 * 128256) * 2;  // = 15,009,849,344

TEST(model_shape, llama_3_8b_parameter_count_matches_the_published_one) {
  EXPECT_EQ(llama().parameter_count(), 8'030'261'248.0);
  EXPECT_EQ(llama().weight_bytes_per_gpu(), 15'009'849'344.0);
  EXPECT_EQ(llama().weight_bytes_per_gpu(), llama_weight_bytes);
}

TEST(model_shape, qwen2_5_7b_parameter_count_matches_the_published_one) {
  // 28 x (3584 x 4608 + 3584 x 3584 + 3 x 3584 x 18944 + 2 x 3584 + 4608 biases)
  // + 2 x 152064 x 3584 + 3584 = 7,615,616,512 (the Hugging Face checkpoint's count).
  EXPECT_EQ(qwen().parameter_count(), 7'615'616'512.0);
}

TEST(model_shape, kv_bytes_per_token_reflect_grouped_query_attention) {
  // 32 layers x (K + V) x 8 KV heads x 128 x 2 bytes.
  EXPECT_EQ(llama().kv_bytes_per_token(), 131'072.0);
  // 28 layers x 2 x 4 x 128 x 2 bytes.
  EXPECT_EQ(qwen().kv_bytes_per_token(), 57'344.0);
  // Llama-2-7B has no GQA: 32 KV heads, four times Llama-3-8B's KV per token.
  EXPECT_EQ(rtlm::model_shape(rtlm::models::llama_2_7b()).kv_bytes_per_token(), 524'288.0);
}

TEST(model_shape, llama_3_8b_decode_batch_1) {
  const std::vector<tokens> kv{1024_tok};
  const rtlm::step_work w = llama().decode_work(kv);
  // 2 x 218,103,808 x 32 layers + LM head 2 x 4096 x 128256.
  EXPECT_EQ(w.matmul_flops, 13'958'643'712.0 + 1'050'673'152.0);
  // 4 x 32 heads x 128 x (1024 + 1) keys x 32 layers.
  EXPECT_EQ(w.attention_flops, 537'395'200.0);
  EXPECT_EQ(w.flops(), 15'546'712'064.0);
  // Weights plus one 4096-wide embedding row.
  EXPECT_EQ(w.weight_bytes, llama_weight_bytes + 8192);
  EXPECT_EQ(w.kv_read_bytes, 1024 * 131'072.0);
  EXPECT_EQ(w.kv_write_bytes, 131'072.0);
  EXPECT_EQ(w.bytes(), 15'144'206'336.0);
}

TEST(model_shape, llama_3_8b_decode_batch_with_mixed_kv_lengths) {
  const std::vector<tokens> kv{100_tok, 200_tok, 300_tok, 4000_tok};
  const rtlm::step_work w = llama().decode_work(kv);
  EXPECT_EQ(w.matmul_flops, 4 * (13'958'643'712.0 + 1'050'673'152.0));
  // Keys visited: 101 + 201 + 301 + 4001 = 4604.
  EXPECT_EQ(w.attention_flops, 4.0 * 4096 * 4604 * 32);
  EXPECT_EQ(w.weight_bytes, llama_weight_bytes + 4 * 8192);
  EXPECT_EQ(w.kv_read_bytes, 4600 * 131'072.0);
  EXPECT_EQ(w.kv_write_bytes, 4 * 131'072.0);
}

TEST(model_shape, llama_3_8b_prefills) {
  struct expected {
    int n;
    double flops;
    double bytes;
  };
  // flops = 2 n x 218,103,808 x 32 + 1,050,673,152 + 4 x 4096 x n(n+1)/2 x 32;
  // bytes = weights + n x 8192 embedding bytes + n x 131,072 KV bytes written.
  for (const expected& e : {expected{128, 1'792'085'590'016.0, 15'027'675'136.0},
                            expected{2048, 29'688'401'494'016.0, 15'295'062'016.0},
                            expected{32768, 738'881'454'473'216.0, 19'573'252'096.0}}) {
    const rtlm::step_work w = llama().prefill_work(tokens(e.n));
    EXPECT_EQ(w.flops(), e.flops) << e.n;
    EXPECT_EQ(w.bytes(), e.bytes) << e.n;
    EXPECT_EQ(w.kv_read_bytes, 0.0) << e.n;
  }
}

TEST(model_shape, qwen2_5_7b_prefill_and_decode) {
  // Qwen per layer: 3584 x 4608 + 3584 x 3584 + 3 x 3584 x 18944 = 233,046,016 linear weights.
  const rtlm::step_work p = qwen().prefill_work(2048_tok);
  EXPECT_EQ(p.matmul_flops, 2.0 * 2048 * 233'046'016 * 28 + 2.0 * 3584 * 152064);
  EXPECT_EQ(p.attention_flops, 4.0 * 3584 * (2048.0 * 2049 / 2) * 28);
  EXPECT_EQ(p.flops(), 27'570'896'109'568.0);
  // Weights include the 28 x 4608 QKV biases.
  EXPECT_EQ(p.bytes(), 14'273'100'800.0 + 28 * 4608 * 2);

  const std::vector<tokens> kv{1024_tok};
  const rtlm::step_work d = qwen().decode_work(kv);
  EXPECT_EQ(d.flops(), 14'552'014'848.0);
  EXPECT_EQ(d.kv_read_bytes, 1024 * 57'344.0);
}

TEST(model_shape, chunked_prefill_equals_the_matching_slice_of_a_full_prefill) {
  for (const auto& shape : {&llama(), &qwen()}) {
    for (const auto& [first, second] :
         {std::pair{1, 1}, std::pair{512, 1536}, std::pair{4096, 300}}) {
      const rtlm::step_work head = shape->prefill_work(tokens(first), 0_tok, false);
      const rtlm::step_work tail = shape->prefill_work(tokens(second), tokens(first), true);
      const rtlm::step_work whole = shape->prefill_work(tokens(first + second));
      EXPECT_EQ(head.flops() + tail.flops(), whole.flops()) << first << "+" << second;
      EXPECT_EQ(head.attention_flops + tail.attention_flops, whole.attention_flops);
      EXPECT_EQ(head.kv_write_bytes + tail.kv_write_bytes, whole.kv_write_bytes);
      // The second chunk re-reads the first chunk's KV and the weights once more.
      EXPECT_EQ(tail.kv_read_bytes, first * shape->kv_bytes_per_token());
      EXPECT_EQ(head.bytes() + tail.bytes(),
                whole.bytes() + shape->weight_bytes_per_gpu() + tail.kv_read_bytes);
    }
  }
}

TEST(model_shape, decode_is_a_one_token_prefill_on_the_cache) {
  const std::vector<tokens> kv{777_tok};
  const rtlm::step_work d = llama().decode_work(kv);
  const rtlm::step_work p = llama().prefill_work(1_tok, 777_tok);
  EXPECT_EQ(d.flops(), p.flops());
  EXPECT_EQ(d.bytes(), p.bytes());
}

TEST(model_shape, a_mixed_step_reads_the_weights_once) {
  const std::vector<rtlm::sequence_step> batch{
      {512_tok, 1024_tok, false}, {1_tok, 300_tok, true}, {1_tok, 9000_tok, true}};
  const rtlm::step_work mixed = llama().work(batch);
  const rtlm::step_work chunk = llama().prefill_work(512_tok, 1024_tok, false);
  const std::vector<tokens> kv{300_tok, 9000_tok};
  const rtlm::step_work decodes = llama().decode_work(kv);
  EXPECT_EQ(mixed.flops(), chunk.flops() + decodes.flops());
  EXPECT_EQ(mixed.bytes(), chunk.bytes() + decodes.bytes() - llama().weight_bytes_per_gpu());
}

TEST(model_shape, empty_steps_are_no_work) {
  EXPECT_EQ(llama().prefill_work(0_tok).flops(), 0.0);
  EXPECT_EQ(llama().prefill_work(0_tok).bytes(), 0.0);
  EXPECT_EQ(llama().decode_work({}).bytes(), 0.0);
}

TEST(model_shape, tensor_parallelism_splits_the_work) {
  rtlm::model_config config = rtlm::models::llama_3_8b();
  config.tensor_parallel = 2;
  const rtlm::model_shape tp2(config);
  const std::vector<tokens> kv{1024_tok};
  EXPECT_EQ(tp2.decode_work(kv).flops(), llama().decode_work(kv).flops() / 2);
  EXPECT_EQ(tp2.kv_bytes_per_token(), llama().kv_bytes_per_token() / 2);
  // At 16 GPUs the 8 KV heads no longer split: each GPU holds one KV head.
  config.tensor_parallel = 16;
  EXPECT_EQ(rtlm::model_shape(config).kv_bytes_per_token(), 32 * 2 * 128 * 2.0);
}

// Builds the shape and returns the field its error names, or "" when it was accepted.
std::string blamed_field(const rtlm::model_config& config) {
  try {
    rtlm::model_shape shape(config);
  } catch (const rtlm::error& e) {
    return e.field();
  }
  return "";
}

TEST(model_shape, bad_configuration_names_the_field) {
  rtlm::model_config c = rtlm::models::llama_3_8b();
  EXPECT_EQ(blamed_field(c), "");
  c.layers = 0;
  EXPECT_EQ(blamed_field(c), "model_config.layers");

  c = rtlm::models::llama_3_8b();
  c.attention_heads = 30;  // 4096 is not a multiple of 30
  EXPECT_EQ(blamed_field(c), "model_config.attention_heads");

  c = rtlm::models::llama_3_8b();
  c.kv_heads = 5;
  EXPECT_EQ(blamed_field(c), "model_config.kv_heads");

  c = rtlm::models::llama_3_8b();
  c.bytes_per_weight = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(blamed_field(c), "model_config.bytes_per_weight");

  c = rtlm::models::llama_3_8b();
  c.bytes_per_kv_element = -2;
  EXPECT_EQ(blamed_field(c), "model_config.bytes_per_kv_element");

  c = rtlm::models::llama_3_8b();
  c.tensor_parallel = 3;
  EXPECT_EQ(blamed_field(c), "model_config.tensor_parallel");

  c = rtlm::models::llama_3_8b();
  c.vocab_size = -1;
  EXPECT_EQ(blamed_field(c), "model_config.vocab_size");
}

TEST(model_shape, error_message_names_value_and_rule) {
  rtlm::model_config c = rtlm::models::llama_3_8b();
  c.attention_heads = 30;
  try {
    rtlm::model_shape shape(c);
    FAIL() << "heads that do not divide the hidden size were accepted";
  } catch (const rtlm::error& e) {
    EXPECT_STREQ(e.what(),
                 "rtlm: model_config.attention_heads = 30: must divide hidden_size (4096)");
  }
}

TEST(model_shape, llama_3_1_70b_and_its_tensor_parallel_shards) {
  const std::optional<rtlm::model_config> c = rtlm::models::by_name("llama-3.1-70b");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->name, "llama-3.1-70b");
  EXPECT_EQ(c->tensor_parallel, 1);
  // 80 x (8192 x (8192 + 2 x 1024) + 8192 x 8192 + 3 x 8192 x 28672 + 2 x 8192)
  // + 2 x 128256 x 8192 + 8192 = 70,553,706,496 (the Hugging Face checkpoint's count).
  EXPECT_EQ(rtlm::model_shape(*c).parameter_count(), 70'553'706'496.0);
  // 80 layers x (K + V) x 8 KV heads x 128 x 2 bytes.
  EXPECT_EQ(rtlm::model_shape(*c).kv_bytes_per_token(), 327'680.0);
  for (const int p : {1, 2, 4, 8}) {
    rtlm::model_config tp = *c;
    tp.tensor_parallel = p;
    EXPECT_EQ(blamed_field(tp), "") << p;
  }
  rtlm::model_config tp4 = *c;
  tp4.tensor_parallel = 4;
  const rtlm::model_shape shard(tp4);
  // Per GPU: 16 query heads, 2 KV heads, FFN 7168. Linear weights per layer:
  // 8192 x (2048 + 2 x 256) + 2048 x 8192 + 3 x 8192 x 7168 = 213,909,504; 80 layers, the
  // replicated norms (80 x 2 x 8192 + 8192) and a quarter of the LM head (8192 x 32064), at 2
  // bytes: (17,112,760,320 + 1,318,912 + 262,668,288) x 2.
  EXPECT_EQ(shard.weight_bytes_per_gpu(), 34'753'495'040.0);
  EXPECT_EQ(shard.kv_bytes_per_token(), 81'920.0);
  tp4.tensor_parallel = 3;
  EXPECT_EQ(blamed_field(tp4), "model_config.tensor_parallel");
}

TEST(model_shape, by_name_knows_the_bundled_models) {
  for (const char* name :
       {"llama-3-8b", "llama-3.1-8b", "qwen2.5-7b", "llama-2-7b", "llama-3.1-70b"}) {
    const std::optional<rtlm::model_config> c = rtlm::models::by_name(name);
    ASSERT_TRUE(c.has_value()) << name;
    EXPECT_EQ(c->name, name);
  }
  EXPECT_FALSE(rtlm::models::by_name("llama-3.1-405b").has_value());
  EXPECT_FALSE(rtlm::models::by_name("Llama-3.1-70B").has_value());
}

TEST(model_shape, head_dim_defaults_to_hidden_over_heads) {
  rtlm::model_config c = rtlm::models::llama_3_8b();
  c.head_dim = 0;
  EXPECT_EQ(rtlm::model_shape(c).config().head_dim, 128);
}

}  // namespace
