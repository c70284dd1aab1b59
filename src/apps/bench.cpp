// emot5 bench's measuring (see bench.h).
#include "apps/bench.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "apps/input.h"
#include "io/checkpoint.h"
#include "io/file_util.h"
#include "io/layout.h"
#include "kernels/cpu.h"
#include "kernels/matmul.h"
#include "kernels/qgemm.h"
#include "kernels/simd.h"
#include "kernels/threads.h"

namespace emot5::app {

namespace {

double peak_rss_mib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// FLOPs of one classification of a text of `L` tokens: the encoder, the cross-attention keys
// and values, and one decoder step; the head counts `head_rows` rows (labels only, or the vocab).
double classification_flops(const T5Config& c, double L, double head_rows) {
  const double D = c.d_model, I = c.inner_dim(), F = c.d_ff, ffm = c.is_gated_act ? 3 : 2;
  const double enc_layer = 2 * L * D * I * 4 + 2 * 2 * L * L * I + 2 * L * D * F * ffm;
  const double cross_kv = c.num_decoder_layers * 2 * 2 * L * D * I;
  const double dec_layer = 2 * D * I * 4 + 2 * D * I * 2 + 2 * 2 * L * I + 2 * D * F * ffm;
  return c.num_layers * enc_layer + cross_kv + c.num_decoder_layers * dec_layer + 2 * D * head_rows;
}

// This machine's peak for a precision's products, measured rather than assumed: the best of 5
// runs of a 1024×1024×1024 product through the kernels the engine uses for that precision.
double measured_peak_gflops(const std::string& precision, int threads) {
  constexpr int S = 1024;
  std::vector<float> x(static_cast<size_t>(S) * S), w(x.size()), y(x.size());
  uint32_t state = 12345;
  for (size_t i = 0; i < x.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    x[i] = static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
    w[i] = 0.05f * (static_cast<float>((state >> 4) & 0xffff) / 65536.0f - 0.5f);
  }
  kernels::set_num_threads(threads);
  std::optional<kernels::QuantizedMatrix> q;
  std::optional<kernels::PackedMatrix> packed;
  if (precision == "int8")
    q = kernels::quantize_rows(w.data(), S, S);
  else
    packed.emplace(w.data(), S, S, precision == "bf16" ? kernels::WeightType::Bf16 : kernels::WeightType::F32);
  double best = 1e30;
  for (int rep = 0; rep < 6; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    if (q)
      kernels::gemm_nt_int8(S, S, S, x.data(), S, *q, y.data(), S);
    else
      packed->multiply(S, x.data(), S, y.data(), S);
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rep > 0) best = std::min(best, t);  // the first run warms up
  }
  return 2.0 * S * S * S / best / 1e9;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(idx)), hi = static_cast<size_t>(std::ceil(idx));
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

}  // namespace

Bench::Bench(BenchOptions o) : o_(std::move(o)) {
  const auto& cpu = kernels::cpu_info();
  rss_before_ = peak_rss_mib();
  ClassifierOptions first_options = o_.clf;
  first_options.precision = o_.precisions.at(0);
  first_.emplace(Classifier::load(o_.model_dir, first_options));
  const T5Config cfg = open_checkpoint(o_.model_dir).config;
  double f32_bytes = 0;
  for (const auto& p : t5_parameter_specs(cfg)) {
    double n = 4;
    for (auto d : p.shape) n *= static_cast<double>(d);
    f32_bytes += n;
  }
  InputSpec in;
  in.file = o_.data;
  auto reader = open_reader(in);
  InputRow row;
  while (reader->next(&row) && (o_.limit == 0 || texts_.size() < o_.limit)) texts_.push_back(row.text);
  if (texts_.empty()) throw std::invalid_argument(o_.data + ": no texts");
  const double head_rows = o_.clf.generate ? cfg.vocab_size : static_cast<double>(first_->labels().size());
  for (const auto& t : texts_) {
    const double L = static_cast<double>(first_->tokenize(t).ids.size());
    tokens_ += L;
    flops_ += classification_flops(cfg, L, head_rows);
  }
  threads_ = o_.clf.threads > 0 ? o_.clf.threads : static_cast<int>(std::thread::hardware_concurrency());
  const auto n = static_cast<double>(texts_.size());
  setup_["command"] = o_.command;
  setup_["cpu"] = cpu.model;
  setup_["isa"] = cpu.best_isa() + " (element-wise loops: " + kernels::isa_name(kernels::active_isa()) + ")";
  setup_["threads"] = threads_;
  setup_["model"] = o_.model_dir;
  setup_["data"] = o_.data;
  setup_["weights_f32_mib"] = f32_bytes / (1 << 20);
  setup_["texts"] = texts_.size();
  setup_["mean_tokens"] = tokens_ / n;
  setup_["gflop_per_text"] = flops_ / n / 1e9;
  setup_["generate"] = o_.clf.generate;
}

nlohmann::ordered_json Bench::measure(size_t index) {
  using clock = std::chrono::steady_clock;
  const std::string& precision = o_.precisions.at(index);
  ClassifierOptions co = o_.clf;
  co.precision = precision;
  const Classifier pc = first_ ? std::move(*first_) : Classifier::load(o_.model_dir, co);
  first_.reset();
  pc.classify_batch(std::vector<std::string>(texts_.begin(), texts_.begin() + std::min<size_t>(texts_.size(), 64)));
  const double peak = measured_peak_gflops(precision, threads_);
  nlohmann::ordered_json r;
  r["precision"] = precision;
  r["measured_peak_gflop_per_s"] = peak;
  r["weights_in_use_mib"] = static_cast<double>(pc.weight_bytes()) / (1 << 20);
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  std::vector<Prediction> preds;
  for (int bs : o_.batch_sizes) {
    // The fastest of o_.repeat runs, as the peak is the fastest of its runs; every run is kept.
    double secs = 0;
    nlohmann::ordered_json each = nlohmann::ordered_json::array();
    for (int rep = 0; rep < std::max(1, o_.repeat); ++rep) {
      const auto t0 = clock::now();
      preds = pc.classify_batch(texts_, bs);
      const double s = std::chrono::duration<double>(clock::now() - t0).count();
      each.push_back(static_cast<double>(texts_.size()) / s);
      secs = rep == 0 ? s : std::min(secs, s);
    }
    const double gflops = flops_ / secs / 1e9;
    runs.push_back({{"batch_size", bs}, {"seconds", secs}, {"texts_per_s", static_cast<double>(texts_.size()) / secs},
                    {"tokens_per_s", tokens_ / secs}, {"gflop_per_s", gflops}, {"fraction_of_peak", gflops / peak},
                    {"texts_per_s_each_run", each}});
  }
  r["throughput"] = runs;
  std::vector<double> lat;
  // Latency at batch 1 is timed warm: a first pass over the same texts makes oneDNN's kernels for
  // their lengths at batch 1 (the throughput runs above may have made only those of lanes, which
  // run one thread each).
  const size_t n_lat = std::min(o_.latency_texts, texts_.size());
  for (size_t i = 0; i < n_lat; ++i) pc.classify(texts_[i]);
  for (size_t i = 0; i < n_lat; ++i) {
    const auto t0 = clock::now();
    pc.classify(texts_[i]);
    lat.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
  }
  r["latency_ms"] = {{"texts", lat.size()}, {"p50", percentile(lat, 50)}, {"p90", percentile(lat, 90)},
                     {"p99", percentile(lat, 99)}};
  if (index == 0) {
    reference_ = preds;
    for (const auto& run : runs) {
      if (run["batch_size"].get<int>() == o_.clf.batch_size) default_batch_rate_ = run["texts_per_s"].get<double>();
    }
    return r;
  }
  size_t agree = 0;
  double max_dp = 0;
  for (size_t i = 0; i < preds.size(); ++i) {
    agree += preds[i].label_index == reference_[i].label_index;
    for (size_t l = 0; l < preds[i].probabilities.size(); ++l)
      max_dp = std::max(max_dp, static_cast<double>(std::fabs(preds[i].probabilities[l] - reference_[i].probabilities[l])));
  }
  r["labels_agreeing"] = agree;
  r["texts_compared"] = preds.size();
  r["label_agreement_with_" + o_.precisions[0]] = static_cast<double>(agree) / static_cast<double>(preds.size());
  r["max_abs_dp_vs_" + o_.precisions[0]] = max_dp;
  return r;
}

const Classifier& Bench::first_classifier() {
  if (!extra_) {
    ClassifierOptions co = o_.clf;
    co.precision = o_.precisions.at(0);
    extra_.emplace(Classifier::load(o_.model_dir, co));
    extra_->classify_batch(std::vector<std::string>(texts_.begin(), texts_.begin() + std::min<size_t>(texts_.size(), 64)));
  }
  return *extra_;
}

double Bench::rate(const Classifier& clf, int batch_size) const {
  double best = 0;
  for (int rep = 0; rep < std::max(1, o_.repeat); ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    clf.classify_batch(texts_, batch_size);
    best = std::max(best, static_cast<double>(texts_.size()) /
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

nlohmann::ordered_json Bench::generation_cost() {
  ClassifierOptions co = o_.clf;
  co.precision = o_.precisions.at(0);
  co.generate = !o_.clf.generate;  // the other way from the main runs
  const Classifier other = Classifier::load(o_.model_dir, co);
  const int bs = *std::max_element(o_.batch_sizes.begin(), o_.batch_sizes.end());
  other.classify_batch(std::vector<std::string>(texts_.begin(), texts_.begin() + std::min<size_t>(texts_.size(), 64)));
  const double other_rate = rate(other, bs);
  // The main runs' way measured again beside it, so that the ratio compares runs seconds apart.
  const double main_rate = rate(first_classifier(), bs);
  const double with_gen = co.generate ? other_rate : main_rate, without = co.generate ? main_rate : other_rate;
  return {{"precision", co.precision}, {"batch_size", bs}, {"texts_per_s_scores_only", without},
          {"texts_per_s_with_generation", with_gen}, {"generation_keeps", with_gen / without}};
}

nlohmann::ordered_json Bench::end_to_end() {
  if (o_.executable.empty()) return {};
  std::string dir = "/tmp/emot5-bench-XXXXXX";
  if (!::mkdtemp(dir.data())) throw std::runtime_error("bench: cannot make a temporary directory in /tmp");
  const std::string in = dir + "/texts.jsonl", out = dir + "/out.jsonl";
  {
    std::ofstream f(in);
    for (const auto& t : texts_) f << nlohmann::json{{"text", t}}.dump() << "\n";
  }
  std::vector<std::string> args = {o_.executable, "classify", "--model", o_.model_dir, "--input", in, "--output", out,
                                   "--precision", o_.precisions.at(0), "--threads", std::to_string(o_.clf.threads)};
  if (o_.clf.generate) args.push_back("--generate");
  double secs = 0;
  for (int rep = 0; rep < std::max(1, o_.repeat); ++rep) {  // the fastest of o_.repeat runs
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      remove_tree(dir);
      throw std::runtime_error("bench: `emot5 classify` over the texts failed (" + o_.executable + ")");
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    secs = rep == 0 ? s : std::min(secs, s);
  }
  remove_tree(dir);
  std::string command;
  for (const auto& a : args) command += (command.empty() ? "" : " ") + a;
  const double r = static_cast<double>(texts_.size()) / secs;
  nlohmann::ordered_json j = {{"command", command}, {"seconds", secs}, {"texts_per_s", r},
                              {"bench_batch_size", o_.clf.batch_size}};
  if (default_batch_rate_ > 0) j["share_of_bench"] = r / default_batch_rate_;
  return j;
}

nlohmann::ordered_json Bench::contended() {
  const int bs = *std::max_element(o_.batch_sizes.begin(), o_.batch_sizes.end());
  const Classifier& clf = first_classifier();
  const double idle_before = rate(clf, bs);
  const pid_t busy = ::fork();
  if (busy == 0) {
    volatile unsigned long spin = 0;
    for (;;) spin = spin + 1;  // one busy process, as another job on the machine would be
  }
  if (busy < 0) throw std::runtime_error("bench --contended: cannot start the busy process");
  double busy_rate = 0;
  try {
    busy_rate = rate(clf, bs);
  } catch (...) {
    ::kill(busy, SIGKILL);
    ::waitpid(busy, nullptr, 0);
    throw;
  }
  ::kill(busy, SIGKILL);
  ::waitpid(busy, nullptr, 0);
  const double idle_after = rate(clf, bs);
  const double idle = (idle_before + idle_after) / 2;
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  return {{"precision", o_.precisions.at(0)}, {"batch_size", bs}, {"busy_processes", 1},
          {"texts_per_s_idle", idle}, {"texts_per_s_contended", busy_rate}, {"contended_keeps", busy_rate / idle},
          {"omp_wait", std::string("GOMP_SPINCOUNT=") + (spin ? spin : "unset") +
                           " OMP_WAIT_POLICY=" + (policy ? policy : "unset")}};
}

nlohmann::ordered_json Bench::memory() const {
  return {{"peak_rss_mib", peak_rss_mib()}, {"rss_before_load_mib", rss_before_}};
}

}  // namespace emot5::app
