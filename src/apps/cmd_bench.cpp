// emot5 bench: classification throughput and latency of a model over a dataset, with the machine,
// ISA, threads and command printed, and every configuration compared inside one run. The
// measuring is apps/bench.h's; this file holds the options and the printing.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/bench.h"
#include "apps/commands.h"
#include "io/file_util.h"

namespace emot5::app {

namespace {

void print_setup(const nlohmann::ordered_json& s) {
  std::cout << "emot5 bench\n  command: " << s["command"].get<std::string>() << "\n  cpu: " << s["cpu"].get<std::string>()
            << "\n  isa: " << s["isa"].get<std::string>() << "\n  threads: " << s["threads"]
            << "\n  model: " << s["model"].get<std::string>() << " (" << s["weights_f32_mib"].get<double>()
            << " MiB of f32 weights)\n  data: " << s["data"].get<std::string>() << " (" << s["texts"] << " texts, "
            << s["mean_tokens"].get<double>() << " tokens on average, " << s["gflop_per_text"].get<double>()
            << " GFLOP per text)\n\n";
  std::cout.flush();
}

void print_precision(const nlohmann::ordered_json& r, const std::string& reference) {
  const std::string precision = r["precision"];
  const double peak = r["measured_peak_gflop_per_s"];
  std::printf("precision %s (weights in use %.1f MiB; this machine's peak for %s products, measured on a "
              "1024^3 product: %.1f GFLOP/s)\n%-10s %12s %12s %10s %8s\n",
              precision.c_str(), r["weights_in_use_mib"].get<double>(), precision.c_str(), peak, "batch", "texts/s",
              "tokens/s", "GFLOP/s", "of peak");
  for (const auto& run : r["throughput"]) {
    std::printf("%-10d %12.1f %12.0f %10.1f %7.0f%%", run["batch_size"].get<int>(), run["texts_per_s"].get<double>(),
                run["tokens_per_s"].get<double>(), run["gflop_per_s"].get<double>(),
                100.0 * run["fraction_of_peak"].get<double>());
    const auto& each = run["texts_per_s_each_run"];
    if (each.size() > 1) {
      std::printf("   (fastest of");
      for (const auto& e : each) std::printf(" %.1f", e.get<double>());
      std::printf(")");
    }
    std::printf("\n");
  }
  const auto& lat = r["latency_ms"];
  std::printf("latency at batch 1 over %zu texts: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms\n", lat["texts"].get<size_t>(),
              lat["p50"].get<double>(), lat["p90"].get<double>(), lat["p99"].get<double>());
  if (r.contains("labels_agreeing")) {
    const double agreement = r["label_agreement_with_" + reference];
    const auto agree = r["labels_agreeing"].get<size_t>();
    std::printf("labels agreeing with %s: %.4f (%zu/%zu), max |dp| %.4f\n", reference.c_str(), agreement, agree,
                r["texts_compared"].get<size_t>(),
                r["max_abs_dp_vs_" + reference].get<double>());
  }
  std::printf("\n");
  std::fflush(stdout);
}

void print_extras(const nlohmann::ordered_json& j) {
  if (j.contains("generation")) {
    const auto& g = j["generation"];
    std::printf("generation (%s, batch %d): %.1f texts/s scores only, %.1f with greedy generation (%.0f%%)\n",
                g["precision"].get<std::string>().c_str(), g["batch_size"].get<int>(),
                g["texts_per_s_scores_only"].get<double>(), g["texts_per_s_with_generation"].get<double>(),
                100.0 * g["generation_keeps"].get<double>());
  }
  if (j.contains("end_to_end") && !j["end_to_end"].is_null()) {
    const auto& e = j["end_to_end"];
    std::printf("end to end: %.1f texts/s in %.2f s, model load included", e["texts_per_s"].get<double>(),
                e["seconds"].get<double>());
    if (e.contains("share_of_bench"))
      std::printf(", %.0f%% of the bench's batch %d", 100.0 * e["share_of_bench"].get<double>(),
                  e["bench_batch_size"].get<int>());
    std::printf("\n  %s\n", e["command"].get<std::string>().c_str());
  }
  if (j.contains("contended")) {
    const auto& c = j["contended"];
    std::printf("contended (%s, batch %d, one busy process): %.1f texts/s idle, %.1f beside it (%.0f%%; %s)\n",
                c["precision"].get<std::string>().c_str(), c["batch_size"].get<int>(),
                c["texts_per_s_idle"].get<double>(), c["texts_per_s_contended"].get<double>(),
                100.0 * c["contended_keeps"].get<double>(), c["omp_wait"].get<std::string>().c_str());
  }
  std::fflush(stdout);
}

}  // namespace

void add_bench(CLI::App& app, Runner* run, int argc, char** argv) {
  auto* cmd = app.add_subcommand("bench", "Throughput and latency of classification over a dataset");
  struct Opts {
    ModelOptions m;
    BenchOptions b;
    std::string json_out;
    bool generate = false;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
  o->b.data = std::string(EMOT5_DATA_DIR) + "/emotion/test.jsonl";
  cmd->add_option("--data", o->b.data, "Texts (.jsonl field text, .csv column text, or .txt)")->capture_default_str();
  cmd->add_option("--batch-sizes", o->b.batch_sizes, "Batch sizes to compare")->delimiter(',')->capture_default_str();
  cmd->add_option("--limit", o->b.limit, "Use the first N texts (0: all)");
  cmd->add_option("--precisions", o->b.precisions, "Precisions to compare (the first is the reference for label agreement)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--latency-texts", o->b.latency_texts, "Texts timed one by one for latency percentiles")
      ->capture_default_str();
  cmd->add_flag("--generate", o->generate, "Run greedy generation (a pass over the whole head per token) in every run, as classify --generate does");
  cmd->add_option("--repeat", o->b.repeat,
                  "Time each throughput and end-to-end measurement N times and report the fastest, as the peak is "
                  "the fastest of its runs (for noisy hosts)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_flag("--contended", o->b.contended,
                "Also measure the first precision beside a busy process that the bench starts and stops");
  cmd->add_option("--json", o->json_out, "Write the results as JSON to this file");
  for (int i = 0; i < argc; ++i) o->b.command += (i ? " " : "") + std::string(argv[i]);
  cmd->callback([o, run] {
    *run = [o]() -> int {
      BenchOptions b = o->b;
      b.clf = o->m.clf;
      b.clf.generate = o->generate;
      b.model_dir = o->m.resolve();
      b.executable = executable_dir().empty() ? "" : executable_dir() + "/emot5";
      Bench bench(b);
      nlohmann::ordered_json j = bench.setup();
      print_setup(j);
      nlohmann::ordered_json results = nlohmann::ordered_json::array();
      for (size_t i = 0; i < b.precisions.size(); ++i) {
        results.push_back(bench.measure(i));
        print_precision(results.back(), b.precisions[0]);
      }
      j["results"] = results;
      j.update(bench.memory());
      std::printf("peak RSS of the process %.1f MiB (%s's own when it is the only precision)\n\n",
                  j["peak_rss_mib"].get<double>(), b.precisions[0].c_str());
      std::fflush(stdout);
      j["generation"] = bench.generation_cost();
      j["end_to_end"] = bench.end_to_end();
      if (b.contended) j["contended"] = bench.contended();
      print_extras(j);
      if (!o->json_out.empty()) write_file_atomic(o->json_out, j.dump(2) + "\n");
      return 0;
    };
  });
}

}  // namespace emot5::app
