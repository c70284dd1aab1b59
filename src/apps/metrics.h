// emot5 serve's Prometheus metrics (GET /metrics, text exposition format 0.0.4), all prefixed
// emot5_: requests by route and status code; request, queue and inference durations and texts
// per forward pass as histograms; texts classified; requests in flight and waiting as gauges;
// and an info gauge naming the model, the precision and the version. Thread-safe.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace emot5::app {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // The _bucket, _sum and _count lines of `name` with the extra label text `labels` ("" or
  // `route="/predict"`).
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<unsigned long long> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  unsigned long long count_ = 0;
};

class Metrics {
 public:
  Metrics(std::string model, std::string precision, std::string version);
  // A request answered: its route (one of a fixed set, so the labels stay few), status and time.
  void request(const std::string& route, int status, double seconds);
  // A model request answered by a forward pass: its wait, the pass's time, its own texts.
  void model_request(double queue_s, double inference_s, size_t texts);
  // A forward pass and the texts in it.
  void forward_pass(size_t texts);
  std::string render(size_t in_flight, size_t waiting) const;

 private:
  mutable std::mutex mu_;
  std::string info_labels_;
  std::map<std::pair<std::string, int>, unsigned long long> requests_;
  std::map<std::string, Histogram> durations_;
  Histogram queue_, inference_, pass_texts_;
  unsigned long long texts_ = 0;
};

}  // namespace emot5::app
