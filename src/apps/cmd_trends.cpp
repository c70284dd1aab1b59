// emot5 trends: classify timestamped texts and report each period's share of every emotion, as a
// table, CSV or JSON lines, with an SVG line chart.
#include <iostream>

#include "apps/commands.h"
#include "apps/output.h"
#include "eval/trends.h"
#include "io/error.h"
#include "io/file_util.h"
#include "io/progress.h"
#include "kernels/threads.h"

namespace emot5::app {

void add_trends(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand(
      "trends", "Share of each emotion per day, week, month or year of timestamped texts (table, CSV, JSON lines, SVG)");
  struct Opts {
    ModelOptions m;
    InputSpec in;
    std::string period = "day", format = "text", plot;
    bool skip_bad_rows = false, skip_empty_periods = false;
    std::string epoch_unit = "s";
  };
  auto o = std::make_shared<Opts>();
  o->in.extra_field = "date";
  o->m.add_to(cmd);
  cmd->add_option("--input,-i,--data", o->in.file, "A .jsonl or .csv file of texts with timestamps; - for stdin")->required();
  cmd->add_option("--input-format", o->in.format, "auto (by extension), jsonl or csv; e.g. for stdin")
      ->capture_default_str()->check(CLI::IsMember({"auto", "jsonl", "csv"}));
  cmd->add_option("--text-field,--text-column", o->in.text_field, "JSONL field or CSV column holding the text")
      ->capture_default_str();
  cmd->add_option("--time-field", o->in.extra_field,
                  "JSONL field or CSV column holding the timestamp: ISO 8601 (2024-03-05, 2024-03-05T14:30:00Z, 20240305, "
                  "an offset such as +02:00) or Unix seconds; periods are UTC")
      ->capture_default_str();
  cmd->add_option("--period", o->period, "day, week (starting Monday), month or year")->capture_default_str();
  cmd->add_option("--format", o->format, "Output format: text, csv or jsonl")->capture_default_str();
  cmd->add_option("--plot", o->plot, "Write the shares over time as an SVG line chart")->check(svg_file());
  cmd->add_option("--epoch-unit", o->epoch_unit, "Unit of numeric (Unix) timestamps: s, ms, us or ns")
      ->capture_default_str()->check(CLI::IsMember({"s", "ms", "us", "ns"}));
  cmd->add_flag("--skip-empty-periods", o->skip_empty_periods,
                "List only the periods that hold texts (default: every period from the first to the last)");
  cmd->add_flag("--skip-bad-rows", o->skip_bad_rows, "Skip and count rows that cannot be read or whose timestamp cannot");
  cmd->callback([o, run] {
    *run = [o]() -> int {
      const Period period = parse_period(o->period);
      const int64_t per_second = o->epoch_unit == "ms" ? 1000 : o->epoch_unit == "us" ? 1000000
                               : o->epoch_unit == "ns" ? 1000000000 : 1;
      if (o->format != "text" && o->format != "csv" && o->format != "jsonl")
        throw std::invalid_argument("--format must be text, csv or jsonl, not '" + o->format + "'");
      o->m.clf.generate = false;  // only the labels' probabilities are needed
      o->in.skip_bad_rows = o->skip_bad_rows;
      const Classifier clf = Classifier::load(o->m.resolve(), o->m.clf);
      auto reader = open_reader(o->in);
      TrendTable table(clf.labels());
      Progress progress("trends", reader->size_hint());
      std::vector<InputRow> rows;
      std::vector<std::string> texts, keys;
      size_t bad = 0;
      std::string first_bad;
      while (read_rows(*reader, rows_per_chunk(clf.options().batch_size, kernels::threads_for(clf.options().threads)), &rows)) {
        texts.clear();
        keys.clear();
        for (auto& row : rows) {
          try {
            keys.push_back(period_key(parse_timestamp(row.extra, per_second), period));
          } catch (const std::invalid_argument& e) {
            const std::string where = reader->name() + ":" + std::to_string(row.line) + ": field '" +
                                      o->in.extra_field + "': " + e.what();
            if (!o->skip_bad_rows) throw Error(where + " (use --skip-bad-rows to skip such rows)");
            if (bad++ == 0) first_bad = where;
            continue;
          }
          texts.push_back(std::move(row.text));
        }
        const auto preds = clf.classify_batch(texts);
        for (size_t i = 0; i < preds.size(); ++i) table.add(keys[i], preds[i].label_index);
        progress.add(rows.size());
      }
      progress.finish();
      if (bad > 0) std::cerr << "emot5: skipped " << bad << " row(s) with an unreadable timestamp; first: " << first_bad << "\n";
      if (reader->bad_rows() > 0)
        std::cerr << "emot5: skipped " << reader->bad_rows() << " bad row(s); first: " << reader->first_bad_row() << "\n";
      if (table.total() == 0) throw Error(reader->name() + ": no rows to count");
      if (!o->skip_empty_periods && !table.fill_gaps(period))
        std::cerr << "emot5: the rows span more than " << TrendTable::kMaxFilledPeriods << " " << o->period
                  << "s; periods without texts are left out\n";
      std::cout << (o->format == "csv" ? table.csv() : o->format == "jsonl" ? table.jsonl() : table.table());
      if (!std::cout.flush()) throw std::runtime_error("writing to stdout failed");
      if (!o->plot.empty()) write_file_atomic(o->plot, table.svg("Emotions per " + o->period + ": " + reader->name()));
      return 0;
    };
  });
}

}  // namespace emot5::app
