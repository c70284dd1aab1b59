// Every bad input of issue 2, item 8: a clear error naming the file and the problem, never a
// crash. Empty and 1 MB texts are not errors.
#include <gtest/gtest.h>

#include "bad_files.h"
#include "emot5/emot5.h"

namespace emot5 {
namespace {

// Loading `dir` must throw emot5::Error whose message holds every needle.
void expect_load_error(const std::string& dir, const std::vector<std::string>& needles) {
  try {
    Classifier::load(dir);
    FAIL() << "loaded " << dir;
  } catch (const Error& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

TEST(BadInput, MissingConfig) {
  const auto d = test::copy_fixture("noconfig");
  test::fs::remove(d + "/config.json");
  expect_load_error(d, {d + "/config.json", "missing"});
}

TEST(BadInput, MalformedConfig) {
  const auto d = test::copy_fixture("badconfig");
  write_file_atomic(d + "/config.json", "{\"d_model\": 64,, }");
  expect_load_error(d, {d + "/config.json", "malformed JSON"});
  write_file_atomic(d + "/config.json", "{\"num_heads\": \"three\"}");
  expect_load_error(d, {d + "/config.json", "num_heads"});
}

TEST(BadInput, TruncatedSafetensors) {
  const auto d = test::copy_fixture("trunc");
  const std::string p = d + "/model.safetensors";
  const auto size = test::fs::file_size(p);
  test::fs::resize_file(p, size - 1000);
  expect_load_error(d, {p, "past the data section"});
  test::fs::resize_file(p, 5);
  expect_load_error(d, {p, "truncated"});
  test::fs::resize_file(p, 0);
  expect_load_error(d, {p, "truncated"});
}

TEST(BadInput, HeaderLengthPastEnd) {
  const auto d = test::copy_fixture("hdrlen");
  test::write_raw_safetensors(d + "/model.safetensors", "{}", 0, 1u << 20);
  expect_load_error(d, {d + "/model.safetensors", "runs past the end"});
}

TEST(BadInput, MalformedHeaderJson) {
  const auto d = test::copy_fixture("hdrjson");
  test::write_raw_safetensors(d + "/model.safetensors", "{\"a\": [", 0);
  expect_load_error(d, {d + "/model.safetensors", "malformed safetensors header"});
}

TEST(BadInput, OverlappingOffsets) {
  const auto d = test::copy_fixture("overlap");
  test::edit_header(d, [](nlohmann::json& h) {
    h["encoder.final_layer_norm.weight"]["data_offsets"] = h["decoder.final_layer_norm.weight"]["data_offsets"];
  });
  expect_load_error(d, {d + "/model.safetensors", "overlapping"});
}

TEST(BadInput, OffsetsOutOfRange) {
  const auto d = test::copy_fixture("range");
  test::edit_header(d, [](nlohmann::json& h) {
    h["encoder.final_layer_norm.weight"]["data_offsets"] = {1u << 30, (1u << 30) + 256};
  });
  expect_load_error(d, {d + "/model.safetensors", "encoder.final_layer_norm.weight", "past the data section"});
  test::edit_header(d, [](nlohmann::json& h) {
    h["encoder.final_layer_norm.weight"]["data_offsets"] = {512, 0};
  });
  expect_load_error(d, {"reversed"});
}

TEST(BadInput, UnknownDtype) {
  const auto d = test::copy_fixture("dtype");
  test::edit_header(d, [](nlohmann::json& h) { h["shared.weight"]["dtype"] = "F8_E9M0"; });
  expect_load_error(d, {d + "/model.safetensors", "shared.weight", "unknown dtype 'F8_E9M0'"});
}

TEST(BadInput, ShapeDisagreesWithConfig) {
  const auto d = test::copy_fixture("shape");
  write_file_atomic(d + "/config.json",
                    "{\"d_model\": 64, \"d_kv\": 16, \"num_heads\": 3, \"d_ff\": 128, \"num_layers\": 2, "
                    "\"num_decoder_layers\": 3, \"feed_forward_proj\": \"gated-gelu\", \"tie_word_embeddings\": false}");
  expect_load_error(d, {"DenseReluDense.wi_0.weight", "[96, 64]", "expected [128, 64]"});
}

TEST(BadInput, MissingTensor) {
  const auto d = test::copy_fixture("missing");
  test::edit_header(d, [](nlohmann::json& h) { h.erase("decoder.block.1.layer.1.EncDecAttention.k.weight"); });
  expect_load_error(d, {d + "/model.safetensors", "missing tensor 'decoder.block.1.layer.1.EncDecAttention.k.weight'"});
}

TEST(BadInput, MissingSpiece) {
  const auto d = test::copy_fixture("nospiece");
  test::fs::remove(d + "/spiece.model");
  expect_load_error(d, {d + "/spiece.model", "missing"});
}

TEST(BadInput, CorruptSpiece) {
  const auto d = test::copy_fixture("badspiece");
  write_file_atomic(d + "/spiece.model", "not a protobuf at all");
  expect_load_error(d, {d + "/spiece.model", "not a SentencePiece model"});
}

TEST(BadInput, InvalidUtf8TextIsAnErrorEmptyAndHugeTextsAreNot) {
  const auto clf = Classifier::load(test::data("tiny-v11-untied-f32"));
  try {
    clf.classify("bad \xc3\x28 text");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos);
  }
  const auto empty = clf.classify("");
  EXPECT_EQ(empty.probabilities.size(), 6u);
  std::string huge;
  while (huge.size() < (1u << 20)) huge += "i feel very calm and content today, ";
  const auto big = clf.classify(huge);
  EXPECT_EQ(big.probabilities.size(), 6u);
  EXPECT_EQ(clf.tokenize(huge).ids.size(), 512u);
}

}  // namespace
}  // namespace emot5
