// A word-level bidirectional LSTM classifier, trained from scratch as a teacher for
// `emot5 train --teacher-scores`: `emot5 bilstm-scores` splits the training rows into k folds,
// trains one BiLSTM on all folds but each one, and writes every row's label distribution from
// the model that did not see it (cross-fitted scores, so that they say how a row reads to a model
// that must generalize to it, not that model's memory of it). With --score FILE it trains one
// model on all the rows instead and writes the distributions of FILE's texts (new texts, such as
// tools/transfer_set.py's perturbed copies of the training texts).
//
// The model: whitespace-separated words (case kept; a word absent from the fold's training rows
// reads as one unknown id), an embedding with dropout, one BiLSTM layer, max-pooling of its
// outputs over the words, dropout and a linear layer to the labels; cross-entropy, Adam.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace emot5::train {

struct BilstmOptions {
  std::string data, eval_data, out;  // out: the scores file (JSON lines)
  // Set: no folds; one model trained on every row of `data` scores the texts of this file (a
  // transfer set for distillation), one line each in `out`.
  std::string score;
  std::string text_field = "text", label_field = "label";
  std::vector<std::string> labels;   // empty: the six emotions
  int folds = 5, epochs = 6, batch_size = 32;
  int64_t embedding_dim = 128, hidden = 128;
  double dropout = 0.3, lr = 1e-3;
  uint64_t seed = 42;       // weights, dropout and batch order (the same for every fold)
  uint64_t fold_seed = 1234;  // which rows go to which fold
  int threads = 1;          // intra-op threads; results are reproducible for a given count
};

int run_bilstm_scores(const BilstmOptions& o);

}  // namespace emot5::train
