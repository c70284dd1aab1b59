// io layer: dtype conversions, safetensors round trip, config.json rules, UTF-8, CSV records,
// directory removal.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/csv.h"
#include "io/config.h"
#include "io/error.h"
#include "io/file_util.h"
#include "io/safetensors.h"
#include "io/utf8.h"
#include "test_util.h"

namespace emot5 {
namespace {

TEST(DType, HalfAndBfloatConvertExactly) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x0001), 5.9604644775390625e-08f);  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc0a0), -5.0f);
  for (float v : {1.0f, -2.5f, 0.1f, 65504.0f, 6.1e-5f, 3.0e-7f}) {
    EXPECT_EQ(f16_to_f32(f32_to_f16(v)), f16_to_f32(f32_to_f16(f16_to_f32(f32_to_f16(v)))));
    EXPECT_NEAR(f16_to_f32(f32_to_f16(v)), v, std::fabs(v) * 1e-3f + 6e-8f);
    EXPECT_NEAR(bf16_to_f32(f32_to_bf16(v)), v, std::fabs(v) * 4e-3f);
  }
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);  // ties round to even
}

TEST(Safetensors, WriteThenReadRoundTrips) {
  MemoryTensors m;
  m.add_f32("a.weight", {2, 3}, {1, 2, 3, 4, 5, 6});
  m.add_f32("b", {1}, {7});
  const std::string path = ::testing::TempDir() + "/rt.safetensors";
  write_safetensors(path, m, {{"format", "pt"}});
  const SafetensorsFile f(path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a.weight", "b"}));
  EXPECT_EQ(to_f32(*f.find("a.weight")), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(f.find("a.weight")->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_FALSE(f.find("missing"));
}

TEST(MemoryTensors, AddRoundedStoresF16AndBf16Bits) {
  MemoryTensors m;
  // 1.00390625 is halfway between two bfloat16 values and rounds to the even one, 1.0 (0x3f80);
  // in f16 it is exact (0x3c04). -2 is 0xc000 in both.
  m.add_rounded("h", DType::F16, {2}, {1.00390625f, -2.0f});
  m.add_rounded("b", DType::BF16, {2}, {1.00390625f, -2.0f});
  m.add_rounded("f", DType::F32, {1}, {0.1f});
  const auto bits = [&](const char* name, size_t i) {
    uint16_t h;
    std::memcpy(&h, m.find(name)->data + 2 * i, 2);
    return h;
  };
  EXPECT_EQ(bits("h", 0), 0x3c04);
  EXPECT_EQ(bits("h", 1), 0xc000);
  EXPECT_EQ(bits("b", 0), 0x3f80);
  EXPECT_EQ(bits("b", 1), 0xc000);
  EXPECT_EQ(to_f32(*m.find("f")), (std::vector<float>{0.1f}));
  EXPECT_THROW(m.add_rounded("i", DType::I8, {1}, {1.0f}), std::invalid_argument);
}

TEST(Config, HfDefaultsAndDerivations) {
  const auto c = parse_t5_config(R"({"num_layers": 4, "feed_forward_proj": "gated-gelu"})", "c.json");
  EXPECT_EQ(c.num_decoder_layers, 4);  // defaults to num_layers
  EXPECT_TRUE(c.is_gated_act);
  EXPECT_EQ(c.dense_act_fn, "gelu_new");  // HF maps gated-gelu to gelu_new
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.scale_decoder_outputs);  // absent: follows tie_word_embeddings
  const auto u = parse_t5_config(R"({"tie_word_embeddings": false, "feed_forward_proj": "gated-silu"})", "c");
  EXPECT_FALSE(u.scale_decoder_outputs);
  EXPECT_EQ(u.dense_act_fn, "silu");
  const auto s = parse_t5_config(R"({"tie_word_embeddings": true, "scale_decoder_outputs": false})", "c");
  EXPECT_FALSE(s.scale_decoder_outputs);
  const auto n = parse_t5_config(R"({"num_decoder_layers": null, "num_layers": 3, "eos_token_id": [1, 5]})", "c");
  EXPECT_EQ(n.num_decoder_layers, 3);
  EXPECT_EQ(n.eos_token_id, 1);
}

TEST(Config, ErrorsNameTheFieldAndFile) {
  auto expect_error = [](const std::string& json, const std::string& needle) {
    try {
      parse_t5_config(json, "some/config.json");
      FAIL() << json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("some/config.json"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(R"({"d_model": "big"})", "d_model");
  expect_error(R"({"d_model": -4})", "d_model");
  expect_error(R"({"feed_forward_proj": "gated-tanh"})", "feed_forward_proj");
  expect_error(R"({"tie_word_embeddings": 1})", "tie_word_embeddings");
  expect_error(R"({"d_model": 64,)", "malformed JSON");
  expect_error(R"([1, 2])", "not a JSON object");
  expect_error(R"({"model_type": "bert"})", "model_type");
}

TEST(Utf8, FindsFirstInvalidByte) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("ab\xff"), 2u);
  EXPECT_EQ(find_invalid_utf8("\xc0\xaf"), 0u);          // overlong
  EXPECT_EQ(find_invalid_utf8("x\xed\xa0\x80"), 1u);     // surrogate
  EXPECT_EQ(find_invalid_utf8("\xf4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(find_invalid_utf8("\xe2\x82"), 0u);          // truncated
}

TEST(Csv, QuotedFieldsCommasNewlinesAndErrors) {
  std::istringstream in("text,label\n\"a, b\",joy\n\"multi\nline \"\"q\"\"\",fear\r\nplain,x\n");
  std::vector<std::string> f;
  size_t line = 0;
  ASSERT_TRUE(read_csv_record(in, &f, &line, "t.csv"));
  EXPECT_EQ(f, (std::vector<std::string>{"text", "label"}));
  ASSERT_TRUE(read_csv_record(in, &f, &line, "t.csv"));
  EXPECT_EQ(f, (std::vector<std::string>{"a, b", "joy"}));
  ASSERT_TRUE(read_csv_record(in, &f, &line, "t.csv"));
  EXPECT_EQ(f, (std::vector<std::string>{"multi\nline \"q\"", "fear"}));
  EXPECT_EQ(line, 4u);
  ASSERT_TRUE(read_csv_record(in, &f, &line, "t.csv"));
  EXPECT_EQ(f, (std::vector<std::string>{"plain", "x"}));
  EXPECT_FALSE(read_csv_record(in, &f, &line, "t.csv"));
  std::istringstream bad("\"never closed,1\n");
  line = 0;
  EXPECT_THROW(read_csv_record(bad, &f, &line, "t.csv"), Error);
}

TEST(FileUtil, RemoveTreeRemovesNestedDirectoriesButNotLinkTargets) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("emot5_remove_tree_" + std::to_string(::getpid()));
  const fs::path keep = root.string() + "_kept";
  fs::create_directories(root / "a" / "b");
  fs::create_directories(keep);
  std::ofstream(root / "a" / "b" / "f.bin") << "x";
  std::ofstream(root / "top.txt") << "y";
  std::ofstream(keep / "target.txt") << "z";
  fs::create_directory_symlink(keep, root / "a" / "link");
  remove_tree(root.string());
  EXPECT_FALSE(fs::exists(root));
  EXPECT_TRUE(fs::exists(keep / "target.txt"));  // the link went, not what it points to
  remove_tree(root.string());                    // missing: nothing to do
  remove_tree((keep / "target.txt").string());   // a plain file
  EXPECT_FALSE(fs::exists(keep / "target.txt"));
  remove_tree(keep.string());
  EXPECT_FALSE(fs::exists(keep));
}

}  // namespace
}  // namespace emot5
