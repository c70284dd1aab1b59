// The training loop (see trainer.h).
#include "train/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>

#include "classifier/chart.h"
#include "classifier/dataset.h"
#include "classifier/labels.h"
#include "classifier/metrics.h"
#include "io/checkpoint.h"
#include "io/error.h"
#include "io/file_util.h"
#include "io/json_util.h"
#include "io/progress.h"
#include "io/safetensors.h"
#include "text/tokenizer.h"
#include "train/checkpoint_io.h"
#include "train/denoise.h"
#include "train/local_heads.h"
#include "train/subword_sampling.h"
#include "train/word_vectors.h"

namespace emot5::train {

namespace fs = std::filesystem;

namespace {
// make_adamw's parameter groups, in order: decayed weights, layer norms, and (only with
// --embedding-lr-scale) the shared embedding, which optimizer_step steps at its own rate.
constexpr size_t kEmbeddingGroup = 2;
}  // namespace

double lr_factor(int64_t step, int64_t total, int64_t warmup, int64_t hold_from, double hold) {
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (hold_from >= 0) {
    if (step >= hold_from) return hold;
    return 1.0 - (1.0 - hold) * static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, hold_from - warmup));
  }
  return std::max(0.0, static_cast<double>(total - step) / static_cast<double>(std::max<int64_t>(1, total - warmup)));
}

StepStats optimizer_step(TorchT5& model, torch::optim::AdamW& opt, const TorchBatch& batch, const StepOptions& so) {
  auto& groups = opt.param_groups();
  for (size_t g = 0; g < groups.size(); ++g)
    static_cast<torch::optim::AdamWOptions&>(groups[g].options()).lr(g == kEmbeddingGroup ? so.lr * so.embedding_lr_scale : so.lr);
  opt.zero_grad();
  auto loss = model.loss(batch, true, so.loss);
  loss.backward();
  StepStats s;
  s.loss = loss.item<double>();
  const auto params = model.parameters();
  if (so.sam_rho > 0) {
    // Ascend to w + rho g/|g|, take the gradient there, come back to w.
    std::vector<torch::Tensor> moved, offsets;
    {
      torch::NoGradGuard no_grad;
      std::vector<torch::Tensor> grads;
      for (const auto& p : params)
        if (p.grad().defined()) {
          moved.push_back(p);
          grads.push_back(p.grad());
        }
      const double norm = torch::stack(torch::_foreach_norm(grads)).norm().item<double>();
      s.grad_norm = norm;
      const double scale = so.sam_rho / (norm + 1e-12);
      for (size_t i = 0; i < moved.size(); ++i) {
        offsets.push_back(grads[i] * scale);
        moved[i].add_(offsets[i]);
      }
    }
    opt.zero_grad();
    auto ascended = model.loss(batch, true, so.loss);
    ascended.backward();
    // A non-finite loss at w' would step the weights to NaN: report it, so the caller stops.
    if (const double l = ascended.item<double>(); !std::isfinite(l)) s.loss = l;
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < moved.size(); ++i) moved[i].sub_(offsets[i]);
    torch::nn::utils::clip_grad_norm_(params, so.max_grad_norm);
  } else {
    s.grad_norm = torch::nn::utils::clip_grad_norm_(params, so.max_grad_norm);
  }
  opt.step();
  return s;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(TorchT5& model, const TrainOptions& o) {
  std::vector<torch::Tensor> decay, no_decay;
  std::vector<torch::Tensor> embedding;
  const bool own_group = o.embedding_lr_scale != 1.0;
  for (const auto& n : model.names())
    if (model.param(n).requires_grad())
      (own_group && n == "shared.weight"           ? embedding
       : n.find("layer_norm") != std::string::npos ? no_decay
                                                   : decay)
          .push_back(model.param(n));
  auto opts = torch::optim::AdamWOptions(o.lr).betas({o.adam_beta1, o.adam_beta2}).eps(o.adam_eps);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(opts.weight_decay(o.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(opts.weight_decay(0.0)));
  if (!embedding.empty())  // groups[kEmbeddingGroup]
    groups.emplace_back(embedding, std::make_unique<torch::optim::AdamWOptions>(opts.weight_decay(o.weight_decay)));
  return std::make_unique<torch::optim::AdamW>(std::move(groups), opts);
}

T5Config preset_config(const std::string& name) {
  T5Config c;
  c.feed_forward_proj = "gated-gelu";
  c.dense_act_fn = "gelu_new";
  c.is_gated_act = true;
  c.tie_word_embeddings = false;
  c.scale_decoder_outputs = false;
  if (name == "flan-t5-small") {
    c.d_model = 512; c.d_kv = 64; c.num_heads = 6; c.d_ff = 1024; c.num_layers = 8; c.num_decoder_layers = 8;
  } else if (name == "emot5-small") {
    // The shipped default model: a wide-enough encoder, a one-layer decoder (it emits one word),
    // and a tied head to keep the vocabulary's cost once.
    c.d_model = 256; c.d_kv = 32; c.num_heads = 8; c.d_ff = 768; c.num_layers = 4; c.num_decoder_layers = 1;
    c.tie_word_embeddings = true; c.scale_decoder_outputs = true;
  } else if (name == "t5-tiny") {
    c.d_model = 64; c.d_kv = 16; c.num_heads = 4; c.d_ff = 128; c.num_layers = 2; c.num_decoder_layers = 1;
  } else {
    throw std::invalid_argument("unknown --preset '" + name + "' (emot5-small, t5-tiny, flan-t5-small)");
  }
  return c;
}

EvalReport evaluate_probabilities(const torch::Tensor& probs, const std::vector<int>& gold,
                                  const std::vector<std::string>& labels) {
  const auto [mx, am] = probs.to(torch::kCPU).max(1);
  const auto pred64 = am.contiguous();
  const auto conf32 = mx.to(torch::kFloat32).contiguous();
  std::vector<int> pred(pred64.data_ptr<int64_t>(), pred64.data_ptr<int64_t>() + pred64.numel());
  std::vector<float> conf(conf32.data_ptr<float>(), conf32.data_ptr<float>() + conf32.numel());
  return evaluate(labels, gold, pred, conf);
}

torch::Tensor read_teacher_scores(const std::string& path, const Dataset& data, const std::vector<std::string>& labels,
                                  double temperature) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the teacher's scores");
  const size_t N = data.rows.size(), K = labels.size();
  auto out = torch::empty({static_cast<int64_t>(N), static_cast<int64_t>(K)}, torch::kFloat32);
  auto acc = out.accessor<float, 2>();
  std::string line;
  size_t n = 0;
  std::vector<double> q(K);
  while (std::getline(in, line)) {
    const std::string where = path + ":" + std::to_string(++n);
    if (n > N) throw Error(where + ": more lines than the " + std::to_string(N) + " rows of " + data.path);
    const LabeledText& row = data.rows[n - 1];
    const auto j = parse_json_object(line, where);
    if (const auto t = j.find("text"); t != j.end() && (!t->is_string() || t->get<std::string>() != row.text))
      throw Error(where + ": its \"text\" is not the text of row " + std::to_string(n) + " (" + data.path + ":" +
                  std::to_string(row.line) + "); the scores must follow the data's rows in order");
    const auto scores = j.find("scores");
    if (scores == j.end() || !scores->is_object()) throw Error(where + ": no \"scores\" object");
    double sum = 0;
    for (size_t k = 0; k < K; ++k) {
      const auto v = scores->find(labels[k]);
      if (v == scores->end() || !v->is_number())
        throw Error(where + ": \"scores\" has no number for the label '" + labels[k] + "'");
      const double p = v->get<double>();
      if (!(p >= 0.0 && p <= 1.0))
        throw Error(where + ": the score of '" + labels[k] + "' is " + v->dump() + ", not a probability");
      q[k] = p > 0.0 ? std::exp(std::log(p) / temperature) : 0.0;
      sum += q[k];
    }
    if (!(sum > 0.0)) throw Error(where + ": every label's score is 0");
    for (size_t k = 0; k < K; ++k) acc[static_cast<int64_t>(n - 1)][static_cast<int64_t>(k)] = static_cast<float>(q[k] / sum);
  }
  if (n != N)
    throw Error(path + ": " + std::to_string(n) + " lines for the " + std::to_string(N) + " rows of " + data.path +
                " (one line of scores per row, in order)");
  return out;
}

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted = true; }

struct Encoded {
  std::vector<std::vector<int>> inputs;  // token ids with eos
  std::vector<int> labels;               // label index
  torch::Tensor soft;                    // (N, K) f32 on the CPU: the teachers' label distributions, or undefined
};

Encoded encode_dataset(const Dataset& ds, const Tokenizer& tok, const std::string& prefix, int max_tokens) {
  Encoded e;
  e.inputs.resize(ds.rows.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < ds.rows.size(); ++i) e.inputs[i] = tok.encode(prefix + ds.rows[i].text, max_tokens);
  for (const auto& r : ds.rows) e.labels.push_back(r.label);
  return e;
}

// Pads inputs to the longest in the batch; targets (ending in eos) are -100 beyond their end.
TorchBatch make_batch(const std::vector<const std::vector<int>*>& inputs, const std::vector<std::vector<int>>& targets,
                      int start_id, torch::Device dev) {
  const auto B = static_cast<int64_t>(inputs.size());
  int64_t L = 1, T = 1;
  for (int64_t b = 0; b < B; ++b) {
    L = std::max<int64_t>(L, static_cast<int64_t>(inputs[static_cast<size_t>(b)]->size()));
    T = std::max<int64_t>(T, static_cast<int64_t>(targets[static_cast<size_t>(b)].size()));
  }
  auto ids = torch::zeros({B, L}, torch::kInt64), mask = torch::zeros({B, L}, torch::kInt64);
  auto labels = torch::full({B, T}, -100, torch::kInt64), dec = torch::zeros({B, T}, torch::kInt64);
  auto a_ids = ids.accessor<int64_t, 2>(), a_mask = mask.accessor<int64_t, 2>();
  auto a_lab = labels.accessor<int64_t, 2>(), a_dec = dec.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& in = *inputs[static_cast<size_t>(b)];
    for (size_t j = 0; j < in.size(); ++j) {
      a_ids[b][static_cast<int64_t>(j)] = in[j];
      a_mask[b][static_cast<int64_t>(j)] = 1;
    }
    const auto& target = targets[static_cast<size_t>(b)];
    for (size_t t = 0; t < target.size(); ++t) {
      a_lab[b][static_cast<int64_t>(t)] = target[t];
      a_dec[b][static_cast<int64_t>(t)] = t == 0 ? start_id : target[t - 1];
    }
  }
  return TorchBatch{ids.to(dev), mask.to(dev), dec.to(dev), labels.to(dev), {}};
}

// Classification batch: targets are the label's tokens + eos. With input noise the inputs lose
// tokens (drop_tokens) and have others replaced by <unk> (mask_tokens), drawn from `rng`.
struct InputNoise {
  double token_dropout = 0.0, unk_dropout = 0.0;
  int unk_id = 2;
  const SubwordSampler* subwords = nullptr;  // re-cuts the words first
  int max_tokens = 0;
};

TorchBatch make_batch(const Encoded& data, const std::vector<size_t>& idx, const LabelSet& ls, int start_id,
                      torch::Device dev, const InputNoise& noise = {}, std::mt19937_64* rng = nullptr) {
  std::vector<std::vector<int>> dropped;
  if (noise.token_dropout > 0 || noise.unk_dropout > 0 || noise.subwords) {
    std::vector<int> cut;
    for (size_t i : idx) {
      const std::vector<int>* in = &data.inputs[i];  // re-cut only with subword regularization
      if (noise.subwords) in = &(cut = noise.subwords->sample(data.inputs[i], *rng, noise.max_tokens));
      dropped.push_back(mask_tokens(drop_tokens(*in, noise.token_dropout, 1, *rng), noise.unk_dropout, noise.unk_id, 1, *rng));
    }
  }
  std::vector<const std::vector<int>*> inputs;
  std::vector<std::vector<int>> targets;
  for (size_t k = 0; k < idx.size(); ++k) {
    const size_t i = idx[k];
    inputs.push_back(dropped.empty() ? &data.inputs[i] : &dropped[k]);
    targets.push_back(ls.tokens[static_cast<size_t>(data.labels[i])]);
    targets.back().push_back(1);  // eos
  }
  auto batch = make_batch(inputs, targets, start_id, dev);
  if (data.soft.defined()) {
    const std::vector<int64_t> rows(idx.begin(), idx.end());
    batch.soft_targets = data.soft.index_select(0, torch::tensor(rows, torch::kInt64)).to(dev);
  }
  return batch;
}

// Self-supervised batch (span corruption or prefix LM, by --objective); the noise or the cut is a
// function of `rng` only (seeded per step by the caller), so a resumed run stays exact.
TorchBatch make_denoise_batch(const Encoded& data, const std::vector<size_t>& idx, const TrainOptions& o,
                              int first_sentinel, int start_id, std::mt19937_64& rng, torch::Device dev) {
  const bool prefix_lm = o.objective == "prefix-lm";
  std::vector<DenoiseExample> ex;
  for (size_t i : idx)
    ex.push_back(prefix_lm ? prefix_split(data.inputs[i], 1, rng)
                           : span_corrupt(data.inputs[i], o.noise_density, o.mean_noise_span, first_sentinel, 1, rng));
  std::vector<const std::vector<int>*> inputs;
  std::vector<std::vector<int>> targets;
  for (auto& e : ex) {
    inputs.push_back(&e.input);
    targets.push_back(std::move(e.target));
  }
  return make_batch(inputs, targets, start_id, dev);
}

// Mean self-supervised loss over `data` (fixed noise or cuts from `seed`), in batches of 64.
double evaluate_denoise(TorchT5& model, const Encoded& data, const TrainOptions& o, int first_sentinel,
                        uint64_t seed, torch::Device dev) {
  torch::NoGradGuard no_grad;
  std::mt19937_64 rng(seed);
  double sum = 0;
  int64_t tokens = 0;
  std::vector<size_t> idx;
  for (size_t s = 0; s < data.inputs.size(); s += 64) {
    idx.clear();
    for (size_t i = s; i < std::min(data.inputs.size(), s + 64); ++i) idx.push_back(i);
    const auto b = make_denoise_batch(data, idx, o, first_sentinel, model.config().decoder_start_token_id, rng, dev);
    const int64_t n = (b.labels != -100).sum().item<int64_t>();
    sum += model.loss(b, false).item<double>() * static_cast<double>(n);
    tokens += n;
  }
  return sum / static_cast<double>(std::max<int64_t>(1, tokens));
}

// Each label's first token, in label order: what the first decoder step scores.
std::vector<int64_t> first_tokens(const LabelSet& ls) {
  std::vector<int64_t> first;
  for (const auto& t : ls.tokens) first.push_back(t[0]);
  return first;
}

// The labels' first tokens, sorted, each once.
std::vector<int64_t> distinct_first_tokens(const LabelSet& ls) {
  auto first = first_tokens(ls);
  std::sort(first.begin(), first.end());
  first.erase(std::unique(first.begin(), first.end()), first.end());
  return first;
}

// The first decoder step's distribution over the labels' first tokens at `temperature`, for every
// text of `data` (N, K), in data order, on the CPU; batches of 64 texts of similar lengths.
torch::Tensor label_probabilities(TorchT5& model, const Encoded& data, const LabelSet& ls, torch::Device dev,
                                  double temperature = 1.0) {
  torch::NoGradGuard no_grad;
  const auto label_ids = torch::tensor(first_tokens(ls), torch::kInt64).to(dev);
  std::vector<size_t> order(data.inputs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return data.inputs[a].size() < data.inputs[b].size(); });
  auto out = torch::zeros({static_cast<int64_t>(order.size()), label_ids.size(0)}, torch::kFloat32);
  const size_t bs = 64;
  for (size_t s = 0; s < order.size(); s += bs) {
    const std::vector<size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(s),
                                  order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + bs)));
    const auto b = make_batch(data, idx, ls, model.config().decoder_start_token_id, dev);
    const auto logits = model.first_step_logits(b.input_ids, b.attention_mask).index_select(1, label_ids);
    const std::vector<int64_t> rows(idx.begin(), idx.end());
    out.index_copy_(0, torch::tensor(rows, torch::kInt64), torch::softmax(logits.to(torch::kFloat32) / temperature, -1).to(torch::kCPU));
  }
  return out;
}

// Accuracy and F1 on `data` from the first decoder step's label logits (single-token labels).
EvalReport evaluate_model(TorchT5& model, const Encoded& data, const LabelSet& ls, torch::Device dev) {
  return evaluate_probabilities(label_probabilities(model, data, ls, dev), data.labels, ls.names);
}

// --teacher: each teacher's checkpoint, opened before the data is read. Each must read the texts
// as the student does (the same spiece.model).
std::vector<Checkpoint> open_teachers(const TrainOptions& o, const std::string& spiece) {
  if (o.teachers.empty()) return {};
  const std::string student_spiece = read_file(spiece);
  std::vector<Checkpoint> teachers;
  for (const auto& dir : o.teachers) {
    teachers.push_back(open_checkpoint(dir));
    const std::string& sp = teachers.back().spiece_path;
    if (sp.empty()) throw Error("--teacher " + dir + ": no spiece.model in the directory");
    if (read_file(sp) != student_spiece)
      throw Error("--teacher " + dir + ": its spiece.model differs from the student's tokenizer (" + spiece +
                  "); a teacher must read the texts with the same pieces");
  }
  return teachers;
}

// The share of rows whose most probable label in `p` (rows, labels) is their training label.
double top_label_agreement(const torch::Tensor& p, const Encoded& train) {
  return (p.argmax(1) == torch::tensor(train.labels, torch::kInt64)).to(torch::kFloat64).mean().item<double>();
}

// The sum of the teachers' label distributions on `train` at the distillation temperature.
torch::Tensor teacher_targets(const std::vector<Checkpoint>& teachers, double temperature, const Encoded& train,
                              const LabelSet& ls, torch::Device dev) {
  torch::Tensor sum;
  for (const auto& ck : teachers) {
    const auto t0 = std::chrono::steady_clock::now();
    TorchT5 teacher(ck.config, *ck.weights);
    teacher.to(dev);
    const auto p = label_probabilities(teacher, train, ls, dev, temperature);
    const double agree = top_label_agreement(p, train);
    std::cerr << "--teacher " << ck.dir << ": label distributions of " << train.inputs.size() << " training texts in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
              << " s; its top label is the training label for " << 100.0 * agree << "% of them\n";
    sum = sum.defined() ? sum + p : p;
  }
  return sum;
}

// Sorts runs of 50 batches by length, then shuffles the order of the batches (not their content).
void group_by_length(std::vector<size_t>& perm, const Encoded& data, size_t bs, std::mt19937_64& rng) {
  const size_t mega = 50 * bs;
  for (size_t s = 0; s < perm.size(); s += mega) {
    const auto e = perm.begin() + static_cast<std::ptrdiff_t>(std::min(perm.size(), s + mega));
    std::stable_sort(perm.begin() + static_cast<std::ptrdiff_t>(s), e,
                     [&](size_t a, size_t b) { return data.inputs[a].size() > data.inputs[b].size(); });
  }
  const size_t nb = (perm.size() + bs - 1) / bs;
  std::vector<size_t> order(nb);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<size_t> out;
  out.reserve(perm.size());
  for (size_t b : order)
    for (size_t i = b * bs; i < std::min(perm.size(), (b + 1) * bs); ++i) out.push_back(perm[i]);
  perm.swap(out);
}

// Running mean of parameters (stochastic weight averaging).
void accumulate_average(std::shared_ptr<MemoryTensors>& avg, int64_t& count, const MemoryTensors& now) {
  if (!avg || count == 0) {
    avg = std::make_shared<MemoryTensors>(now);
    count = 1;
    return;
  }
  ++count;
  auto next = std::make_shared<MemoryTensors>();
  for (const auto& n : now.names()) {
    const auto a = to_f32(*avg->find(n)), b = to_f32(*now.find(n));
    std::vector<float> m(a.size());
    for (size_t i = 0; i < a.size(); ++i) m[i] = a[i] + (b[i] - a[i]) / static_cast<float>(count);
    next->add_f32(n, now.find(n)->shape, m);
  }
  avg = next;
}

// Reads the `rare` ids of every text as `unk_id`.
void map_to_unk(Encoded& data, const std::vector<int>& rare, int unk_id) {
  if (rare.empty()) return;
  const int top = rare.back();
  std::vector<char> is_rare(static_cast<size_t>(top) + 1, 0);
  for (int id : rare) is_rare[static_cast<size_t>(id)] = 1;
  for (auto& t : data.inputs)
    for (int& id : t)
      if (id <= top && is_rare[static_cast<size_t>(id)]) id = unk_id;
}

// `weights` with the embedding rows of the `rare` ids replaced by <unk>'s row, so the saved model
// reads those words as training did.
std::shared_ptr<MemoryTensors> with_unk_rows(const MemoryTensors& weights, const std::vector<int>& rare, int unk_id) {
  auto out = std::make_shared<MemoryTensors>();
  for (const auto& n : weights.names()) {
    const auto t = *weights.find(n);
    if (n != "shared.weight") {
      out->add(n, t.dtype, t.shape, std::vector<std::byte>(t.data, t.data + t.nbytes));
      continue;
    }
    auto v = to_f32(t);
    const auto d = static_cast<size_t>(t.shape[1]);
    for (int id : rare)
      std::copy_n(v.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(unk_id) * d), d,
                  v.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(id) * d));
    out->add_f32(n, t.shape, v);
  }
  return out;
}

// T5's spiece.model: in the source tree emot5 was built from, else where `cmake --install` put it.
std::string default_tokenizer() {
#ifdef EMOT5_DATA_DIR
  const std::string source = std::string(EMOT5_DATA_DIR) + "/t5-tokenizer/spiece.model";
#else
  const std::string source = "data/t5-tokenizer/spiece.model";
#endif
#ifdef EMOT5_INSTALLED_DATA_DIR
  if (!file_exists(source)) return std::string(EMOT5_INSTALLED_DATA_DIR) + "/t5-tokenizer/spiece.model";
#endif
  return source;
}

}  // namespace

int run_training(const TrainOptions& cli) {
  TrainOptions o = cli;
  std::string resume_dir;
  nlohmann::json resume_state;
  if (!cli.resume.empty()) {
    resume_dir = latest_checkpoint(cli.resume);
    resume_state = read_trainer_state(resume_dir);
    o = options_from_json(resume_state["options"]);
    o.out = cli.resume;
    o.threads = cli.threads;
    o.device = cli.device;
    o.stop_after = cli.stop_after;
    const auto at = resume_state["step"].get<int64_t>();
    if (o.stop_after > 0 && o.stop_after <= at)
      throw std::invalid_argument("--stop-after " + std::to_string(o.stop_after) + ": the run in " + cli.resume +
                                  " is at step " + std::to_string(at) + " already (steps count from the run's start)");
  }
  if (o.out.empty()) throw std::invalid_argument("--out DIR is required");
  if (o.data.empty()) throw std::invalid_argument("--data FILE is required");
  if (o.batch_size < 1) throw std::invalid_argument("--batch-size must be at least 1");
  if ((o.reinit_decoder || o.reinit_encoder) && o.init.empty())
    throw std::invalid_argument(std::string(o.reinit_decoder ? "--reinit-decoder" : "--reinit-encoder") + " needs --init");
  if (!o.word_vectors.empty() && !o.init.empty())
    throw std::invalid_argument("--word-vectors starts a fresh model's embedding (--preset or --config); with --init it "
                                "would overwrite the checkpoint's rows");
  if (!o.local_heads.empty() && !o.init.empty())
    throw std::invalid_argument("--local-heads starts a fresh model's heads (--preset or --config); with --init it "
                                "would overwrite the checkpoint's position bias");
  if (o.class_weights != "none" && o.class_weights != "balanced")
    throw std::invalid_argument("--class-weights must be none or balanced");
  // Self-supervised pre-training on the texts alone: span corruption or prefix LM.
  const bool denoise = o.objective == "denoise" || o.objective == "prefix-lm";
  if (!denoise && o.objective != "classify")
    throw std::invalid_argument("--objective must be classify, denoise or prefix-lm");
  if (denoise && o.class_weights != "none") throw std::invalid_argument("--class-weights needs --objective classify");
  const TrainOptions defaults;  // options that only one setting reads must keep their defaults without it
  if (o.local_heads.empty() && o.local_bias != defaults.local_bias)
    throw std::invalid_argument("--local-bias needs --local-heads");
  if (o.objective != "denoise") {  // span corruption's own settings
    if (o.noise_density != defaults.noise_density) throw std::invalid_argument("--noise-density needs --objective denoise");
    if (o.mean_noise_span != defaults.mean_noise_span)
      throw std::invalid_argument("--mean-noise-span needs --objective denoise");
  }
  if (o.smooth_over != "vocab" && o.smooth_over != "labels")
    throw std::invalid_argument("--smooth-over must be vocab or labels");
  if (denoise && o.smooth_over == "labels") throw std::invalid_argument("--smooth-over needs --objective classify to smooth over the labels");
  if (denoise && o.token_dropout > 0) throw std::invalid_argument("--token-dropout needs --objective classify");
  if (denoise && o.subword_nbest > 0) throw std::invalid_argument("--subword-nbest needs --objective classify");
  if (denoise && !o.teachers.empty()) throw std::invalid_argument("--teacher needs --objective classify");
  if (denoise && !o.teacher_scores.empty()) throw std::invalid_argument("--teacher-scores needs --objective classify");
  if (o.teachers.empty() && o.teacher_scores.empty()) {  // distillation's own settings
    if (o.distill_weight != defaults.distill_weight)
      throw std::invalid_argument("--distill-weight needs --teacher or --teacher-scores");
    if (o.distill_temperature != defaults.distill_temperature)
      throw std::invalid_argument("--distill-temperature needs --teacher or --teacher-scores");
  }
  if (o.swa_lr < 0) throw std::invalid_argument("--swa-lr must not be negative");
  if (o.swa_lr > 0 && o.lr <= 0) throw std::invalid_argument("--swa-lr needs a positive --lr");
  if (o.swa_lr > 0 && o.average_from_epoch <= 0)
    throw std::invalid_argument("--swa-lr needs --average-from-epoch (the epoch from which the rate is held)");
  for (auto& t : o.teachers) t = fs::absolute(t).string();
  for (auto& t : o.teacher_scores) t = fs::absolute(t).string();
  if (denoise && (o.unk_below > 0 || o.unk_dropout > 0))
    throw std::invalid_argument(std::string(o.unk_below > 0 ? "--unk-below" : "--unk-dropout") + " needs --objective classify");
  if (o.threads > 0) torch::set_num_threads(o.threads);
  const torch::Device dev(o.device);
  if (dev.is_cuda() && !torch::cuda::is_available()) throw Error("--device cuda: no CUDA device is available");

  // Model and tokenizer.
  T5Config config;
  std::unique_ptr<TorchT5> model;
  std::string spiece = o.tokenizer;
  if (!resume_dir.empty()) {
    config = load_t5_config(resume_dir + "/config.json");
    model = std::make_unique<TorchT5>(config, SafetensorsFile(resume_dir + "/model.safetensors"));
  } else if (!o.init.empty()) {
    const Checkpoint ck = open_checkpoint(o.init);
    config = ck.config;
    if (spiece.empty()) spiece = ck.spiece_path;
    model = std::make_unique<TorchT5>(config, *ck.weights);
    if (o.reinit_decoder || o.reinit_encoder) {
      TorchT5 fresh(config, o.seed);
      torch::NoGradGuard no_grad;
      int n = 0;
      for (const auto& name : model->names()) {
        const bool dec = name.rfind("decoder.", 0) == 0 || (name == "lm_head.weight" && !config.tie_word_embeddings);
        const bool enc = name.rfind("encoder.", 0) == 0 && name != "encoder.embed_tokens.weight";
        if ((dec && o.reinit_decoder) || (enc && o.reinit_encoder)) {
          model->param(name).copy_(fresh.param(name));
          ++n;
        }
      }
      std::cerr << (o.reinit_encoder ? "encoder " : "") << (o.reinit_encoder && o.reinit_decoder ? "and " : "")
                << (o.reinit_decoder ? "decoder " : "") << "drawn afresh (" << n << " tensors); the rest from "
                << o.init << "\n";
    }
  } else {
    config = o.config_file.empty() ? preset_config(o.preset.empty() ? "emot5-small" : o.preset)
                                   : load_t5_config(o.config_file);
    model = std::make_unique<TorchT5>(config, o.seed);
  }
  if (spiece.empty()) spiece = default_tokenizer();
  o.tokenizer = fs::absolute(spiece).string();
  if (o.dropout >= 0) {
    config.dropout_rate = static_cast<float>(o.dropout);
    model->set_dropout(config.dropout_rate);
  }
  model->to(dev);
  const Tokenizer tok(spiece);
  if (!o.word_vectors.empty() && resume_dir.empty()) {
    std::vector<std::string> pieces(static_cast<size_t>(std::min<int64_t>(tok.vocab_size(), config.vocab_size)));
    for (size_t i = 0; i < pieces.size(); ++i) pieces[i] = tok.id_to_piece(static_cast<int>(i));
    const PieceVectors pv = read_piece_vectors(o.word_vectors, pieces);
    place_piece_vectors(model->param("shared.weight"), pv, 1.0, o.seed);
    std::cerr << "--word-vectors: " << pv.ids.size() << " of " << config.vocab_size << " pieces start from "
              << pv.dim << "-dimensional vectors (" << pv.words << " in " << o.word_vectors << ")\n";
  }
  if (!o.local_heads.empty() && resume_dir.empty()) {
    set_local_heads(model->param(kEncoderPositionBias),
                    o.local_heads, o.local_bias, config.relative_attention_num_buckets,
                    config.relative_attention_max_distance);
    std::cerr << "--local-heads: encoder heads 0-" << o.local_heads.size() - 1 << " start at bias " << o.local_bias
              << " on their offsets\n";
  }
  if (o.freeze_embedding) model->param("shared.weight").requires_grad_(false);
  std::vector<std::string> names = o.labels.empty() ? default_emotion_labels() : o.labels;
  const LabelSet ls = load_label_set(label_set_json(names, o.prefix), "labels", tok);
  // Distillation compares the first decoder step's distributions over the labels' first tokens.
  if ((!o.teachers.empty() || !o.teacher_scores.empty()) && distinct_first_tokens(ls).size() != ls.tokens.size())
    throw std::invalid_argument(std::string(o.teachers.empty() ? "--teacher-scores" : "--teacher") +
                                " needs labels whose first tokens differ (distillation compares the first decoder "
                                "step's distributions over the label words' first tokens)");
  std::vector<Checkpoint> teachers = open_teachers(o, spiece);
  const ModelFiles files = model_files(spiece, ls.names, ls.prefix, default_tokenizer());

  // Data.
  DatasetOptions dopt{o.text_field, o.label_field, o.skip_bad_rows, !denoise, true};
  const int first_sentinel = tok.encode_plain("<extra_id_0>").front();
  const Dataset train_ds = load_dataset(o.data, ls.names, dopt);
  if (train_ds.bad_rows) std::cerr << "skipped " << train_ds.bad_rows << " bad row(s) of " << o.data << "\n";
  Encoded train = encode_dataset(train_ds, tok, ls.prefix, o.max_input_tokens);
  if (!teachers.empty()) {
    train.soft = teacher_targets(teachers, o.distill_temperature, train, ls, dev);
    teachers.clear();
  }
  if (!o.teacher_scores.empty()) {
    if (train_ds.bad_rows)
      throw Error("--teacher-scores needs " + o.data + " without bad rows: its scores are matched to the rows by position");
    for (const auto& path : o.teacher_scores) {
      const auto p = read_teacher_scores(path, train_ds, ls.names, o.distill_temperature);
      std::cerr << "--teacher-scores " << path << ": its top label is the training label for "
                << 100.0 * top_label_agreement(p, train)
                << "% of the " << train.labels.size() << " training texts\n";
      train.soft = train.soft.defined() ? train.soft + p : p;
    }
  }
  if (train.soft.defined()) train.soft /= static_cast<double>(o.teachers.size() + o.teacher_scores.size());
  Encoded eval;
  if (!o.eval_data.empty()) {
    const Dataset eval_ds = load_dataset(o.eval_data, ls.names, dopt);
    eval = encode_dataset(eval_ds, tok, ls.prefix, o.max_input_tokens);
  }
  std::vector<int> rare;  // --unk-below: read as <unk>, saved with <unk>'s embedding
  if (o.unk_below > 0) {
    std::vector<int> keep{tok.pad_id(), tok.eos_id(), tok.unk_id()};
    for (const auto& t : ls.tokens) keep.insert(keep.end(), t.begin(), t.end());
    rare = rare_tokens(train.inputs, o.unk_below, static_cast<int>(config.vocab_size), keep);
    map_to_unk(train, rare, tok.unk_id());
    map_to_unk(eval, rare, tok.unk_id());
    std::cerr << "--unk-below " << o.unk_below << ": " << rare.size() << " of " << config.vocab_size
              << " token ids read as <unk>\n";
  }
  std::unique_ptr<SubwordSampler> subwords;
  if (o.subword_nbest > 0) {
    subwords = std::make_unique<SubwordSampler>(tok, o.subword_nbest, o.subword_alpha);
    const double rate = subwords->prepare(train.inputs);
    std::cerr << "--subword-nbest " << o.subword_nbest << " --subword-alpha " << o.subword_alpha << ": "
              << 100.0 * rate << "% of the training words re-cut on average\n";
  }
  const InputNoise noise{o.token_dropout, o.unk_dropout, tok.unk_id(), subwords.get(), o.max_input_tokens};
  LossOptions loss_options;
  loss_options.label_smoothing = o.label_smoothing;
  if (o.smooth_over == "labels") {
    loss_options.smooth_ids = torch::tensor(distinct_first_tokens(ls), torch::kInt64).to(dev);
  }
  if (train.soft.defined()) {
    loss_options.distill_ids = torch::tensor(first_tokens(ls), torch::kInt64).to(dev);
    loss_options.distill_weight = o.distill_weight;
    loss_options.distill_temperature = o.distill_temperature;
  }
  if (o.class_weights == "balanced") {
    std::vector<float> w(static_cast<size_t>(config.vocab_size), 1.0f);
    std::vector<int> count(ls.names.size(), 0);
    for (int l : train.labels) count[static_cast<size_t>(l)]++;
    for (size_t k = 0; k < ls.names.size(); ++k)
      w[static_cast<size_t>(ls.tokens[k][0])] =
          static_cast<float>(train.labels.size()) / static_cast<float>(ls.names.size() * std::max(1, count[k]));
    loss_options.class_weight = torch::tensor(w).to(dev);
  }

  const auto N = static_cast<int64_t>(train.inputs.size());
  const int64_t per_epoch = (N + o.batch_size - 1) / o.batch_size;
  const int64_t total = o.max_steps > 0 ? o.max_steps : per_epoch * o.epochs;
  // The rate at a step; with --swa-lr it is held from the first averaged epoch on.
  const int64_t hold_from = o.swa_lr > 0 ? (o.average_from_epoch - 1) * per_epoch : -1;
  const double hold = o.swa_lr > 0 ? o.swa_lr / o.lr : 0.0;
  const auto lr_at = [&](int64_t at) { return o.lr * lr_factor(at, total, o.warmup_steps, hold_from, hold); };
  auto opt = make_adamw(*model, o);
  int64_t step = 0;
  double best_metric = -1;
  int64_t best_step = -1;
  std::shared_ptr<MemoryTensors> best, average;
  int64_t avg_count = 0;
  if (!resume_dir.empty()) {
    load_optimizer_state(resume_dir, *model, *opt);
    step = resume_state["step"].get<int64_t>();
    best_metric = resume_state.value("best_metric", -1.0);
    best_step = resume_state.value("best_step", int64_t{-1});
    avg_count = resume_state.value("average_count", int64_t{0});
    if (avg_count > 0) average = TorchT5(config, SafetensorsFile(resume_dir + "/average.safetensors")).state_dict();
    if (file_exists(resume_dir + "/best.safetensors")) {
      const SafetensorsFile bf(resume_dir + "/best.safetensors");
      best = TorchT5(config, bf).state_dict();
    }
    std::cerr << "resuming " << resume_dir << " at step " << step << " of " << total << "\n";
  }
  fs::create_directories(o.out);
  write_file_atomic(o.out + "/training_args.json", options_to_json(o).dump(2) + "\n");
  std::ofstream metrics_log(o.out + "/metrics.jsonl", std::ios::app);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  Progress progress("train", static_cast<size_t>(total), true, 30.0);
  progress.set_done(static_cast<size_t>(step));
  const int64_t start_step = step;
  const auto t0 = std::chrono::steady_clock::now();
  double loss_sum = 0;
  int64_t loss_n = 0;
  std::vector<size_t> perm;
  int64_t perm_epoch = -1;
  // Evaluation: validation macro-F1 when classifying, minus the self-supervised loss when pre-training
  // (higher is better for both); `fields` gets what the metrics log records.
  const std::string loss_name = o.objective == "prefix-lm" ? "prefix-LM loss" : "denoising loss";
  const std::string metric_name = denoise ? "minus " + loss_name : "macro-F1";
  auto score = [&](TorchT5& m, nlohmann::ordered_json& fields, std::string& line) {
    if (denoise) {
      const double l = evaluate_denoise(m, eval, o, first_sentinel, o.seed, dev);
      fields["eval_loss"] = l;
      line = loss_name + " " + std::to_string(l);
      return -l;
    }
    const auto r = evaluate_model(m, eval, ls, dev);
    fields["eval_accuracy"] = r.accuracy;
    fields["eval_macro_f1"] = r.macro_f1;
    fields["eval_weighted_f1"] = r.weighted_f1;
    fields["eval_ece"] = r.ece;
    line = "accuracy " + std::to_string(r.accuracy) + " macro-F1 " + std::to_string(r.macro_f1);
    return r.macro_f1;
  };
  double last_eval = -1e300;  // the latest evaluation's metric
  auto evaluate_now = [&](int64_t at) {
    if (eval.inputs.empty()) return;
    nlohmann::ordered_json j;
    j["step"] = at;
    j["epoch"] = static_cast<double>(at) / static_cast<double>(per_epoch);
    j["lr"] = lr_at(at);
    if (loss_n > 0) j["train_loss"] = loss_sum / static_cast<double>(loss_n);
    std::string line;
    const double metric = score(*model, j, line);
    last_eval = metric;
    j["elapsed_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    metrics_log << j.dump() << "\n" << std::flush;
    write_file_atomic(o.out + "/metrics.svg", training_curves_svg(o.out + "/metrics.jsonl", "emot5 train: " + o.out));
    std::cerr << "\neval step " << at << ": " << line << "\n";
    if (o.keep_best && metric > best_metric) {
      best_metric = metric;
      best_step = at;
      best = model->state_dict();
    }
  };
  auto checkpoint = [&](int64_t at) {
    save_checkpoint(o.out, at, *model, *opt, o,
                    {{"best_metric", best_metric}, {"best_step", best_step}, {"total_steps", total},
                     {"average_count", avg_count}},
                    best.get(), average.get(), files);
  };

  bool stopped = false;
  while (step < total) {
    const int64_t epoch = step / per_epoch, pos = step % per_epoch;
    if (epoch != perm_epoch) {
      perm.resize(static_cast<size_t>(N));
      std::iota(perm.begin(), perm.end(), 0);
      if (!o.no_shuffle) {
        std::mt19937_64 rng(o.seed * 1000003ull + static_cast<uint64_t>(epoch));
        std::shuffle(perm.begin(), perm.end(), rng);
        if (o.group_by_length) group_by_length(perm, train, static_cast<size_t>(o.batch_size), rng);
      }
      perm_epoch = epoch;
    }
    const auto b0 = static_cast<size_t>(pos * o.batch_size);
    std::vector<size_t> idx(perm.begin() + static_cast<std::ptrdiff_t>(b0),
                            perm.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(perm.size(), b0 + static_cast<size_t>(o.batch_size))));
    // Input noise (span corruption, token dropout): a function of (seed, step).
    std::mt19937_64 noise_rng(o.seed * 104729ull + static_cast<uint64_t>(step));
    const auto batch = denoise ? make_denoise_batch(train, idx, o, first_sentinel, config.decoder_start_token_id, noise_rng, dev)
                               : make_batch(train, idx, ls, config.decoder_start_token_id, dev, noise, &noise_rng);
    torch::manual_seed(o.seed * 7919ull + static_cast<uint64_t>(step));  // dropout: a function of (seed, step)
    const double lr = lr_at(step);
    const auto s = optimizer_step(*model, *opt, batch,
                                  {.lr = lr, .max_grad_norm = o.max_grad_norm, .loss = loss_options,
                                   .embedding_lr_scale = o.embedding_lr_scale, .sam_rho = o.sam_rho});
    if (!std::isfinite(s.loss)) throw Error("training diverged at step " + std::to_string(step) + " (loss is not finite)");
    ++step;
    loss_sum += s.loss;
    ++loss_n;
    char note[96];
    std::snprintf(note, sizeof note, "loss %.4f lr %.2e %.0f samples/s", loss_sum / static_cast<double>(loss_n), lr,
                  static_cast<double>(step * o.batch_size) /
                      std::max(1e-9, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
    progress.add(1, note);
    if (o.average_from_epoch > 0 && step % per_epoch == 0 && step / per_epoch >= o.average_from_epoch)
      accumulate_average(average, avg_count, *model->state_dict());
    if (o.eval_every > 0 && step % o.eval_every == 0 && step < total) evaluate_now(step);
    // (Not at the last step: the final evaluation reports the loss since the last reset.)
    if (o.log_every > 0 && step % o.log_every == 0 && step < total) {
      loss_sum = 0;
      loss_n = 0;
    }
    if (o.save_every > 0 && step % o.save_every == 0 && step < total) checkpoint(step);
    if ((o.stop_after > 0 && step >= o.stop_after && step < total) || g_interrupted) {
      checkpoint(step);
      stopped = true;
      break;
    }
  }
  progress.finish();
  const int64_t steps_run = step - start_step;
  const double train_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (steps_run > 0)
    std::cerr << steps_run << " steps in " << train_secs << " s: " << train_secs / static_cast<double>(steps_run)
              << " s/step at batch " << o.batch_size << "\n";
  if (stopped) {
    std::cerr << (g_interrupted ? "interrupted" : "stopped") << " at step " << step << " of " << total
              << "; resume with: emot5 train --resume " << o.out << "\n";
    return g_interrupted ? 130 : 0;
  }
  evaluate_now(step);
  checkpoint(step);
  auto final_weights = (o.keep_best && best) ? best : model->state_dict();
  if (average && !eval.inputs.empty()) {
    // The averaged weights replace the final ones when validation prefers them.
    TorchT5 avg_model(config, *average);
    avg_model.to(dev);
    nlohmann::ordered_json j;
    j["step"] = step;
    j["average_of_epochs"] = avg_count;
    std::string line;
    const double metric = score(avg_model, j, line);
    metrics_log << j.dump() << "\n" << std::flush;
    std::cerr << "weight average of " << avg_count << " epochs: " << line << "\n";
    const double final_metric = o.keep_best && best ? best_metric : last_eval;  // evaluate_now(step) above
    if (metric > final_metric) {
      final_weights = average;
      std::cerr << "using the weight average (validation " << metric_name << " " << metric << " > " << final_metric << ")\n";
    }
  }
  if (!rare.empty()) final_weights = with_unk_rows(*final_weights, rare, tok.unk_id());
  write_model_dir(o.out, config, *final_weights, o.save_dtype, files);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "trained " << step << " steps in " << secs << " s; model written to " << o.out;
  if (o.keep_best && best) std::cerr << " (best evaluation at step " << best_step << ", " << metric_name << " " << best_metric << ")";
  std::cerr << "\n";
  return 0;
}

}  // namespace emot5::train
