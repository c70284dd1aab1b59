// Prometheus metrics (see metrics.h).
#include "apps/metrics.h"

#include <charconv>

namespace emot5::app {

namespace {

const std::vector<double> kSeconds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
const std::vector<double> kTexts = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

// The shortest text that reads back as `v` (0.005, not 0.0050000000000000001).
std::string number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// A label value with \, " and newlines escaped, as the text format wants.
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  unsigned long long cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + number(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics(std::string model, std::string precision, std::string version)
    : info_labels_("model=\"" + escaped(model) + "\",precision=\"" + escaped(precision) + "\",version=\"" +
                   escaped(version) + "\""),
      queue_(kSeconds),
      inference_(kSeconds),
      pass_texts_(kTexts) {}

void Metrics::request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
  durations_.try_emplace(route, kSeconds).first->second.observe(seconds);
}

void Metrics::model_request(double queue_s, double inference_s, size_t texts) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.observe(queue_s);
  inference_.observe(inference_s);
  texts_ += texts;
}

void Metrics::forward_pass(size_t texts) {
  std::lock_guard<std::mutex> lock(mu_);
  pass_texts_.observe(static_cast<double>(texts));
}

std::string Metrics::render(size_t in_flight, size_t waiting) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  header(out, "emot5_info", "gauge", "The served model, its precision and emot5's version.");
  out += "emot5_info{" + info_labels_ + "} 1\n";
  header(out, "emot5_requests_total", "counter", "HTTP requests answered, by route and status code.");
  for (const auto& [key, n] : requests_)
    out += "emot5_requests_total{route=\"" + escaped(key.first) + "\",code=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  header(out, "emot5_request_duration_seconds", "histogram", "Time from a request's arrival to its answer, by route.");
  for (const auto& [route, h] : durations_) h.render(out, "emot5_request_duration_seconds", "route=\"" + escaped(route) + "\"");
  header(out, "emot5_queue_duration_seconds", "histogram", "Time a model request waited for a forward pass.");
  queue_.render(out, "emot5_queue_duration_seconds", "");
  header(out, "emot5_inference_duration_seconds", "histogram", "Time of the forward pass that answered a model request.");
  inference_.render(out, "emot5_inference_duration_seconds", "");
  header(out, "emot5_batch_texts", "histogram", "Texts in the forward pass that answered a model request.");
  pass_texts_.render(out, "emot5_batch_texts", "");
  header(out, "emot5_texts_total", "counter", "Texts classified.");
  out += "emot5_texts_total " + std::to_string(texts_) + "\n";
  header(out, "emot5_requests_in_flight", "gauge", "Model requests accepted and not yet answered.");
  out += "emot5_requests_in_flight " + std::to_string(in_flight) + "\n";
  header(out, "emot5_requests_waiting", "gauge", "Model requests waiting for a forward pass.");
  out += "emot5_requests_waiting " + std::to_string(waiting) + "\n";
  return out;
}

}  // namespace emot5::app
