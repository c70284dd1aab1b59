// The CLI's JSONL reader with --keep and its CSV reader, and the labeled-data reader of eval and
// train: any file gives rows or an emot5::Error naming a line, never a crash.
#include "apps/input.h"
#include "eval/dataset.h"
#include "fuzz_util.h"
#include "io/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace emot5;
  const std::vector<std::string> labels = {"sadness", "joy", "love"};
  for (const char* suffix : {".jsonl", ".csv"}) {
    const std::string& path = fuzz::write_temp(data, size, suffix);
    for (bool skip : {false, true}) {
      try {
        app::InputSpec spec;
        spec.file = path;
        spec.keep_fields = {"id", "label"};
        spec.skip_bad_rows = skip;
        auto reader = app::open_reader(spec);
        app::InputRow row;
        while (reader->next(&row)) {
        }
      } catch (const Error&) {
      }
      try {
        DatasetOptions o;
        o.skip_bad_rows = skip;
        (void)load_dataset(path, labels, o);
      } catch (const Error&) {
      }
    }
  }
  return 0;
}
