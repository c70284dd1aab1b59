// T5's tokenizer with Hugging Face's fast-tokenizer behaviour, on top of libsentencepiece:
// special-token text (<pad>, </s>, <unk>, <extra_id_N>) maps to its id, a trailing space keeps a
// final "▁" (id 3), eos is appended, and long inputs are truncated with eos kept.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace emot5 {

// Which Hugging Face tokenizer to reproduce. HfFast (T5TokenizerFast, what AutoTokenizer and the
// pipeline use) keeps a final "▁" for trailing whitespace; HfSlow (the sentencepiece-based
// T5Tokenizer, legacy mode) drops it, as raw SentencePiece does.
enum class TokenizerMode { HfFast, HfSlow };

struct Encoding {
  std::vector<int> ids;
  std::vector<std::string> pieces;  // HF's tokens: the piece, or the source text for <unk>
};

class Tokenizer {
 public:
  // Throws emot5::Error naming `spiece_path` when it is missing or not a SentencePiece model.
  explicit Tokenizer(const std::string& spiece_path, int extra_ids = 100,
                     TokenizerMode mode = TokenizerMode::HfFast);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Ids as the HF fast tokenizer gives them, with eos appended. `max_length` > 0 truncates to
  // that many ids, the last being eos (HF's truncation=True). Throws emot5::Error when `text` is
  // not valid UTF-8.
  std::vector<int> encode(std::string_view text, int max_length = 0) const;
  // Ids of `text` without eos (used for label words).
  std::vector<int> encode_plain(std::string_view text) const;
  // Ids and pieces of `text`, with eos appended (its piece is "</s>").
  Encoding encode_with_pieces(std::string_view text, int max_length = 0) const;
  std::vector<std::string> pieces(const std::vector<int>& ids) const;
  // Text of `ids`, skipping special tokens (pad, eos, unk, extra ids): what HF's
  // decode(skip_special_tokens=True) prints.
  std::string decode(const std::vector<int>& ids) const;
  std::string id_to_piece(int id) const;

  int vocab_size() const;  // sentencepiece pieces + extra ids
  int eos_id() const { return 1; }
  int pad_id() const { return 0; }
  int unk_id() const { return 2; }

  // Bytes of a text always read whole, and read per allowed token beyond that (reading_of).
  static constexpr size_t kAlwaysReadBytes = 4096, kReadBytesPerToken = 128;
  // Memory bounded by max_length, not by the text: the start of `text` that certainly gives the
  // whole text's first max_length + 1 tokens. SentencePiece never puts one piece across a space,
  // and a space-separated word of A printable ASCII characters gives at least A / (the longest
  // piece) pieces, so the text is read up to the first space past which that count reaches
  // max_length + 1. Texts up to kAlwaysReadBytes are read whole; no text is read past
  // max(kAlwaysReadBytes, kReadBytesPerToken × max_length) bytes (64 KiB for 512 tokens): a text
  // whose first tokens span more (long runs without a space, whitespace, or characters outside
  // ASCII) is cut at its last space before that bound, or at the bound.
  std::string_view reading_of(std::string_view text, int max_length) const;

 private:
  void encode_segment(std::string_view seg, Encoding* out, bool pieces) const;
  void encode_into(std::string_view text, Encoding* out, bool pieces) const;
  bool ends_in_whitespace(std::string_view seg) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int extra_ids_;
  TokenizerMode mode_;
};

}  // namespace emot5
