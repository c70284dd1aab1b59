// emot5 classify: texts in, labels and probabilities out, streamed in chunks.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/commands.h"
#include "apps/output.h"
#include "io/progress.h"
#include "kernels/threads.h"

namespace emot5::app {

void add_generate_flags(CLI::App* cmd, bool* generate, const std::string& help) {
  auto* on = cmd->add_flag("--generate", *generate, help);
  cmd->add_flag("--no-generate{false}", *generate, "Scores only, no generation (the default)")->excludes(on);
}

void ModelOptions::add_to(CLI::App* cmd) {
  cmd->add_option("--model", model, "Model directory (HF layout); default: $EMOT5_MODEL or the built-in model");
  cmd->add_option("--threads", clf.threads, "Threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-input-tokens", clf.max_input_tokens, "Truncate inputs to this many tokens, eos kept")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--batch-size", clf.batch_size, "Texts per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--slow-tokenizer", clf.slow_tokenizer, "Tokenize as HF's slow T5Tokenizer (drops trailing spaces)");
  cmd->add_option("--precision", clf.precision, "f32, bf16 or int8 (every linear layer; embeddings and head in f32)")
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
  cmd->add_option("--input,-i,--data", spec->file, "Read texts from a .txt (one per line), .jsonl or .csv file; - for stdin");
  cmd->add_option("--input-format", spec->format,
                  "auto (by extension: .jsonl/.ndjson, .csv, else lines), txt, jsonl or csv; e.g. for stdin")
      ->capture_default_str()->check(CLI::IsMember({"auto", "txt", "jsonl", "csv"}));
  cmd->add_option("--text-field,--text-column", spec->text_field, "JSONL field or CSV column (header name) holding the text")
      ->capture_default_str();
}

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }

// Rows already written to `path` in `fmt` (CSV: after its header), and the byte offset just past
// the last whole one: a row cut short by a kill is dropped on --resume.
struct WrittenRows {
  size_t rows = 0;
  uint64_t end = 0;
  bool header = false;  // CSV: the header is there
};

WrittenRows whole_rows(const std::string& path, Format fmt) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open it to resume (--resume continues an existing --output)");
  WrittenRows w;
  bool quoted = false;
  uint64_t at = 0;
  size_t records = 0;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i, ++at) {
      const char c = buf[i];
      if (fmt == Format::Csv && c == '"') quoted = !quoted;  // "" inside a quoted field toggles twice
      if (c == '\n' && !quoted) {
        ++records;
        w.end = at + 1;
      }
    }
    if (!in) break;
  }
  w.header = fmt == Format::Csv && records > 0;
  w.rows = fmt == Format::Csv && records > 0 ? records - 1 : records;
  return w;
}

// Where rows go: stdout, or --output FILE written in whole chunks, each synced to disk.
class RowSink {
 public:
  RowSink(const std::string& path, bool resume, uint64_t keep_bytes) : path_(path) {
    if (path_.empty()) return;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | (resume ? 0 : O_TRUNC), 0644);
    if (fd_ < 0) throw Error(path_ + ": cannot open for writing: " + std::strerror(errno));
    if (resume && ::ftruncate(fd_, static_cast<off_t>(keep_bytes)) != 0 && errno != EINVAL)
      throw Error(path_ + ": cannot drop the row cut short: " + std::strerror(errno));
    if (::lseek(fd_, resume ? static_cast<off_t>(keep_bytes) : 0, SEEK_SET) < 0 && errno != ESPIPE)
      throw Error(path_ + ": cannot seek: " + std::strerror(errno));
  }
  ~RowSink() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Writes `bytes` whole; a full disk or any other write error stops the run at once.
  void write(const std::string& bytes) {
    if (fd_ < 0) {
      std::cout << bytes;
      if (!std::cout.flush()) throw Error("writing to stdout failed");
      return;
    }
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(path_ + ": cannot write: " + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS)
      throw Error(path_ + ": cannot sync to disk: " + std::strerror(errno));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// --keep NAME or NAME=OUT: the input field and the name it gets in the output.
void split_keep(const std::vector<std::string>& keep, std::vector<std::string>* in, std::vector<std::string>* out) {
  for (const auto& k : keep) {
    const auto eq = k.find('=');
    if (eq == 0 || eq + 1 == k.size()) throw std::invalid_argument("--keep '" + k + "': expected NAME or NAME=OUTPUT_NAME");
    in->push_back(eq == std::string::npos ? k : k.substr(0, eq));
    out->push_back(eq == std::string::npos ? k : k.substr(eq + 1));
  }
}

}  // namespace

void add_classify(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("classify", "Classify texts into the model's labels");
  struct Opts {
    ModelOptions m;
    InputSpec in;
    std::vector<std::string> keep;
    std::string format = "jsonl", output;
    bool generate = false, resume = false;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
  add_input_options(cmd, &o->in);
  cmd->add_option("--format", o->format, "Output format: text, jsonl or csv")->capture_default_str();
  add_generate_flags(cmd, &o->generate, "Also run greedy generation: a 'generated' field with what the model writes");
  cmd->add_option("--keep", o->keep,
                  "Input fields (.jsonl) or columns (.csv) to copy into each output row, e.g. --keep id,user; "
                  "NAME=OUT carries NAME as OUT (e.g. --keep label=gold)")
      ->delimiter(',');
  cmd->add_flag("--skip-bad-rows", o->in.skip_bad_rows, "Skip and count rows that cannot be read instead of stopping");
  cmd->add_option("--output,-o", o->output,
                  "Write to FILE (default: stdout), in whole rows synced to disk chunk by chunk");
  cmd->add_flag("--resume", o->resume,
                "Continue an interrupted run into its --output FILE from its last whole row (same input and options)");
  cmd->callback([o, run] {
    *run = [o]() -> int {
      const Format fmt = parse_format(o->format);
      if (o->resume && o->output.empty()) throw std::invalid_argument("--resume needs --output FILE");
      std::vector<std::string> kept_names;
      split_keep(o->keep, &o->in.keep_fields, &kept_names);
      o->m.clf.generate = o->generate;
      const Classifier clf = Classifier::load(o->m.resolve(), o->m.clf);
      auto reader = open_reader(o->in);
      const WrittenRows written = o->resume ? whole_rows(o->output, fmt) : WrittenRows{};
      RowSink sink(o->output, o->resume, written.end);
      std::ostringstream chunk_out;
      PredictionWriter writer(chunk_out, fmt, clf.labels(), clf.options().generate, kept_names, !written.header);
      std::signal(SIGINT, on_stop_signal);
      std::signal(SIGTERM, on_stop_signal);
      Progress progress("classify", reader->size_hint());
      progress.set_done(written.rows);
      std::vector<InputRow> rows;
      std::vector<std::string> texts;
      std::vector<std::vector<nlohmann::json>> kept;
      // Chunks are the same rows as in an uninterrupted run (so the same batches, the same
      // numbers); a resumed run classifies the chunk it stopped in and writes its rows not yet there.
      const size_t chunk = rows_per_chunk(clf.options().batch_size, kernels::threads_for(clf.options().threads));
      size_t truncated = 0, total = 0;
      while (!g_stop && read_rows(*reader, chunk, &rows)) {
        texts.clear();
        kept.clear();
        for (auto& r : rows) {
          texts.push_back(std::move(r.text));
          kept.push_back(std::move(r.kept));
        }
        const size_t first = total, skip = written.rows > first ? std::min(written.rows - first, texts.size()) : 0;
        total += texts.size();
        if (skip == texts.size()) continue;  // written before the interruption
        const auto preds = clf.classify_batch(texts);
        for (size_t i = skip; i < texts.size(); ++i) {
          writer.write(texts[i], preds[i], kept[i]);
          truncated += preds[i].truncated ? 1 : 0;
        }
        sink.write(chunk_out.str());
        chunk_out.str("");
        progress.add(texts.size() - skip);
      }
      if (written.rows > total && !g_stop)
        throw Error(o->output + ": holds " + std::to_string(written.rows) + " rows, more than the " + std::to_string(total) +
                    " the input gives; was it written from another input?");
      if (!written.header && fmt == Format::Csv && total == 0) sink.write(chunk_out.str());  // the header alone
      progress.finish();
      if (reader->bad_rows() > 0)
        std::cerr << "emot5: skipped " << reader->bad_rows() << " bad row(s); first: " << reader->first_bad_row() << "\n";
      if (truncated > 0)
        std::cerr << "emot5: note: " << truncated << " of " << total << " texts had more than "
                  << clf.options().max_input_tokens << " tokens and were classified by their first "
                  << clf.options().max_input_tokens - 1 << " (--max-input-tokens; marked \"truncated\" in --format jsonl)\n";
      if (g_stop) {
        std::cerr << "emot5: interrupted; " << std::max(total, written.rows) << " rows written"
                  << (o->output.empty() ? "" : " to " + o->output + "; resume with the same command and --resume")
                  << "\n";
        return 130;
      }
      return 0;
    };
  });
}

}  // namespace emot5::app
