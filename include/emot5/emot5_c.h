/* emot5's C interface: the classifier from C and from any language with a C FFI (Python ctypes,
 * C#, Rust, Go, game engines), as the shared library libemot5_c.so.
 *
 *   char err[512];
 *   emot5_classifier* clf = emot5_load(NULL, NULL, err, sizeof err);  // NULL: the built-in model
 *   if (!clf) { fprintf(stderr, "%s\n", err); return 1; }
 *   const char* texts[] = {"i feel so happy today"};
 *   int label;
 *   float probs[16];                                 // emot5_num_labels(clf) per text
 *   if (emot5_classify(clf, texts, 1, &label, probs, err, sizeof err) != 0) { ... }
 *   printf("%s\n", emot5_label(clf, label));          // joy
 *   emot5_free(clf);
 *
 * A classifier may be used from several threads at once. Errors never abort: the functions that
 * can fail return NULL or -1 and write a message naming the file, field or text into `err` (when
 * it is not NULL), always NUL-terminated and cut to err_size. Texts are UTF-8 and NUL-terminated.
 */
#ifndef EMOT5_C_H
#define EMOT5_C_H

#include <stddef.h>

#if defined(__GNUC__)
#define EMOT5_C_API __attribute__((visibility("default")))
#else
#define EMOT5_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct emot5_classifier emot5_classifier;

typedef struct emot5_options {
  int threads;          /* 0: every core */
  int max_input_tokens; /* longer texts are truncated (their end is not read) */
  int batch_size;       /* texts per forward pass in emot5_classify */
  const char* precision; /* "f32", "bf16" or "int8"; NULL: "f32" */
} emot5_options;

/* The defaults: every core, 512 tokens, batch 32, f32. */
EMOT5_C_API emot5_options emot5_default_options(void);

/* Loads a model directory in Hugging Face's layout; model_dir NULL: the built-in model
 * ($EMOT5_MODEL when set, else share/emot5/models/emot5-small beside the lib/ holding
 * libemot5_c.so, so that an installed tree can be moved or shipped with an application).
 * options NULL: the defaults. Returns NULL on error. */
EMOT5_C_API emot5_classifier* emot5_load(const char* model_dir, const emot5_options* options, char* err,
                                         size_t err_size);
EMOT5_C_API void emot5_free(emot5_classifier* clf); /* NULL is fine */

EMOT5_C_API int emot5_num_labels(const emot5_classifier* clf);
/* The i-th label ("sadness", ...), owned by clf; NULL when i is out of range. */
EMOT5_C_API const char* emot5_label(const emot5_classifier* clf, int i);
/* The directory the model was loaded from, owned by clf. */
EMOT5_C_API const char* emot5_model_dir(const emot5_classifier* clf);

/* Classifies n texts. labels (may be NULL) receives n label indexes; probabilities (may be NULL)
 * receives n * emot5_num_labels(clf) floats, text by text, each row summing to 1; truncated (may
 * be NULL) receives 1 for each text longer than max_input_tokens, else 0. Returns 0, or -1 on error
 * (invalid UTF-8, a NULL text) with nothing written to the outputs. */
EMOT5_C_API int emot5_classify(const emot5_classifier* clf, const char* const* texts, size_t n, int* labels,
                               float* probabilities, int* truncated, char* err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif /* EMOT5_C_H */
