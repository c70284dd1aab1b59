// Distillation targets from teachers (see distill.h).
#include "train/distill.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "io/error.h"
#include "io/file_util.h"
#include "train/evaluation.h"

namespace emot5::train {

std::vector<Checkpoint> open_teachers(const std::vector<std::string>& dirs, const std::string& spiece,
                                      const LabelSet& ls) {
  if (dirs.empty()) return {};
  auto first = first_tokens(ls);
  std::sort(first.begin(), first.end());
  if (std::unique(first.begin(), first.end()) != first.end())
    throw std::invalid_argument(
        "--teacher needs labels whose first tokens differ (distillation compares the first decoder step's "
        "distributions over the label words' first tokens)");
  const std::string student_spiece = read_file(spiece);
  std::vector<Checkpoint> teachers;
  for (const auto& dir : dirs) {
    teachers.push_back(open_checkpoint(dir));
    const std::string& sp = teachers.back().spiece_path;
    if (sp.empty()) throw Error("--teacher " + dir + ": no spiece.model in the directory");
    if (read_file(sp) != student_spiece)
      throw Error("--teacher " + dir + ": its spiece.model differs from the student's tokenizer (" + spiece +
                  "); a teacher must read the texts with the same pieces");
  }
  return teachers;
}

torch::Tensor teacher_targets(const std::vector<Checkpoint>& teachers, double temperature, const EncodedData& train,
                              const LabelSet& ls, torch::Device dev) {
  const auto gold = torch::tensor(train.labels, torch::kInt64);
  torch::Tensor sum;
  for (const auto& ck : teachers) {
    const auto t0 = std::chrono::steady_clock::now();
    TorchT5 teacher(ck.config, *ck.weights);
    teacher.to(dev);
    const auto p = label_probabilities(teacher, train, ls, dev, temperature);
    const double agree = (p.argmax(1) == gold).to(torch::kFloat64).mean().item<double>();
    std::cerr << "--teacher " << ck.dir << ": label distributions of " << train.inputs.size() << " training texts in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
              << " s; its top label is the training label for " << 100.0 * agree << "% of them\n";
    sum = sum.defined() ? sum + p : p;
  }
  return sum / static_cast<double>(teachers.size());
}

}  // namespace emot5::train
