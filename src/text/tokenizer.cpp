// Tokenizer (see tokenizer.h). HF's fast pipeline for T5 is: split on added (special) tokens; for
// each piece of text between them, the charsmap normalizer, " {2,}" -> " ", Metaspace with a
// prefix "▁", then unigram per "▁"-word. SentencePiece gives the same ids except that it strips
// trailing whitespace, which the fast tokenizer keeps as a final "▁".
#include "text/tokenizer.h"

#include <algorithm>

#include <cstring>

#include <dlfcn.h>
#include <unistd.h>


#include "io/error.h"
#include "io/file_util.h"
#include "io/utf8.h"
#include "text/spm_module.h"

namespace emot5 {

namespace {

const char* const kSpace = "\xe2\x96\x81";  // "▁"

// The sanitizers cannot run a library opened with RTLD_DEEPBIND; in a sanitizer build (which
// checks the engine, without libtorch and its clashing protobuf) the module is opened without it.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)  // clang's way of saying it
#define EMOT5_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(EMOT5_SANITIZED)
constexpr int kDeepBind = 0;
#else
constexpr int kDeepBind = RTLD_DEEPBIND;
#endif

// Loads libemot5_spm.so into its own symbol scope (see spm_module.h): $EMOT5_SPM_MODULE, then
// beside the binary holding this code (the executable or libemot5_c.so), then where the build put it, then where `cmake --install` put it.
const Emot5SpmApi& spm_api() {
  static const Emot5SpmApi* api = [] {
    std::vector<std::string> tried = beside_binary({"/libemot5_spm.so", "/../lib/emot5/libemot5_spm.so"});
    if (const char* env = std::getenv("EMOT5_SPM_MODULE"); env && *env) tried.insert(tried.begin(), env);
#ifdef EMOT5_SPM_MODULE_PATH
    tried.emplace_back(EMOT5_SPM_MODULE_PATH);
#endif
#ifdef EMOT5_SPM_MODULE_INSTALLED
    tried.emplace_back(EMOT5_SPM_MODULE_INSTALLED);
#endif
    std::string errors;
    for (const auto& path : tried) {
      if (!file_exists(path)) continue;
      void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | kDeepBind);
      if (!h) {
        errors += std::string("; ") + ::dlerror();
        continue;
      }
      using Fn = const Emot5SpmApi* (*)();
      auto fn = reinterpret_cast<Fn>(::dlsym(h, "emot5_spm_api"));
      if (fn) return fn();
      errors += "; " + path + ": no emot5_spm_api";
    }
    std::string list;
    for (const auto& t : tried) list += " " + t;
    throw Error("cannot load the SentencePiece module libemot5_spm.so (tried:" + list + ")" + errors);
  }();
  return *api;
}

struct PieceSink {
  std::vector<int>* ids;
  std::vector<std::string>* pieces;  // null: ids only
  int unk;
};

void on_piece(void* ctx, int id, const char* piece, size_t piece_len, const char* surface, size_t surface_len) {
  auto* s = static_cast<PieceSink*>(ctx);
  s->ids->push_back(id);
  if (s->pieces) s->pieces->push_back(id == s->unk ? std::string(surface, surface_len) : std::string(piece, piece_len));
}

void on_text(void* ctx, const char* text, size_t len) { static_cast<std::string*>(ctx)->assign(text, len); }

void require_utf8(std::string_view text) {
  const size_t bad = find_invalid_utf8(text);
  if (bad != std::string_view::npos) throw Error("text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
}

}  // namespace

struct Tokenizer::Impl {
  const Emot5SpmApi* api = nullptr;
  void* model = nullptr;
  std::vector<int> two_words;  // ids of "a a": whitespace between
  std::vector<int> one_word;   // ids of "aa": nothing between
  int space_id = 3;
  int pieces = 0;
  size_t longest_piece = 16;  // in characters, "▁" left out; special tokens included
  ~Impl() {
    if (model) api->free(model);
  }
  std::vector<int> ids(std::string_view text) const {
    std::vector<int> out;
    PieceSink sink{&out, nullptr, 2};
    api->encode(model, text.data(), text.size(), on_piece, &sink);
    return out;
  }
};

Tokenizer::Tokenizer(const std::string& path, int extra_ids, TokenizerMode mode)
    : impl_(std::make_unique<Impl>()), extra_ids_(extra_ids), mode_(mode) {
  if (!file_exists(path)) throw Error(path + ": missing (the tokenizer needs spiece.model)");
  impl_->api = &spm_api();
  char err[512] = {0};
  impl_->model = impl_->api->load(path.c_str(), err, sizeof err);
  if (!impl_->model) throw Error(path + ": not a SentencePiece model: " + err);
  impl_->two_words = impl_->ids("a a");
  impl_->one_word = impl_->ids("aa");
  impl_->space_id = impl_->api->piece_to_id(impl_->model, kSpace, std::strlen(kSpace));
  impl_->pieces = impl_->api->piece_size(impl_->model);
  size_t longest = std::strlen("<extra_id_99>");
  for (int id = 0; id < impl_->pieces; ++id) {
    std::string piece;
    impl_->api->id_to_piece(impl_->model, id, on_text, &piece);
    size_t chars = 0;
    for (unsigned char c : piece) chars += (c & 0xc0) != 0x80;
    if (piece.rfind(kSpace, 0) == 0) --chars;
    longest = std::max(longest, chars);
  }
  impl_->longest_piece = longest;
}

std::string_view Tokenizer::reading_of(std::string_view text, int max_length) const {
  if (max_length <= 0 || text.size() <= kAlwaysReadBytes) return text;
  const size_t need = static_cast<size_t>(max_length) + 1, P = impl_->longest_piece;
  const size_t bound = std::max<size_t>(kAlwaysReadBytes, kReadBytesPerToken * static_cast<size_t>(max_length));
  size_t pieces = 0, printable = 0, last_space = std::string_view::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ') {
      pieces += (printable + P - 1) / P;  // each piece holds at most P of the word's characters
      printable = 0;
      last_space = i;
      if (pieces >= need) return text.substr(0, i);
    } else if (c > ' ' && c < 0x7f) {
      ++printable;
    }
    if (i + 1 >= bound) {
      if (last_space != std::string_view::npos) return text.substr(0, last_space);
      size_t end = bound;
      while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;  // a whole character
      return text.substr(0, end);
    }
  }
  return text;
}

Tokenizer::~Tokenizer() = default;

int Tokenizer::vocab_size() const { return impl_->pieces + extra_ids_; }

// Whether `seg`, once normalized, ends in whitespace. Walks back over characters the normalizer
// deletes; a non-ASCII character is classified by probing SentencePiece with "a" + c + "a".
bool Tokenizer::ends_in_whitespace(std::string_view seg) const {
  size_t end = seg.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(seg[start]) & 0xc0) == 0x80) --start;
    const auto c = static_cast<unsigned char>(seg[start]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
    if (c >= 0x21 && c < 0x7f) return false;
    std::string probe = "a";
    probe.append(seg.substr(start, end - start));
    probe.push_back('a');
    const std::vector<int> ids = impl_->ids(probe);
    if (ids == impl_->two_words) return true;
    if (ids != impl_->one_word) return false;
    end = start;  // deleted by the normalizer: look further back
  }
  return false;
}

void Tokenizer::encode_segment(std::string_view seg, Encoding* out, bool pieces) const {
  if (seg.empty()) return;
  PieceSink sink{&out->ids, pieces ? &out->pieces : nullptr, unk_id()};
  impl_->api->encode(impl_->model, seg.data(), seg.size(), on_piece, &sink);
  if (mode_ == TokenizerMode::HfFast && ends_in_whitespace(seg)) {
    out->ids.push_back(impl_->space_id);
    if (pieces) out->pieces.push_back(kSpace);
  }
}

void Tokenizer::encode_into(std::string_view text, Encoding* out, bool pieces) const {
  require_utf8(text);
  size_t start = 0, i = 0;
  while (i < text.size()) {
    if (text[i] != '<') {
      ++i;
      continue;
    }
    // Added tokens: <pad> 0, </s> 1, <unk> 2, <extra_id_N> = vocab - 1 - N.
    int id = -1;
    size_t len = 0;
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("<pad>")) { id = 0; len = 5; }
    else if (rest.starts_with("</s>")) { id = 1; len = 4; }
    else if (rest.starts_with("<unk>")) { id = 2; len = 5; }
    else if (rest.starts_with("<extra_id_")) {
      size_t j = 10, n = 0;
      while (j < rest.size() && j < 13 && rest[j] >= '0' && rest[j] <= '9') n = n * 10 + static_cast<size_t>(rest[j++] - '0');
      if (j > 10 && j < rest.size() && rest[j] == '>' && !(rest[10] == '0' && j > 11) &&
          n < static_cast<size_t>(extra_ids_)) {
        id = vocab_size() - 1 - static_cast<int>(n);
        len = j + 1;
      }
    }
    if (id < 0) {
      ++i;
      continue;
    }
    encode_segment(text.substr(start, i - start), out, pieces);
    out->ids.push_back(id);
    if (pieces) out->pieces.emplace_back(rest.substr(0, len));
    i += len;
    start = i;
  }
  encode_segment(text.substr(start), out, pieces);
}

std::vector<int> Tokenizer::encode_plain(std::string_view text) const {
  Encoding e;
  encode_into(text, &e, false);
  return e.ids;
}

namespace {
// HF truncation=True: at most max_length ids, the last one eos.
// T5Tokenizer (slow) does not add eos after a text that already ends in "</s>".
void truncate_and_close(Encoding* e, int max_length, int eos, bool pieces, bool slow) {
  if (slow && !e->ids.empty() && e->ids.back() == eos) {
    e->ids.pop_back();
    if (pieces) e->pieces.pop_back();
  }
  if (max_length > 0 && e->ids.size() + 1 > static_cast<size_t>(max_length)) {
    e->ids.resize(static_cast<size_t>(max_length - 1));
    if (pieces) e->pieces.resize(e->ids.size());
  }
  e->ids.push_back(eos);
  if (pieces) e->pieces.emplace_back("</s>");
}
}  // namespace

Encoding Tokenizer::encode_with_pieces(std::string_view text, int max_length) const {
  Encoding e;
  require_utf8(text);
  encode_into(reading_of(text, max_length), &e, true);
  truncate_and_close(&e, max_length, eos_id(), true, mode_ == TokenizerMode::HfSlow);
  return e;
}

std::vector<int> Tokenizer::encode(std::string_view text, int max_length) const {
  Encoding e;
  require_utf8(text);
  encode_into(reading_of(text, max_length), &e, false);
  truncate_and_close(&e, max_length, eos_id(), false, mode_ == TokenizerMode::HfSlow);
  return e.ids;
}

std::string Tokenizer::id_to_piece(int id) const {
  const int n = impl_->pieces;
  if (id >= 0 && id < n) {
    std::string s;
    impl_->api->id_to_piece(impl_->model, id, on_text, &s);
    return s;
  }
  if (id >= n && id < n + extra_ids_) return "<extra_id_" + std::to_string(n + extra_ids_ - 1 - id) + ">";
  return "<id_" + std::to_string(id) + ">";
}

std::vector<std::string> Tokenizer::pieces(const std::vector<int>& ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int id : ids) out.push_back(id_to_piece(id));
  return out;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::vector<int> keep;
  const int n = impl_->pieces;
  for (int id : ids)
    if (id >= 0 && id < n && id != pad_id() && id != eos_id() && id != unk_id()) keep.push_back(id);
  std::string s;
  impl_->api->decode(impl_->model, keep.data(), keep.size(), on_text, &s);
  return s;
}

}  // namespace emot5
