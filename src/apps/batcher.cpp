// Joining requests into shared passes (see batcher.h).
#include "apps/batcher.h"

#include <algorithm>
#include <exception>
#include <future>
#include <memory>
#include <stdexcept>
#include <utility>

namespace emot5::app {

PassPlan plan_passes(int cores, size_t passes, int threads) {
  const auto c = static_cast<size_t>(std::max(1, cores));
  PassPlan plan{passes > 0 ? passes : std::max<size_t>(2, c / 4), threads};
  if (plan.threads <= 0) plan.threads = static_cast<int>(std::max<size_t>(1, c / plan.passes));
  return plan;
}

Batcher::Batcher(Run run, size_t max_texts, size_t workers, bool join)
    : run_(std::move(run)), max_texts_(max_texts), join_(join) {
  if (max_texts_ == 0 || workers == 0) throw std::invalid_argument("Batcher: max_texts and workers must be positive");
  for (size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

std::vector<Prediction> Batcher::classify(std::vector<std::string> texts) {
  auto result = std::make_shared<std::promise<std::vector<Prediction>>>();
  auto future = result->get_future();
  submit(std::move(texts), {}, [result](std::vector<Prediction> preds, std::exception_ptr error, const Timing&) {
    if (error)
      result->set_exception(error);
    else
      result->set_value(std::move(preds));
  });
  return future.get();
}

void Batcher::submit(std::vector<std::string> texts, Needs needs, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw std::logic_error("Batcher: submit after shutdown began");
    queue_.push_back(Job{std::move(texts), needs, std::move(done), std::chrono::steady_clock::now()});
    // Under the lock: once it is released, the job may be answered and the Batcher destroyed.
    wake_.notify_one();
  }
}

Batcher::Stats Batcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.waiting = queue_.size();
  return s;
}

void Batcher::work() {
  for (;;) {
    std::vector<Job> jobs;
    std::vector<std::string> texts;
    Needs needs;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to do
      // Every waiting request that fits, in arrival order; the first one always.
      while (!queue_.empty() &&
             (jobs.empty() || (join_ && texts.size() + queue_.front().texts.size() <= max_texts_))) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
        for (auto& t : jobs.back().texts) texts.push_back(std::move(t));
        needs.log_probs = needs.log_probs || jobs.back().needs.log_probs;
        needs.generate = needs.generate || jobs.back().needs.generate;
      }
      stats_.requests += jobs.size();
      stats_.texts += texts.size();
      stats_.passes += 1;
    }
    std::vector<std::vector<Prediction>> results;
    const auto started = std::chrono::steady_clock::now();
    Timing timing;
    timing.pass_texts = texts.size();
    try {
      std::vector<Prediction> preds = texts.empty() ? std::vector<Prediction>{} : run_(texts, needs);
      if (preds.size() != texts.size())
        throw std::logic_error("Batcher: " + std::to_string(preds.size()) + " predictions for " +
                               std::to_string(texts.size()) + " texts");
      auto at = preds.begin();
      for (const auto& job : jobs) {
        const auto n = static_cast<ptrdiff_t>(job.texts.size());
        results.emplace_back(std::make_move_iterator(at), std::make_move_iterator(at + n));
        at += n;
      }
    } catch (...) {
      results.clear();
      const auto error = std::current_exception();
      timing.inference_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      for (size_t i = 0; i < jobs.size(); ++i) {
        timing.queue_s = std::chrono::duration<double>(started - jobs[i].queued).count();
        timing.first_in_pass = i == 0;
        jobs[i].done({}, error, timing);
      }
      continue;
    }
    timing.inference_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (size_t i = 0; i < jobs.size(); ++i) {
      timing.queue_s = std::chrono::duration<double>(started - jobs[i].queued).count();
      timing.first_in_pass = i == 0;
      jobs[i].done(std::move(results[i]), nullptr, timing);
    }
  }
}

}  // namespace emot5::app
