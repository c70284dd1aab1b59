// emot5 eval: accuracy, macro/weighted F1, per-class table, confusion matrix, calibration and
// non-label generations of a model on a labeled file; as a table, JSON, and an SVG plot.
#include <iostream>

#include "apps/commands.h"
#include "apps/labeled.h"
#include "apps/output.h"
#include "eval/dataset.h"
#include "eval/metrics.h"
#include "io/file_util.h"

namespace emot5::app {

void add_eval(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a model on a labeled .jsonl or .csv file");
  struct Opts {
    ModelOptions m;
    std::string data, plot, plot_calibration;
    DatasetOptions ds;
    bool json = false, generate = false;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
  cmd->add_option("--data,--input,-i", o->data, "Labeled data (.jsonl or .csv)")->required();
  cmd->add_option("--text-field,--text-column", o->ds.text_field, "Field (or CSV column) holding the text")->capture_default_str();
  cmd->add_option("--label-field", o->ds.label_field, "Field (or CSV column) holding the label")->capture_default_str();
  cmd->add_flag("--skip-bad-rows", o->ds.skip_bad_rows, "Skip and count bad rows instead of stopping");
  cmd->add_flag("--json", o->json, "Print the report as JSON");
  cmd->add_option("--plot", o->plot, "Write the confusion matrix as an SVG file")->check(svg_file());
  cmd->add_option("--plot-calibration", o->plot_calibration,
                  "Write a reliability diagram (accuracy against confidence) as an SVG file")
      ->check(svg_file());
  add_generate_flags(cmd, &o->generate, "Also run greedy generation and count the answers that are no label");
  cmd->callback([o, run] {
    *run = [o]() -> int {
      o->m.clf.generate = o->generate;
      const std::string model_dir = o->m.resolve();
      const Classifier clf = Classifier::load(model_dir, o->m.clf);
      const Dataset ds = load_dataset(o->data, clf.labels(), o->ds);
      const auto preds = classify_rows(clf, ds, "eval");
      const EvalReport r = evaluate_predictions(clf.labels(), ds, preds, o->m.clf.generate);
      if (o->json) {
        auto j = report_json(r);
        j["model"] = model_dir;
        j["data"] = o->data;
        j["bad_rows_skipped"] = ds.bad_rows;
        std::cout << j.dump(2) << "\n";
      } else {
        std::cout << "model " << model_dir << "\ndata  " << o->data;
        if (ds.bad_rows) std::cout << " (" << ds.bad_rows << " bad rows skipped)";
        std::cout << "\n" << report_table(r);
      }
      if (!o->plot.empty()) write_file_atomic(o->plot, confusion_svg(r, "emot5 eval: " + o->data));
      if (!o->plot_calibration.empty())
        write_file_atomic(o->plot_calibration, calibration_svg(r, "emot5 eval, calibration: " + o->data));
      return 0;
    };
  });
}

}  // namespace emot5::app
