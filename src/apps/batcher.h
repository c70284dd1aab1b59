// Joins the texts of concurrent requests into shared forward passes (emot5 serve).
//
// `workers` threads run the model, one pass each. While all of them are busy, new requests wait
// in a queue; the next free worker takes every waiting request, up to max_texts texts (a larger
// request goes alone). A lone request therefore starts at once, with no waiting window, and
// under load the passes grow by themselves, while at most `workers` passes (each with its own
// OpenMP team) share the cores.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "emot5/emot5.h"

namespace emot5::app {

class Batcher {
 public:
  // run: classifies texts in order (Classifier::classify_batch); called on the workers only,
  // by several at once when workers > 1.
  using Run = std::function<std::vector<Prediction>(const std::vector<std::string>&)>;

  Batcher(Run run, size_t max_texts, size_t workers = 1);
  ~Batcher();  // finishes the queued requests, then stops the workers
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Blocks until the texts' pass has run; rethrows what `run` threw for it.
  std::vector<Prediction> classify(std::vector<std::string> texts);

  struct Stats {
    uint64_t requests = 0, texts = 0, passes = 0;  // taken into passes so far
    uint64_t waiting = 0;                          // requests in the queue now
  };
  Stats stats() const;

 private:
  struct Job {
    std::vector<std::string> texts;
    std::promise<std::vector<Prediction>> done;
  };
  void work();

  Run run_;
  size_t max_texts_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::vector<std::thread> workers_;
};

// How serve shares the cores among passes, for --passes and --threads left at 0: one pass per 4
// cores (at least 2), each with an equal share of the cores (at least 1 thread): passes that each
// ask for every core would oversubscribe them, each OpenMP team waiting on the others' threads.
struct PassPlan {
  size_t passes;
  int threads;  // per pass
};
PassPlan plan_passes(int cores, size_t passes, int threads);

}  // namespace emot5::app
