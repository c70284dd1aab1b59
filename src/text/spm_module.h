// The C interface of the emot5_spm module: SentencePiece behind dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
// Debian's libsentencepiece exports its bundled protobuf-lite, which clashes with the libprotobuf
// that libtorch loads (both in one process crash at start-up); loading SentencePiece into its own
// symbol scope keeps the two apart. Only plain C types cross this boundary.
#pragma once
#include <stddef.h>

extern "C" {

// Called once per piece: id, piece text, source text (surface).
typedef void (*emot5_spm_piece_fn)(void* ctx, int id, const char* piece, size_t piece_len,
                                   const char* surface, size_t surface_len);
typedef void (*emot5_spm_text_fn)(void* ctx, const char* text, size_t len);

struct Emot5SpmApi {
  void* (*load)(const char* path, char* err, size_t err_len);  // NULL on failure, err filled
  void (*free)(void* model);
  int (*piece_size)(void* model);
  int (*piece_to_id)(void* model, const char* piece, size_t len);
  void (*id_to_piece)(void* model, int id, emot5_spm_text_fn fn, void* ctx);
  int (*encode)(void* model, const char* text, size_t len, emot5_spm_piece_fn fn, void* ctx);  // 0 on success
  void (*decode)(void* model, const int* ids, size_t n, emot5_spm_text_fn fn, void* ctx);
};

// The module's single exported symbol.
const Emot5SpmApi* emot5_spm_api(void);
}
