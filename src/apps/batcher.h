// Joins the texts of concurrent requests into shared forward passes (emot5 serve).
//
// `workers` threads run the model, one pass each. While all of them are busy, new requests wait
// in a queue; the next free worker takes every waiting request, up to max_texts texts (a larger
// request goes alone). A lone request therefore starts at once, with no waiting window, and
// under load the passes grow by themselves, while at most `workers` passes (each with its own
// OpenMP team) share the cores.
#pragma once
#include <chrono>
#include <condition_variable>
#include <exception>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "emot5/emot5.h"

namespace emot5::app {

class Batcher {
 public:
  // What a pass must compute beyond the labels' probabilities: every prediction's log_probs,
  // and greedy generation (Prediction::generated). A pass does what any of its requests asks.
  struct Needs {
    bool log_probs = false;
    bool generate = false;
  };
  // run: classifies texts in order (Classifier::classify_batch) with what `needs` says; called
  // on the workers only, by several at once when workers > 1.
  using Run = std::function<std::vector<Prediction>(const std::vector<std::string>&, const Needs& needs)>;

  // What a request's pass cost it: the time it waited in the queue, the time its pass ran, and
  // the texts in that pass (its own and those it was joined with).
  struct Timing {
    double queue_s = 0, inference_s = 0;
    size_t pass_texts = 0;
    bool first_in_pass = false;  // exactly one request of each pass has it
  };
  // Called once on a worker thread with the predictions, or with the exception `run` threw.
  using Done = std::function<void(std::vector<Prediction>, std::exception_ptr, const Timing&)>;

  // join false: every request runs alone in its own pass (serve --no-batching).
  Batcher(Run run, size_t max_texts, size_t workers = 1, bool join = true);
  ~Batcher();  // finishes the queued requests, then stops the workers
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Blocks until the texts' pass has run; rethrows what `run` threw for it.
  std::vector<Prediction> classify(std::vector<std::string> texts);
  // Queues the texts and returns at once; `done` runs when their pass has.
  void submit(std::vector<std::string> texts, Needs needs, Done done);

  struct Stats {
    uint64_t requests = 0, texts = 0, passes = 0;  // taken into passes so far
    uint64_t waiting = 0;                          // requests in the queue now
  };
  Stats stats() const;

 private:
  struct Job {
    std::vector<std::string> texts;
    Needs needs;
    Done done;
    std::chrono::steady_clock::time_point queued;
  };
  void work();

  Run run_;
  size_t max_texts_;
  bool join_;
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
