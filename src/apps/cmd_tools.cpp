// emot5 generate, tokenize and make-formula-model.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/output.h"
#include "eval/chart.h"
#include "io/config.h"
#include "io/file_util.h"
#include "io/formula.h"
#include "io/safetensors.h"

namespace emot5::app {

namespace {

std::vector<std::string> read_all(const InputSpec& spec) {
  auto reader = open_reader(spec);
  std::vector<std::string> texts;
  InputRow row;
  while (reader->next(&row)) texts.push_back(std::move(row.text));
  return texts;
}

}  // namespace

void add_generate(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("generate", "Greedy generation, as HF's generate: jsonl {text, ids, output}");
  struct Opts {
    ModelOptions m;
    InputSpec in;
    int max_new_tokens = 20;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
  add_input_options(cmd, &o->in);
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "Most tokens to generate")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->callback([o, run] {
    *run = [o]() -> int {
      o->m.clf.generate = false;
      const Classifier clf = Classifier::load(o->m.resolve(), o->m.clf);
      const auto texts = read_all(o->in);
      const auto gens = clf.generate(texts, o->max_new_tokens);
      for (size_t i = 0; i < texts.size(); ++i) {
        nlohmann::ordered_json j;
        j["text"] = texts[i];
        j["ids"] = gens[i].ids;
        j["output"] = gens[i].text;
        std::cout << j.dump() << '\n';
      }
      return 0;
    };
  });
}

void add_tokenize(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("tokenize", "Token ids and pieces, as the HF tokenizer gives them: jsonl {text, ids, pieces}");
  struct Opts {
    ModelOptions m;
    InputSpec in;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
  add_input_options(cmd, &o->in);
  cmd->callback([o, run] {
    *run = [o]() -> int {
      const Classifier clf = Classifier::load(o->m.resolve(), o->m.clf);
      auto reader = open_reader(o->in);
      InputRow row;
      while (reader->next(&row)) {
        const auto t = clf.tokenize(row.text);
        nlohmann::ordered_json j;
        j["text"] = row.text;
        j["ids"] = t.ids;
        j["pieces"] = t.pieces;
        std::cout << j.dump() << '\n';
      }
      return 0;
    };
  });
}

void add_plot_metrics(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("plot-metrics", "Plot a training run's metrics.jsonl (losses, validation scores) as SVG");
  struct Opts {
    std::string metrics, out;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("METRICS", o->metrics, "metrics.jsonl of an emot5 train run")->required();
  cmd->add_option("--out,-o", o->out, "SVG file to write")->required()->check(svg_file());
  cmd->callback([o, run] {
    *run = [o]() -> int {
      write_file_atomic(o->out, training_curves_svg(o->metrics, "emot5 train: " + o->metrics));
      return 0;
    };
  });
}

void add_make_formula_model(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("make-formula-model",
                                 "Write the flan-t5-small-formula checkpoint (full size, formula weights) to DIR");
  struct Opts {
    std::string dir;
    std::string spiece;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("DIR", o->dir, "Output directory")->required();
  cmd->add_option("--spiece", o->spiece, "spiece.model to copy beside it")->required()->check(CLI::ExistingFile);
  cmd->callback([o, run] {
    *run = [o]() -> int {
      namespace fs = std::filesystem;
      fs::create_directories(o->dir);
      const T5Config c = flan_t5_small_config();
      write_file_atomic(o->dir + "/config.json", t5_config_json(c));
      write_safetensors(o->dir + "/model.safetensors", *formula_weights(c), {{"format", "pt"}});
      fs::copy_file(o->spiece, o->dir + "/spiece.model", fs::copy_options::overwrite_existing);
      std::cerr << "wrote " << o->dir << " (flan-t5-small-formula, f32)\n";
      return 0;
    };
  });
}

}  // namespace emot5::app
