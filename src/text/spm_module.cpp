// The emot5_spm module (see spm_module.h): a thin C wrapper over SentencePieceProcessor.
#include "text/spm_module.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using sentencepiece::SentencePieceProcessor;

void* load(const char* path, char* err, size_t err_len) {
  auto* sp = new SentencePieceProcessor();
  const auto st = sp->Load(path);
  if (!st.ok()) {
    std::snprintf(err, err_len, "%s", st.ToString().c_str());
    delete sp;
    return nullptr;
  }
  return sp;
}

void free_model(void* m) { delete static_cast<SentencePieceProcessor*>(m); }

int piece_size(void* m) { return static_cast<SentencePieceProcessor*>(m)->GetPieceSize(); }

int piece_to_id(void* m, const char* piece, size_t len) {
  return static_cast<SentencePieceProcessor*>(m)->PieceToId(std::string(piece, len));
}

void id_to_piece(void* m, int id, emot5_spm_text_fn fn, void* ctx) {
  const std::string& s = static_cast<SentencePieceProcessor*>(m)->IdToPiece(id);
  fn(ctx, s.data(), s.size());
}

int encode(void* m, const char* text, size_t len, emot5_spm_piece_fn fn, void* ctx) {
  const auto spt = static_cast<SentencePieceProcessor*>(m)->EncodeAsImmutableProto(std::string(text, len));
  for (const auto& p : spt.pieces())
    fn(ctx, static_cast<int>(p.id()), p.piece().data(), p.piece().size(), p.surface().data(), p.surface().size());
  return 0;
}

void decode(void* m, const int* ids, size_t n, emot5_spm_text_fn fn, void* ctx) {
  const std::string s = static_cast<SentencePieceProcessor*>(m)->DecodeIds(std::vector<int>(ids, ids + n));
  fn(ctx, s.data(), s.size());
}

const Emot5SpmApi kApi = {load, free_model, piece_size, piece_to_id, id_to_piece, encode, decode};

}  // namespace

extern "C" __attribute__((visibility("default"))) const Emot5SpmApi* emot5_spm_api(void) { return &kApi; }
