// Classifier (include/emot5/emot5.h): tokenizes, batches by length, runs the encoder once and
// scores each label by the summed log-probabilities of its tokens under teacher forcing.
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cmath>
#include <functional>
#include <numeric>

#include "text/labels.h"
#include "emot5/emot5.h"
#include "io/checkpoint.h"
#include "io/error.h"
#include "io/file_util.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "kernels/threads.h"
#include "model/t5.h"
#include "text/tokenizer.h"

namespace emot5 {

struct Classifier::Impl {
  std::string dir;
  ClassifierOptions opt;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<T5Model> model;
  LabelSet labels;
  std::vector<float> label_head;  // (n_labels, D): head rows of single-token labels

  // The ids the model reads (at most max_input_tokens, eos last); *truncated says whether the
  // text had more.
  std::vector<int> encode(std::string_view text, bool* truncated = nullptr) const {
    std::string with_prefix;
    if (!labels.prefix.empty()) {
      with_prefix = labels.prefix;
      with_prefix.append(text);
      text = with_prefix;
    }
    // One token more than the limit tells whether the limit cuts anything.
    auto ids = tok->encode(text, std::min(opt.max_input_tokens, INT_MAX - 1) + 1);
    const bool cut = ids.size() > static_cast<size_t>(opt.max_input_tokens);
    if (truncated) *truncated = cut;
    return cut ? tok->encode(text, opt.max_input_tokens) : ids;
  }
  // generate: greedy generation too (options' generate, or the call's).
  void classify_chunk(const std::vector<std::vector<int>>& seqs, Prediction* const* out, bool log_probs,
                      bool generate) const;
  void finish(Prediction& p, const std::vector<double>& log_probs) const;
};

namespace {

std::vector<int> trim_after_eos(std::vector<int> ids, int eos) {
  auto it = std::find(ids.begin() + 1, ids.end(), eos);
  if (it != ids.end()) ids.erase(it + 1, ids.end());
  return ids;
}

// Chunks of at most `bs` texts' indexes, taken in order of token length, so that a chunk's texts
// cost about the same; the shortest come first.
std::vector<std::vector<size_t>> length_chunks(const std::vector<std::vector<int>>& seqs, size_t bs) {
  std::vector<size_t> order(seqs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return seqs[a].size() < seqs[b].size(); });
  std::vector<std::vector<size_t>> chunks;
  for (size_t start = 0; start < order.size(); start += bs)
    chunks.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                        order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + bs)));
  return chunks;
}

// Runs fn(c) for chunks c = n-1 .. 0 (they come shortest first; the longest go first, so that
// the last ones, when one lane may wait for the other, are the shortest). With enough chunks
// each thread runs whole chunks on its own, side by side, so that a product needs no hand-off
// between threads. Else the chunks run one after another, each on every thread.
void run_chunks(size_t n, const std::function<void(size_t)>& fn) {
  const int threads = kernels::num_threads();
  if (threads > 1 && n >= 2 * static_cast<size_t>(threads))
    kernels::for_each_on_lanes(n, threads, [&](size_t i) { fn(n - 1 - i); });
  else
    for (size_t i = 0; i < n; ++i) fn(n - 1 - i);
}

}  // namespace

void Classifier::Impl::finish(Prediction& p, const std::vector<double>& log_probs) const {
  const size_t n = log_probs.size();
  p.probabilities.resize(n);
  const double mx = *std::max_element(log_probs.begin(), log_probs.end());
  for (double v : log_probs)
    if (!std::isfinite(v))
      throw Error(dir + ": the model's label scores are not finite (NaN or infinity): its weights overflow on this text");
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(log_probs[i] - mx);
  for (size_t i = 0; i < n; ++i) p.probabilities[i] = static_cast<float>(std::exp(log_probs[i] - mx) / sum);
  p.label_index = static_cast<int>(std::max_element(p.probabilities.begin(), p.probabilities.end()) -
                                   p.probabilities.begin());
  p.label = labels.names[static_cast<size_t>(p.label_index)];
}

void Classifier::Impl::classify_chunk(const std::vector<std::vector<int>>& seqs, Prediction* const* out,
                                      bool want_log_probs, bool generate) const {
  const int B = static_cast<int>(seqs.size());
  const T5Config& c = model->config();
  const int V = c.vocab_size, D = c.d_model;
  const size_t NL = labels.names.size();
  const EncoderOutput enc = model->encode(PackedBatch::from(seqs));
  std::vector<std::vector<double>> log_probs(B, std::vector<double>(NL, 0.0));

  if (labels.single_token()) {
    // The labels' scores from a first decoder step's state: with the whole head when log_probs
    // are asked for (the vocabulary's normalizer), else with only the labels' rows of the head,
    // since the normalizer cancels in the softmax over labels.
    auto score = [&](const DecoderState& st) {
      if (want_log_probs) {
        std::vector<float> lg(static_cast<size_t>(B) * V);
        model->logits(st, lg.data());
#pragma omp parallel for schedule(static) if (B > 1)
        for (int b = 0; b < B; ++b) {
          const float* row = &lg[static_cast<size_t>(b) * V];
          const double lse = kernels::log_softmax(row, V, nullptr);
          for (size_t l = 0; l < NL; ++l) log_probs[b][l] = row[labels.tokens[l][0]] - lse;
        }
        return;
      }
      std::vector<float> lg(static_cast<size_t>(B) * NL);
      kernels::gemm_nt(B, static_cast<int>(NL), D, st.hidden.data(), D, label_head.data(), D, lg.data(),
                       static_cast<int>(NL));
      for (int b = 0; b < B; ++b)
        for (size_t l = 0; l < NL; ++l) log_probs[b][l] = lg[b * NL + l];
    };
    if (generate) {
      const auto gen = model->generate(enc, opt.max_new_tokens, score);
      for (int b = 0; b < B; ++b) {
        out[b]->generated_ids = trim_after_eos(gen[b], c.eos_token_id);
        out[b]->generated = tok->decode(out[b]->generated_ids);
      }
    } else {
      DecoderState st = model->start_decoder(enc, 1);
      const std::vector<int> start(B, c.decoder_start_token_id);
      model->decode_step(st, start.data());
      score(st);
    }
    if (!want_log_probs) {  // the scores are logits, not log-probabilities: not reported
      for (int b = 0; b < B; ++b) finish(*out[b], log_probs[b]);
      return;
    }
  } else {
    // Teacher forcing per label: decoder inputs [start, t_1 .. t_{k-1}], targets t_1 .. t_k.
    std::vector<float> lg(static_cast<size_t>(B) * V);
    for (size_t l = 0; l < NL; ++l) {
      const auto& t = labels.tokens[l];
      DecoderState st = model->start_decoder(enc, static_cast<int>(t.size()));
      std::vector<int> in(B, c.decoder_start_token_id);
      for (size_t k = 0; k < t.size(); ++k) {
        model->decode_step(st, in.data());
        model->logits(st, lg.data());
        for (int b = 0; b < B; ++b) {
          const float* row = &lg[static_cast<size_t>(b) * V];
          log_probs[b][l] += row[t[k]] - kernels::log_softmax(row, V, nullptr);
        }
        std::fill(in.begin(), in.end(), t[k]);
      }
    }
    if (generate) {
      const auto gen = model->generate(enc, opt.max_new_tokens);
      for (int b = 0; b < B; ++b) {
        out[b]->generated_ids = trim_after_eos(gen[b], c.eos_token_id);
        out[b]->generated = tok->decode(out[b]->generated_ids);
      }
    }
  }
  for (int b = 0; b < B; ++b) {
    finish(*out[b], log_probs[b]);
    out[b]->log_probs = log_probs[b];
  }
}

Classifier::Classifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;
Classifier::~Classifier() = default;

Classifier Classifier::load(const std::string& model_dir, const ClassifierOptions& options) {
  if (options.max_input_tokens < 1) throw std::invalid_argument("max_input_tokens must be at least 1");
  if (options.batch_size < 1) throw std::invalid_argument("batch_size must be at least 1");
  if (options.max_new_tokens < 1) throw std::invalid_argument("max_new_tokens must be at least 1");
  if (options.threads < 0 || options.threads > kernels::max_threads())
    throw std::invalid_argument("threads " + std::to_string(options.threads) + ": must be 0 (every core) to " +
                                std::to_string(kernels::max_threads()) + " (4 × the " +
                                std::to_string(kernels::available_cores()) + " cores, at most 1024)");
  kernels::set_num_threads(options.threads);
  auto impl = std::make_unique<Impl>();
  impl->dir = model_dir;
  impl->opt = options;
  const Checkpoint ck = open_checkpoint(model_dir);
  if (ck.spiece_path.empty()) throw Error(model_dir + "/spiece.model: missing (the tokenizer needs it)");
  impl->tok = std::make_unique<Tokenizer>(ck.spiece_path, 100,
                                          options.slow_tokenizer ? TokenizerMode::HfSlow : TokenizerMode::HfFast);
  if (impl->tok->vocab_size() > ck.config.vocab_size)
    throw Error(model_dir + "/config.json: vocab_size " + std::to_string(ck.config.vocab_size) +
                " is smaller than the tokenizer's " + std::to_string(impl->tok->vocab_size()));
  impl->model = std::make_unique<T5Model>(ck.config, ck.weights, parse_precision(options.precision));
  impl->labels = load_label_set(ck.emot5_json, model_dir + "/emot5.json", *impl->tok);
  if (impl->labels.single_token()) {
    std::vector<int> first;
    for (const auto& t : impl->labels.tokens) first.push_back(t[0]);
    impl->label_head = impl->model->head_rows(first);
  }
  return Classifier(std::move(impl));
}

Prediction Classifier::classify(std::string_view text) const {
  kernels::set_num_threads(impl_->opt.threads);
  Prediction p;
  Prediction* out[] = {&p};
  bool truncated = false;
  impl_->classify_chunk({impl_->encode(text, &truncated)}, out, false, impl_->opt.generate);
  p.truncated = truncated;
  return p;
}

std::vector<Prediction> Classifier::classify_batch(const std::vector<std::string>& texts) const {
  return classify_batch(texts, impl_->opt.batch_size);
}

std::vector<Prediction> Classifier::classify_batch(const std::vector<std::string>& texts, int batch_size) const {
  return classify_batch(texts, batch_size, false);
}

std::vector<Prediction> Classifier::classify_batch(const std::vector<std::string>& texts, int batch_size,
                                                   bool log_probs) const {
  return classify_batch(texts, batch_size, log_probs, false);
}

std::vector<Prediction> Classifier::classify_batch(const std::vector<std::string>& texts, int batch_size,
                                                   bool log_probs, bool generate) const {
  if (batch_size < 1) throw std::invalid_argument("batch_size must be at least 1");
  kernels::set_num_threads(impl_->opt.threads);
  std::vector<std::vector<int>> seqs(texts.size());
  std::vector<Prediction> out(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) seqs[i] = impl_->encode(texts[i], &out[i].truncated);
  const auto chunks = length_chunks(seqs, static_cast<size_t>(batch_size));
  auto run = [&](size_t c) {
    std::vector<std::vector<int>> chunk;
    std::vector<Prediction*> dst;
    for (size_t i : chunks[c]) {
      chunk.push_back(std::move(seqs[i]));
      dst.push_back(&out[i]);
    }
    impl_->classify_chunk(chunk, dst.data(), log_probs, generate || impl_->opt.generate);
  };
  run_chunks(chunks.size(), run);
  return out;
}

std::vector<Generation> Classifier::generate(const std::vector<std::string>& texts, int max_new_tokens) const {
  if (max_new_tokens < 0) throw std::invalid_argument("max_new_tokens must not be negative");
  kernels::set_num_threads(impl_->opt.threads);
  std::vector<std::vector<int>> seqs;
  for (const auto& t : texts) seqs.push_back(impl_->encode(t));
  std::vector<Generation> out(texts.size());
  const auto chunks = length_chunks(seqs, static_cast<size_t>(impl_->opt.batch_size));
  run_chunks(chunks.size(), [&](size_t c) {
    const auto& idx = chunks[c];
    std::vector<std::vector<int>> chunk;
    for (size_t i : idx) chunk.push_back(seqs[i]);
    const auto gen = impl_->model->generate(impl_->model->encode(PackedBatch::from(chunk)), max_new_tokens);
    for (size_t k = 0; k < idx.size(); ++k) {
      auto& g = out[idx[k]];
      g.ids = trim_after_eos(gen[k], impl_->model->config().eos_token_id);
      g.text = impl_->tok->decode(g.ids);
    }
  });
  return out;
}

TokenizedText Classifier::tokenize(std::string_view text) const {
  std::string s = impl_->labels.prefix;
  s.append(text);
  auto e = impl_->tok->encode_with_pieces(s, impl_->opt.max_input_tokens);
  return TokenizedText{std::move(e.ids), std::move(e.pieces)};
}

const std::vector<std::string>& Classifier::labels() const { return impl_->labels.names; }
const ClassifierOptions& Classifier::options() const { return impl_->opt; }
const std::string& Classifier::model_dir() const { return impl_->dir; }
size_t Classifier::weight_bytes() const { return impl_->model->weight_bytes(); }

std::string default_model_dir() {
  if (const char* env = std::getenv("EMOT5_MODEL"); env && *env) return env;
  auto candidates = beside_binary({"/../share/emot5/models/emot5-small", "/models/emot5-small"});
#ifdef EMOT5_SOURCE_MODEL_DIR
  candidates.emplace_back(EMOT5_SOURCE_MODEL_DIR);
#endif
#ifdef EMOT5_INSTALLED_MODEL_DIR
  candidates.emplace_back(EMOT5_INSTALLED_MODEL_DIR);
#endif
  std::string looked;
  for (const auto& c : candidates) {
    if (file_exists(c + "/config.json")) return c;
    looked += (looked.empty() ? "" : ", ") + c;
  }
  throw Error("no default model (looked in " + looked + "): set EMOT5_MODEL to a model directory");
}

}  // namespace emot5
