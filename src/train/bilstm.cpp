// emot5 bilstm-scores: cross-fitted label distributions of a word-level BiLSTM (see bilstm.h).
#include "train/bilstm.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "classifier/dataset.h"
#include "classifier/labels.h"
#include "classifier/metrics.h"
#include "io/error.h"
#include "io/file_util.h"
#include "train/trainer.h"

namespace emot5::train {
namespace {

struct WordRow {
  std::vector<std::string> words;
  int label = 0;
};

std::vector<WordRow> split_words(const Dataset& ds) {
  std::vector<WordRow> out;
  out.reserve(ds.rows.size());
  for (const auto& r : ds.rows) {
    WordRow w;
    std::istringstream in(r.text);
    for (std::string word; in >> word;) w.words.push_back(word);
    w.label = r.label;
    out.push_back(std::move(w));
  }
  return out;
}

// Word ids: 0 pads, 1 is any word the vocabulary lacks, the rest in order of first appearance.
using Vocabulary = std::unordered_map<std::string, int64_t>;
constexpr int64_t kPad = 0, kUnknown = 1, kFirstWord = 2;

Vocabulary build_vocabulary(const std::vector<const WordRow*>& rows) {
  Vocabulary v;
  for (const auto* r : rows)
    for (const auto& w : r->words)
      if (!v.count(w)) {
        const int64_t id = static_cast<int64_t>(v.size()) + kFirstWord;
        v.emplace(w, id);
      }
  return v;
}

// (rows, longest) word ids, padded with kPad.
torch::Tensor word_ids(const std::vector<const WordRow*>& rows, const Vocabulary& v) {
  size_t longest = 1;
  for (const auto* r : rows) longest = std::max(longest, r->words.size());
  auto t = torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(longest)}, torch::kInt64);
  auto a = t.accessor<int64_t, 2>();
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t k = 0; k < rows[i]->words.size(); ++k) {
      const auto it = v.find(rows[i]->words[k]);
      a[static_cast<int64_t>(i)][static_cast<int64_t>(k)] = it == v.end() ? kUnknown : it->second;
    }
  return t;
}

struct BilstmNetImpl : torch::nn::Module {
  BilstmNetImpl(int64_t vocab, int64_t dim, int64_t hidden, int64_t labels, double dropout) : p(dropout) {
    emb = register_module("emb", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab, dim).padding_idx(kPad)));
    lstm = register_module(
        "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(dim, hidden).num_layers(1).bidirectional(true).batch_first(true)));
    out = register_module("out", torch::nn::Linear(2 * hidden, labels));
  }
  torch::Tensor forward(const torch::Tensor& ids) {
    const auto x = torch::dropout(emb(ids), p, is_training());
    auto h = std::get<0>(lstm(x));
    h = h.masked_fill((ids == kPad).unsqueeze(-1), -1e4).amax(1);  // max over the words
    return out(torch::dropout(h, p, is_training()));
  }
  torch::nn::Embedding emb{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::Linear out{nullptr};
  double p;
};
TORCH_MODULE(BilstmNet);

// Label probabilities of `rows`, 100 at a time, in eval mode.
torch::Tensor probabilities(BilstmNet& net, const std::vector<const WordRow*>& rows, const Vocabulary& v) {
  net->eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (size_t s = 0; s < rows.size(); s += 100) {
    const std::vector<const WordRow*> chunk(rows.begin() + static_cast<std::ptrdiff_t>(s),
                                            rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), s + 100)));
    parts.push_back(torch::softmax(net->forward(word_ids(chunk, v)), -1));
  }
  net->train();
  return torch::cat(parts);
}

EvalReport report(const torch::Tensor& probs, const std::vector<const WordRow*>& rows,
                  const std::vector<std::string>& labels) {
  std::vector<int> gold;
  for (const auto* r : rows) gold.push_back(r->label);
  return evaluate_probabilities(probs, gold, labels);
}

// One BiLSTM trained on `train` from the options' seeds, as if it were its own run; `tag` names it
// in the log ("fold 2/5", "all rows").
BilstmNet train_model(const std::vector<const WordRow*>& train, const Vocabulary& vocab, const BilstmOptions& o,
                      const std::vector<std::string>& labels, const std::vector<const WordRow*>& eval_ptrs,
                      const std::string& tag, std::chrono::steady_clock::time_point t0) {
  torch::manual_seed(o.seed);
  std::mt19937 rng(static_cast<std::mt19937::result_type>(o.seed));
  BilstmNet net(static_cast<int64_t>(vocab.size()) + kFirstWord, o.embedding_dim, o.hidden,
                static_cast<int64_t>(labels.size()), o.dropout);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(o.lr));
  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    int64_t steps = 0;
    for (size_t s = 0; s < order.size(); s += static_cast<size_t>(o.batch_size)) {
      std::vector<const WordRow*> batch;
      std::vector<int64_t> gold;
      for (size_t i = s; i < std::min(order.size(), s + static_cast<size_t>(o.batch_size)); ++i) {
        batch.push_back(train[order[i]]);
        gold.push_back(train[order[i]]->label);
      }
      const auto loss = torch::nn::functional::cross_entropy(net->forward(word_ids(batch, vocab)), torch::tensor(gold));
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += loss.item<double>();
      ++steps;
    }
    std::cerr << tag << " epoch " << epoch << "/" << o.epochs << ": training loss "
              << loss_sum / static_cast<double>(std::max<int64_t>(1, steps));
    if (!eval_ptrs.empty()) {
      const EvalReport r = report(probabilities(net, eval_ptrs, vocab), eval_ptrs, labels);
      std::cerr << ", " << o.eval_data << " accuracy " << r.accuracy << " macro-F1 " << r.macro_f1;
    }
    std::cerr << " (" << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s)\n";
  }
  return net;
}

// One line per row of `ds`, {"text", "scores": {label: probability}}, written atomically.
void write_scores(const std::string& path, const Dataset& ds, const torch::Tensor& scores,
                  const std::vector<std::string>& labels) {
  std::string out;
  const auto acc = scores.accessor<float, 2>();
  for (size_t i = 0; i < ds.rows.size(); ++i) {
    nlohmann::ordered_json line, sc;
    line["text"] = ds.rows[i].text;
    for (size_t k = 0; k < labels.size(); ++k) sc[labels[k]] = acc[static_cast<int64_t>(i)][static_cast<int64_t>(k)];
    line["scores"] = sc;
    out += line.dump() + "\n";
  }
  write_file_atomic(path, out);
}

}  // namespace

int run_bilstm_scores(const BilstmOptions& o) {
  if (o.data.empty()) throw std::invalid_argument("--data is required");
  if (o.out.empty()) throw std::invalid_argument("--out is required (the scores file to write)");
  if (o.score.empty() && o.folds < 2) throw std::invalid_argument("--folds must be at least 2");
  torch::set_num_threads(std::max(1, o.threads));
  const std::vector<std::string> labels = o.labels.empty() ? default_emotion_labels() : o.labels;
  const DatasetOptions dopt{o.text_field, o.label_field, false, true, false};
  const Dataset ds = load_dataset(o.data, labels, dopt);
  const std::vector<WordRow> rows = split_words(ds);
  std::vector<WordRow> eval_rows;
  if (!o.eval_data.empty()) eval_rows = split_words(load_dataset(o.eval_data, labels, dopt));
  std::vector<const WordRow*> eval_ptrs, all;
  for (const auto& r : eval_rows) eval_ptrs.push_back(&r);
  for (const auto& r : rows) all.push_back(&r);
  const auto t0 = std::chrono::steady_clock::now();

  if (!o.score.empty()) {
    // One model on every row of --data; the texts of --score (labels not read) get its scores.
    const Dataset targets =
        load_dataset(o.score, labels, DatasetOptions{o.text_field, o.label_field, false, false, false});
    const std::vector<WordRow> target_rows = split_words(targets);
    std::vector<const WordRow*> target_ptrs;
    for (const auto& r : target_rows) target_ptrs.push_back(&r);
    const Vocabulary vocab = build_vocabulary(all);
    BilstmNet net = train_model(all, vocab, o, labels, eval_ptrs, "all rows", t0);
    write_scores(o.out, targets, probabilities(net, target_ptrs, vocab), labels);
    std::cerr << "scores of the " << targets.rows.size() << " texts of " << o.score << " from one model trained on the "
              << rows.size() << " rows of " << o.data << ": written to " << o.out << "\n";
    return 0;
  }

  if (ds.rows.size() < static_cast<size_t>(o.folds))
    throw Error(o.data + ": " + std::to_string(ds.rows.size()) + " rows for " + std::to_string(o.folds) + " folds");
  // Fold f holds the rows at positions f, f + k, f + 2k, ... of a shuffle drawn from fold_seed.
  std::vector<size_t> shuffled(rows.size());
  std::iota(shuffled.begin(), shuffled.end(), size_t{0});
  std::mt19937 fold_rng(static_cast<std::mt19937::result_type>(o.fold_seed));
  std::shuffle(shuffled.begin(), shuffled.end(), fold_rng);

  auto scores = torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(labels.size())});
  for (int fold = 0; fold < o.folds; ++fold) {
    std::vector<const WordRow*> train;
    std::vector<size_t> held;
    for (size_t i = 0; i < shuffled.size(); ++i) {
      if (static_cast<int>(i % static_cast<size_t>(o.folds)) == fold)
        held.push_back(shuffled[i]);
      else
        train.push_back(&rows[shuffled[i]]);
    }
    std::sort(held.begin(), held.end());
    std::vector<const WordRow*> held_rows;
    for (size_t h : held) held_rows.push_back(&rows[h]);

    const std::string tag = "fold " + std::to_string(fold + 1) + "/" + std::to_string(o.folds);
    const Vocabulary vocab = build_vocabulary(train);
    BilstmNet net = train_model(train, vocab, o, labels, eval_ptrs, tag, t0);
    const auto p = probabilities(net, held_rows, vocab);
    const EvalReport r = report(p, held_rows, labels);
    std::cerr << tag << ": its " << held.size() << " held-out rows, accuracy "
              << r.accuracy << " macro-F1 " << r.macro_f1 << "\n";
    for (size_t i = 0; i < held.size(); ++i) scores[static_cast<int64_t>(held[i])].copy_(p[static_cast<int64_t>(i)]);
  }

  const EvalReport r = report(scores, all, labels);
  std::cerr << "cross-fitted scores of " << rows.size() << " rows: accuracy " << r.accuracy << " macro-F1 "
            << r.macro_f1 << "; written to " << o.out << "\n";
  write_scores(o.out, ds, scores, labels);
  return 0;
}

}  // namespace emot5::train
