// emot5 classify: texts in, labels and probabilities out, streamed in chunks.
#include <iostream>

#include "apps/commands.h"
#include "apps/output.h"
#include "io/progress.h"

namespace emot5::app {

void ModelOptions::add_to(CLI::App* cmd) {
  cmd->add_option("--model", model, "Model directory (HF layout); default: $EMOT5_MODEL or the built-in model");
  cmd->add_option("--threads", clf.threads, "Threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-input-tokens", clf.max_input_tokens, "Truncate inputs to this many tokens, eos kept")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--batch-size", clf.batch_size, "Texts per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--slow-tokenizer", clf.slow_tokenizer, "Tokenize as HF's slow T5Tokenizer (drops trailing spaces)");
  cmd->add_option("--precision", clf.precision, "f32, bf16 or int8 (bf16: every linear layer; int8: all but the FFN output; head in f32)")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "bf16", "int8"}));
}

std::string ModelOptions::resolve() const {
  if (!model.empty()) return model;
  try {
    return default_model_dir();
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + ", or pass --model DIR");
  }
}

void add_input_options(CLI::App* cmd, InputSpec* spec) {
  cmd->add_option("TEXT", spec->args, "Texts (default: one per line from stdin)");
  cmd->add_option("--input,-i", spec->file, "Read texts from a .txt (one per line), .jsonl or .csv file; - for stdin");
  cmd->add_option("--input-format", spec->format,
                  "auto (by extension: .jsonl/.ndjson, .csv, else lines), txt, jsonl or csv; e.g. for stdin")
      ->capture_default_str()->check(CLI::IsMember({"auto", "txt", "jsonl", "csv"}));
  cmd->add_option("--text-field", spec->text_field, "JSONL field holding the text")->capture_default_str();
  cmd->add_option("--text-column", spec->text_column, "CSV column (header name) holding the text")->capture_default_str();
}

void add_classify(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("classify", "Classify texts into the model's labels");
  struct Opts {
    ModelOptions m;
    InputSpec in;
    std::string format = "jsonl";
    bool no_generate = false;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
  add_input_options(cmd, &o->in);
  cmd->add_option("--format", o->format, "Output format: text, jsonl or csv")->capture_default_str();
  cmd->add_flag("--no-generate", o->no_generate, "Skip greedy generation (faster; no 'generated' field)");
  cmd->add_option("--keep", o->in.keep_fields,
                  "Input fields (.jsonl) or columns (.csv) to copy into each output row, e.g. --keep id,user")
      ->delimiter(',');
  cmd->callback([o, run] {
    *run = [o]() -> int {
      const Format fmt = parse_format(o->format);
      o->m.clf.generate = !o->no_generate;
      const Classifier clf = Classifier::load(o->m.resolve(), o->m.clf);
      auto reader = open_reader(o->in);
      PredictionWriter writer(std::cout, fmt, clf.labels(), clf.options().generate, o->in.keep_fields);
      Progress progress("classify", reader->size_hint());
      std::vector<InputRow> rows;
      std::vector<std::string> texts;
      std::vector<std::vector<nlohmann::json>> kept;
      size_t truncated = 0, total = 0;
      while (read_rows(*reader, rows_per_chunk(clf.options().batch_size), &rows)) {
        texts.clear();
        kept.clear();
        for (auto& r : rows) {
          texts.push_back(std::move(r.text));
          kept.push_back(std::move(r.kept));
        }
        const auto preds = clf.classify_batch(texts);
        for (size_t i = 0; i < texts.size(); ++i) {
          writer.write(texts[i], preds[i], kept[i]);
          truncated += preds[i].truncated ? 1 : 0;
        }
        total += texts.size();
        std::cout.flush();
        progress.add(texts.size());
      }
      progress.finish();
      if (!std::cout) throw std::runtime_error("writing to stdout failed");
      if (truncated > 0)
        std::cerr << "emot5: note: " << truncated << " of " << total << " texts had more than "
                  << clf.options().max_input_tokens << " tokens and were classified by their first "
                  << clf.options().max_input_tokens - 1 << " (--max-input-tokens; marked \"truncated\" in --format jsonl)\n";
      return 0;
    };
  });
}

}  // namespace emot5::app
