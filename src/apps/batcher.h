// Joins the texts of concurrent requests into shared forward passes (emot5 serve).
//
// One worker thread runs the model. While it runs a pass, new requests wait in a queue; the
// next pass takes every waiting request, up to max_texts texts (a larger request goes alone).
// A lone request therefore starts at once, with no waiting window, and under load the passes
// grow by themselves. Only the worker runs the model, so the cores are not oversubscribed by
// several requests' threads at once.
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
  // run: classifies texts in order (Classifier::classify_batch); called on the worker only.
  using Run = std::function<std::vector<Prediction>(const std::vector<std::string>&)>;

  Batcher(Run run, size_t max_texts);
  ~Batcher();  // finishes the queued requests, then stops the worker
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
  std::thread worker_;
};

}  // namespace emot5::app
