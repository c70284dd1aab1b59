// emot5: classify short texts into emotions with a T5 model, in C++.
//
//   emot5::Classifier clf = emot5::Classifier::load(emot5::default_model_dir());
//   emot5::Prediction p = clf.classify("i feel so happy today");
//   // p.label == "joy"; p.probabilities[i] belongs to clf.labels()[i]
//   // with ClassifierOptions::generate = true, also p.generated == "joy"
//
// A Classifier is immutable after load: classify() may be called from several threads at once.
// Errors are exceptions: emot5::Error (a std::runtime_error) for files, models and texts, with the
// file, tensor, field or line in the message; std::invalid_argument for caller mistakes.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "emot5/error.h"

namespace emot5 {

struct ClassifierOptions {
  // 0: every core. A call with at least two batches per thread (classify_batch, generate) runs
  // whole batches side by side, one thread each; fewer batches run one at a time on every thread.
  int threads = 0;
  int max_input_tokens = 512; // longer inputs are truncated, eos kept (HF truncation=True)
  int batch_size = 32;        // texts per forward pass in classify_batch (sorted by length)
  // Also run greedy generation (Prediction::generated). Off by default: the labels' scores need one
  // decoder step over the labels' rows of the head, generation a step per token over all of it.
  bool generate = false;
  int max_new_tokens = 8;     // greedy generation budget
  bool slow_tokenizer = false;  // reproduce HF's slow T5Tokenizer instead of the fast one
  // "f32"; "bf16": linear layers with bf16 weights and activations rounded to bf16, f32 sums;
  // or "int8": linear layers with int8 weights (per-row scales) and activations quantized per row
  // on the fly. Embeddings and head stay f32.
  std::string precision = "f32";
};

struct Prediction {
  std::string label;                // the most probable label
  int label_index = 0;              // into Classifier::labels()
  std::vector<float> probabilities; // softmax over the labels' summed token log-probabilities
  // Each label's summed token log-probability under the full vocabulary: filled when asked for
  // (classify_batch's log_probs) or when a label spans several tokens; otherwise empty, since
  // single-token labels need only the labels' rows of the head (with generation on too).
  std::vector<double> log_probs;
  std::string generated;            // what greedy generation says (empty when disabled)
  std::vector<int> generated_ids;   // decoder start first, up to and including eos
  bool truncated = false;           // the text had more than max_input_tokens tokens: its end was not read
};

struct Generation {
  std::vector<int> ids;  // HF generate's ids: decoder start first, up to and including eos
  std::string text;      // decoded, special tokens skipped
};

struct TokenizedText {
  std::vector<int> ids;
  std::vector<std::string> pieces;
};

class Classifier {
 public:
  // Loads a checkpoint directory in Hugging Face's layout (config.json, model.safetensors or a
  // sharded index, spiece.model) and its optional emot5.json ({"labels": [...], "prefix": ""}).
  static Classifier load(const std::string& model_dir, const ClassifierOptions& options = {});

  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;
  ~Classifier();

  Prediction classify(std::string_view text) const;
  std::vector<Prediction> classify_batch(const std::vector<std::string>& texts) const;
  // The same with `batch_size` texts per forward pass instead of options().batch_size.
  std::vector<Prediction> classify_batch(const std::vector<std::string>& texts, int batch_size) const;
  // The same with every prediction's log_probs filled, also on the fast path (which then
  // multiplies the whole head once, for the vocabulary's normalizer).
  std::vector<Prediction> classify_batch(const std::vector<std::string>& texts, int batch_size, bool log_probs) const;
  // The same, with greedy generation (Prediction::generated) in this call when `generate` is true,
  // as options().generate gives it in every call.
  std::vector<Prediction> classify_batch(const std::vector<std::string>& texts, int batch_size, bool log_probs,
                                         bool generate) const;
  std::vector<Generation> generate(const std::vector<std::string>& texts, int max_new_tokens) const;
  TokenizedText tokenize(std::string_view text) const;

  const std::vector<std::string>& labels() const;
  const ClassifierOptions& options() const;
  const std::string& model_dir() const;
  size_t weight_bytes() const;

 private:
  struct Impl;
  explicit Classifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The built-in model's directory (models/emot5-small): $EMOT5_MODEL when set, else the first of
// <dir>/../share/emot5/models/emot5-small, <dir>/models/emot5-small (dir: the executable's, or
// libemot5_c.so's when emot5 runs inside it), the source tree emot5 was built from and the
// installation's share/emot5/models/emot5-small that holds a config.json. Throws emot5::Error
// naming the places looked in when none does.
std::string default_model_dir();

}  // namespace emot5
