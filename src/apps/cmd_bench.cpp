// emot5 bench: classification throughput and latency of a model over a dataset, with the machine,
// ISA, threads and command printed, and every configuration compared inside one run.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
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

void add_bench(CLI::App& app, Runner* run, int argc, char** argv) {
  auto* cmd = app.add_subcommand("bench", "Throughput and latency of classification over a dataset");
  struct Opts {
    ModelOptions m;
    std::string data, json_out;
    std::vector<int> batch_sizes = {1, 32};
    std::vector<std::string> precisions = {"f32"};
    size_t limit = 0;
    size_t latency_texts = 200;
    bool generate = false;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
#ifdef EMOT5_DATA_DIR
  o->data = std::string(EMOT5_DATA_DIR) + "/emotion/test.jsonl";
#endif
  cmd->add_option("--data", o->data, "Texts (.jsonl field text, .csv column text, or .txt)")->capture_default_str();
  cmd->add_option("--batch-sizes", o->batch_sizes, "Batch sizes to compare")->delimiter(',')->capture_default_str();
  cmd->add_option("--limit", o->limit, "Use the first N texts (0: all)");
  cmd->add_option("--precisions", o->precisions, "Precisions to compare (the first is the reference for label agreement)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--latency-texts", o->latency_texts, "Texts timed one by one for latency percentiles")->capture_default_str();
  cmd->add_flag("--generate", o->generate, "Also run greedy generation (the full head), as classify does by default");
  cmd->add_option("--json", o->json_out, "Write the results as JSON to this file");
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  cmd->callback([o, run, command] {
    *run = [o, command]() -> int {
      o->m.clf.generate = o->generate;
      const std::string dir = o->m.resolve();
      const auto& cpu = kernels::cpu_info();
      const double rss_before = peak_rss_mib();
      // The first precision's classifier also counts the tokens; it is the only one loaded
      // before the first measurement, so that precision's peak RSS is its own.
      ClassifierOptions first_options = o->m.clf;
      first_options.precision = o->precisions.at(0);
      std::optional<Classifier> first(Classifier::load(dir, first_options));
      const Classifier& clf = *first;
      const T5Config cfg = open_checkpoint(dir).config;
      double f32_bytes = 0;
      for (const auto& p : t5_parameter_specs(cfg)) {
        double n = 4;
        for (auto d : p.shape) n *= static_cast<double>(d);
        f32_bytes += n;
      }
      InputSpec in;
      in.file = o->data;
      auto reader = open_reader(in);
      std::vector<std::string> texts;
      InputRow row;
      while (reader->next(&row) && (o->limit == 0 || texts.size() < o->limit)) texts.push_back(row.text);
      if (texts.empty()) throw std::invalid_argument(o->data + ": no texts");
      double tokens = 0, flops = 0;
      const double head_rows = o->generate ? cfg.vocab_size : static_cast<double>(clf.labels().size());
      for (const auto& t : texts) {
        const double L = static_cast<double>(clf.tokenize(t).ids.size());
        tokens += L;
        flops += classification_flops(cfg, L, head_rows);
      }
      using clock = std::chrono::steady_clock;
      nlohmann::ordered_json j;
      j["command"] = command;
      j["cpu"] = cpu.model;
      const std::string isa = cpu.best_isa() + " (element-wise loops: " + kernels::isa_name(kernels::active_isa()) + ")";
      j["isa"] = isa;
      const int threads = o->m.clf.threads > 0 ? o->m.clf.threads : static_cast<int>(std::thread::hardware_concurrency());
      j["threads"] = threads;
      j["model"] = dir;
      j["weights_f32_mib"] = f32_bytes / (1 << 20);
      j["texts"] = texts.size();
      j["mean_tokens"] = tokens / static_cast<double>(texts.size());
      j["gflop_per_text"] = flops / static_cast<double>(texts.size()) / 1e9;
      j["generate"] = o->generate;
      std::cout << "emot5 bench\n  command: " << command << "\n  cpu: " << cpu.model << "\n  isa: " << isa
                << "\n  threads: " << j["threads"] << "\n  model: " << dir << " (" << j["weights_f32_mib"].get<double>()
                << " MiB of f32 weights)\n  data: " << o->data << " (" << texts.size() << " texts, "
                << j["mean_tokens"].get<double>() << " tokens on average, " << j["gflop_per_text"].get<double>()
                << " GFLOP per text)\n\n";
      nlohmann::ordered_json results = nlohmann::ordered_json::array();
      std::vector<Prediction> reference;
      for (size_t pi = 0; pi < o->precisions.size(); ++pi) {
        const std::string& precision = o->precisions[pi];
        ClassifierOptions co = o->m.clf;
        co.precision = precision;
        const Classifier pc = pi == 0 ? std::move(*first) : Classifier::load(dir, co);
        if (pi == 0) first.reset();
        pc.classify_batch(std::vector<std::string>(texts.begin(), texts.begin() + std::min<size_t>(texts.size(), 64)));
        const double peak = measured_peak_gflops(precision, threads);
        std::printf("precision %s (weights in use %.1f MiB; this machine's peak for %s products, measured on a "
                    "1024^3 product: %.1f GFLOP/s)\n%-10s %12s %12s %10s %8s\n",
                    precision.c_str(), static_cast<double>(pc.weight_bytes()) / (1 << 20), precision.c_str(), peak,
                    "batch", "texts/s", "tokens/s", "GFLOP/s", "of peak");
        nlohmann::ordered_json r;
        r["precision"] = precision;
        r["measured_peak_gflop_per_s"] = peak;
        r["weights_in_use_mib"] = static_cast<double>(pc.weight_bytes()) / (1 << 20);
        nlohmann::ordered_json runs = nlohmann::ordered_json::array();
        std::vector<Prediction> preds;
        for (int bs : o->batch_sizes) {
          const auto t0 = clock::now();
          preds = pc.classify_batch(texts, bs);
          const double secs = std::chrono::duration<double>(clock::now() - t0).count();
          const double tps = static_cast<double>(texts.size()) / secs;
          const double gflops = flops / secs / 1e9;
          std::printf("%-10d %12.1f %12.0f %10.1f %7.0f%%\n", bs, tps, tokens / secs, gflops, 100.0 * gflops / peak);
          runs.push_back({{"batch_size", bs}, {"seconds", secs}, {"texts_per_s", tps},
                          {"tokens_per_s", tokens / secs}, {"gflop_per_s", gflops},
                          {"fraction_of_peak", gflops / peak}});
        }
        r["throughput"] = runs;
        std::vector<double> lat;
        for (size_t i = 0; i < std::min(o->latency_texts, texts.size()); ++i) {
          const auto t0 = clock::now();
          pc.classify(texts[i]);
          lat.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
        }
        r["latency_ms"] = {{"texts", lat.size()}, {"p50", percentile(lat, 50)}, {"p90", percentile(lat, 90)},
                           {"p99", percentile(lat, 99)}};
        std::printf("latency at batch 1 over %zu texts: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms\n", lat.size(),
                    percentile(lat, 50), percentile(lat, 90), percentile(lat, 99));
        if (reference.empty()) {
          reference = preds;
        } else {
          size_t agree = 0;
          double max_dp = 0;
          for (size_t i = 0; i < preds.size(); ++i) {
            agree += preds[i].label_index == reference[i].label_index;
            for (size_t l = 0; l < preds[i].probabilities.size(); ++l)
              max_dp = std::max(max_dp, static_cast<double>(std::fabs(preds[i].probabilities[l] - reference[i].probabilities[l])));
          }
          const double agreement = static_cast<double>(agree) / static_cast<double>(preds.size());
          r["label_agreement_with_" + o->precisions[0]] = agreement;
          r["max_abs_dp_vs_" + o->precisions[0]] = max_dp;
          std::printf("labels agreeing with %s: %.4f (%zu/%zu), max |dp| %.4f\n", o->precisions[0].c_str(), agreement,
                      agree, preds.size(), max_dp);
        }
        std::printf("\n");
        results.push_back(r);
      }
      j["results"] = results;
      j["peak_rss_mib"] = peak_rss_mib();
      j["rss_before_load_mib"] = rss_before;
      std::printf("peak RSS of the process %.1f MiB (%s's own when it is the only precision)\n",
                  j["peak_rss_mib"].get<double>(), o->precisions[0].c_str());
      if (!o->json_out.empty()) write_file_atomic(o->json_out, j.dump(2) + "\n");
      return 0;
    };
  });
}

}  // namespace emot5::app
