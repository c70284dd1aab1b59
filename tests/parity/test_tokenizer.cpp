// The tokenizer against the Hugging Face fast tokenizer of google/flan-t5-small: every `hf` case of
// tokenizer_cases.json and every vector of hf_reference_vectors_flan-t5-small.json.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/error.h"
#include "io/file_util.h"
#include "test_util.h"
#include "text/tokenizer.h"

namespace emot5 {
namespace {

const Tokenizer& tok() {
  static const Tokenizer t(test::data("spiece.model"));
  return t;
}

TEST(Tokenizer, MatchesHfOnTokenizerCases) {
  const auto j = nlohmann::json::parse(read_file(test::data("tokenizer_cases.json")));
  ASSERT_EQ(j["hf"].size(), 214u);
  int n = 0;
  for (const auto& c : j["hf"]) {
    EXPECT_EQ(tok().encode(c["text"].get<std::string>()), c["ids"].get<std::vector<int>>())
        << "text: " << c["text"];
    ++n;
  }
  EXPECT_EQ(n, 214);
}

// hf_reference_vectors_flan-t5-small.json was made with the slow, sentencepiece-based
// T5Tokenizer (its "tokenizer_class"): it drops trailing whitespace and the spaces around special
// tokens, where the fast tokenizer keeps a "▁" (tokenizer_cases.json: "...spaces  " ends in 3).
// HfSlow reproduces it exactly; HfFast agrees on every vector without trailing or special-token
// whitespace.
TEST(Tokenizer, SlowModeMatchesT5TokenizerVectors) {
  const Tokenizer slow(test::data("spiece.model"), 100, TokenizerMode::HfSlow);
  const auto j = nlohmann::json::parse(read_file(test::data("hf_reference_vectors_flan-t5-small.json")));
  ASSERT_EQ(j["tokenizer_class"], "T5Tokenizer");
  ASSERT_EQ(j["datasets"].size(), 37u);
  int fast_checked = 0;
  for (const auto& c : j["datasets"]) {
    const auto text = c["input"].get<std::string>();
    const auto ids = c["ids"].get<std::vector<int>>();
    const auto enc = slow.encode_with_pieces(text);
    EXPECT_EQ(enc.ids, ids) << "input: " << c["input"];
    const auto tokens = c["tokens"].get<std::vector<std::string>>();  // HF's, without eos
    ASSERT_EQ(enc.pieces.size(), ids.size());
    ASSERT_GE(enc.pieces.size(), tokens.size()) << c["input"];
    EXPECT_EQ(std::vector<std::string>(enc.pieces.begin(), enc.pieces.begin() + tokens.size()), tokens)
        << c["input"];
    const bool specials = text.find('<') != std::string::npos;
    const bool trailing = !text.empty() && (std::string(" \t\n").find(text.back()) != std::string::npos ||
                                            text.ends_with("\xc2\xa0"));
    if (specials) continue;
    std::vector<int> fast_ids = ids;
    if (trailing) fast_ids.insert(fast_ids.end() - 1, 3);  // the fast tokenizer's final "▁"
    EXPECT_EQ(tok().encode(text), fast_ids) << "fast, input: " << c["input"];
    ++fast_checked;
  }
  EXPECT_EQ(fast_checked, 33);
  for (const auto& [tok_text, id] : j["special_tokens"].items()) {
    EXPECT_EQ(tok().encode(tok_text), (std::vector<int>{id.get<int>(), 1})) << tok_text;
    const auto want = id.get<int>() == 1 ? std::vector<int>{1} : std::vector<int>{id.get<int>(), 1};
    EXPECT_EQ(slow.encode(tok_text), want) << tok_text;
  }
}

TEST(Tokenizer, FastModeKeepsTrailingWhitespaceAsHfFastDoes) {
  EXPECT_EQ(tok().encode("trailing space   "), (std::vector<int>{5032, 53, 628, 3, 1}));
  EXPECT_EQ(tok().encode("you\xe2\x80\xa6  "), (std::vector<int>{25, 233, 3, 1}));
  EXPECT_EQ(tok().encode(" \n "), (std::vector<int>{3, 1}));
}

TEST(Tokenizer, TruncatesKeepingEos) {
  std::string text;
  for (int i = 0; i < 700; ++i) text += "word ";
  const auto full = tok().encode(text);
  ASSERT_GT(full.size(), 512u);
  const auto cut = tok().encode(text, 512);
  ASSERT_EQ(cut.size(), 512u);
  EXPECT_EQ(cut.back(), 1);
  EXPECT_TRUE(std::equal(cut.begin(), cut.end() - 1, full.begin()));
  EXPECT_EQ(tok().encode("short", 512), tok().encode("short"));
}

TEST(Tokenizer, DecodesLabelWordsAndSkipsSpecials) {
  EXPECT_EQ(tok().encode_plain("sadness"), std::vector<int>{24784});
  EXPECT_EQ(tok().encode_plain("joy"), std::vector<int>{3922});
  EXPECT_EQ(tok().decode({0, 3922, 1, 0}), "joy");
  EXPECT_EQ(tok().id_to_piece(32099), "<extra_id_0>");
}

TEST(Tokenizer, RejectsInvalidUtf8AndMissingModel) {
  EXPECT_THROW(tok().encode("bad \xff byte"), Error);
  EXPECT_THROW(tok().encode("\xc3"), Error);  // truncated sequence
  try {
    Tokenizer t("/nonexistent/spiece.model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/spiece.model"), std::string::npos);
  }
}

// Memory bounded by the token limit: a text is read only as far as its first max_length + 1 tokens
// certainly reach (Tokenizer::reading_of). Every text of the test split is read whole, so it
// tokenizes exactly as before (and as HF does, by the cases above); long texts built from them
// give the same first tokens as the whole text tokenized and truncated.
TEST(Tokenizer, ReadingOnlyTheStartKeepsTheFirstTokens) {
  std::vector<std::string> texts;
  std::istringstream lines(read_file(std::string(EMOT5_SOURCE_DIR) + "/data/emotion/test.jsonl"));
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) texts.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
  ASSERT_EQ(texts.size(), 2000u);
  for (const auto& t : texts) ASSERT_EQ(tok().reading_of(t, 512).size(), t.size()) << t;
  auto whole = [](const std::vector<int>& ids, size_t max_length) {  // HF's truncation of the whole text
    std::vector<int> out(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size() - 1, max_length - 1)));
    out.push_back(1);
    return out;
  };
  std::string joined;
  for (size_t i = 0; i < texts.size(); ++i) joined += texts[i] + (i % 7 == 0 ? "  \t " : " ");
  const std::string unspaced(100000, 'x');
  for (int max_length : {8, 64, 512}) {
    for (const std::string& text : {joined, joined.substr(0, 9000), std::string("<extra_id_0> ") + joined}) {
      const auto all = tok().encode_plain(text);
      std::vector<int> all_eos = all;
      all_eos.push_back(1);
      EXPECT_LT(tok().reading_of(text, max_length).size(), text.size()) << max_length;
      EXPECT_EQ(tok().encode(text, max_length), whole(all_eos, static_cast<size_t>(max_length))) << max_length;
    }
    // A run without a space longer than the bound is cut at the bound (documented in tokenizer.h).
    EXPECT_EQ(tok().reading_of(unspaced, max_length).size(),
              std::max<size_t>(Tokenizer::kAlwaysReadBytes, Tokenizer::kReadBytesPerToken * static_cast<size_t>(max_length)));
  }
}

}  // namespace
}  // namespace emot5
