// Emotion trends over time (see trends.h).
#include "eval/trends.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "eval/chart.h"
#include "io/csv.h"

namespace emot5 {

namespace {

using namespace std::chrono;

// Reads exactly `n` digits at s[*i]; false if there are fewer.
bool digits(std::string_view s, size_t* i, int n, int* out) {
  if (*i + static_cast<size_t>(n) > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = s[*i + static_cast<size_t>(k)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *i += static_cast<size_t>(n);
  *out = v;
  return true;
}

[[noreturn]] void bad(std::string_view s, const std::string& why) {
  throw std::invalid_argument("'" + std::string(s) + "' is not a timestamp: " + why);
}

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
constexpr int64_t kFirstSecond = -62135596800, kLastSecond = 253402300799;

int64_t unix_seconds(std::string_view s, int64_t per_second) {
  const std::string_view whole = s.substr(0, s.find('.'));
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), v);
  if (ec != std::errc() || end != whole.data() + whole.size()) bad(s, "out of range");
  if (whole.size() < s.size()) {  // a fraction: floor, also below zero
    for (char c : s.substr(whole.size() + 1))
      if (c < '0' || c > '9') bad(s, "expected digits after '.'");
    if (s.front() == '-' && s.find_first_not_of("0", whole.size() + 1) != std::string_view::npos) --v;
  }
  const int64_t secs = v / per_second - ((v % per_second != 0 && v < 0) ? 1 : 0);  // floored
  if (secs < kFirstSecond || secs > kLastSecond) {
    std::string why = "outside the years 0001-9999";
    if (per_second < 1000 && secs / 1000 >= kFirstSecond && secs / 1000 <= kLastSecond)
      why += " (milliseconds? say so with --epoch-unit ms)";
    bad(s, why);
  }
  return secs;
}

std::string ymd_string(const year_month_day& d, bool with_day) {
  char buf[32];
  if (with_day)
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                  static_cast<unsigned>(d.day()));
  else
    std::snprintf(buf, sizeof buf, "%04d-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()));
  return buf;
}

}  // namespace

Period parse_period(const std::string& s) {
  if (s == "day") return Period::Day;
  if (s == "week") return Period::Week;
  if (s == "month") return Period::Month;
  if (s == "year") return Period::Year;
  throw std::invalid_argument("period must be day, week, month or year, not '" + s + "'");
}

int64_t parse_timestamp(std::string_view s, int64_t unix_per_second) {
  if (unix_per_second < 1) throw std::invalid_argument("parse_timestamp: unix_per_second must be positive");
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty()) throw std::invalid_argument("empty timestamp");
  // ISO 8601's basic format: eight digits are a date (20240305), never Unix time, which they
  // would place in 1970-1973 (seconds) or on 1970-01-01 (smaller units).
  const bool eight = s.size() >= 8 && s.substr(0, 8).find_first_not_of("0123456789") == std::string_view::npos;
  const bool basic = eight && (s.size() == 8 || s[8] == 'T' || s[8] == 't');
  if (eight && s.size() > 8 && s[8] == '.') bad(s, "eight digits are read as YYYYMMDD, and a date has no fraction");
  const size_t first = s.front() == '-' ? 1 : 0;
  if (!basic && s.size() > first && s.find_first_not_of("0123456789.", first) == std::string_view::npos &&
      std::count(s.begin(), s.end(), '.') <= 1 && s[first] != '.')
    return unix_seconds(s, unix_per_second);

  const std::string expected = "expected 2024-03-05, 2024-03-05T14:30:00Z, 20240305 or Unix seconds";
  size_t i = 0;
  int y, mo, d, h = 0, mi = 0, sec = 0;
  const auto separator = [&](char c) {  // the basic format has none
    if (basic) return true;
    return i < s.size() && s[i++] == c;
  };
  if (!digits(s, &i, 4, &y) || !separator('-') || !digits(s, &i, 2, &mo) || !separator('-') || !digits(s, &i, 2, &d))
    bad(s, expected);
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) bad(s, basic ? "no such date (eight digits are read as YYYYMMDD)" : "no such date");
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || (!basic && s[i] == ' '))) {
    ++i;
    if (!digits(s, &i, 2, &h) || !separator(':') || !digits(s, &i, 2, &mi)) bad(s, expected);
    if (i < s.size() && (basic ? s[i] >= '0' && s[i] <= '9' : s[i] == ':')) {
      if (!basic) ++i;
      if (!digits(s, &i, 2, &sec)) bad(s, expected);
      if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        const size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        if (i == start) bad(s, "expected digits after the decimal point");
      }
    }
    if (h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi > 0 || sec > 0))) bad(s, "no such time of day");
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i++] == '-' ? -1 : 1;
    int oh, om = 0;
    if (!digits(s, &i, 2, &oh)) bad(s, "expected an offset like +02:00");
    if (i < s.size() && s[i] == ':') ++i;
    if (i < s.size() && !digits(s, &i, 2, &om)) bad(s, "expected an offset like +02:00");
    if (oh > 23 || om > 59) bad(s, "no such offset");
    offset = sign * (oh * 3600 + om * 60);
  }
  if (i != s.size()) bad(s, expected);
  const int64_t days_since = sys_days{date}.time_since_epoch().count();
  return days_since * 86400 + h * 3600 + mi * 60 + sec - offset;
}

std::string period_key(int64_t seconds, Period p) {
  const sys_days d = floor<days>(sys_seconds{std::chrono::seconds{seconds}});
  switch (p) {
    case Period::Day: return ymd_string(year_month_day{d}, true);
    case Period::Week: {
      const unsigned iso = weekday{d}.iso_encoding();  // Monday 1 .. Sunday 7
      return ymd_string(year_month_day{d - days{iso - 1}}, true);
    }
    case Period::Month: return ymd_string(year_month_day{d}, false);
    case Period::Year: return std::to_string(static_cast<int>(year_month_day{d}.year()));
  }
  return {};
}

std::string next_period_key(const std::string& key, Period p) {
  switch (p) {
    case Period::Day: return period_key(parse_timestamp(key) + 86400, p);
    case Period::Week: return period_key(parse_timestamp(key) + 7 * 86400, p);
    case Period::Month: return period_key(parse_timestamp(key + "-01") + 32 * 86400, p);
    case Period::Year: return period_key(parse_timestamp(key + "-01-01") + 366 * 86400, p);
  }
  return {};
}

bool TrendTable::fill_gaps(Period p, size_t max_periods) {
  if (counts_.size() < 2) return true;
  const std::string& last = counts_.rbegin()->first;
  std::vector<std::string> missing;
  size_t periods = 1;
  for (std::string k = counts_.begin()->first; k < last; k = next_period_key(k, p)) {
    if (++periods > max_periods) return false;
    if (!counts_.count(k)) missing.push_back(k);
  }
  for (const auto& k : missing) counts_[k].assign(labels_.size(), 0);
  return true;
}

void TrendTable::add(const std::string& period, int label_index, int64_t count) {
  if (label_index < 0 || static_cast<size_t>(label_index) >= labels_.size())
    throw std::invalid_argument("label index " + std::to_string(label_index) + " out of range");
  if (count < 0) throw std::invalid_argument("a negative count of texts: " + std::to_string(count));
  auto& row = counts_[period];
  if (row.empty()) row.assign(labels_.size(), 0);
  row[static_cast<size_t>(label_index)] += count;
  total_ += count;
}

namespace {
int64_t row_total(const std::vector<int64_t>& row) {
  int64_t n = 0;
  for (auto v : row) n += v;
  return n;
}
}  // namespace

std::string TrendTable::csv() const {
  std::ostringstream o;
  o << "period,texts";
  for (const auto& l : labels_) o << "," << csv_escape(l);
  o << "\n";
  char buf[32];
  for (const auto& [period, row] : counts_) {
    const auto n = row_total(row);
    o << period << "," << n;
    for (auto v : row) {
      if (n == 0) {
        o << ",";
        continue;
      }
      std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(v) / static_cast<double>(n));
      o << "," << buf;
    }
    o << "\n";
  }
  return o.str();
}

std::string TrendTable::jsonl() const {
  std::ostringstream o;
  for (const auto& [period, row] : counts_) {
    const auto n = row_total(row);
    nlohmann::ordered_json j, counts = nlohmann::ordered_json::object(), shares = nlohmann::ordered_json::object();
    j["period"] = period;
    j["texts"] = n;
    for (size_t k = 0; k < labels_.size(); ++k) {
      counts[labels_[k]] = row[k];
      if (n == 0)
        shares[labels_[k]] = nullptr;
      else
        shares[labels_[k]] = static_cast<double>(row[k]) / static_cast<double>(n);
    }
    j["counts"] = counts;
    j["shares"] = shares;
    o << j.dump() << "\n";
  }
  return o.str();
}

std::string TrendTable::table() const {
  std::ostringstream o;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-12s %9s", "period", "texts");
  o << buf;
  for (const auto& l : labels_) {
    std::snprintf(buf, sizeof buf, " %9s", l.c_str());
    o << buf;
  }
  o << "\n";
  for (const auto& [period, row] : counts_) {
    const auto n = row_total(row);
    std::snprintf(buf, sizeof buf, "%-12s %9lld", period.c_str(), static_cast<long long>(n));
    o << buf;
    for (auto v : row) {
      if (n == 0)
        std::snprintf(buf, sizeof buf, " %9s", "-");
      else
        std::snprintf(buf, sizeof buf, " %8.1f%%", 100.0 * static_cast<double>(v) / static_cast<double>(n));
      o << buf;
    }
    o << "\n";
  }
  return o.str();
}

std::string TrendTable::svg(const std::string& title) const {
  Chart c;
  c.title = title;
  c.subtitle = std::to_string(total_) + " texts in " + std::to_string(counts_.size()) +
               " periods; lines: each predicted label's share of the period's texts (broken where none)";
  ChartPanel p;
  p.y_title = "share of texts";
  p.percent = true;
  p.bars_note = "grey: texts per period";
  double top = 0.1;
  for (const auto& l : labels_) p.series.push_back({l, {}});
  for (const auto& [period, row] : counts_) {
    const auto n = static_cast<double>(row_total(row));
    c.x.push_back(static_cast<double>(c.x.size()));
    c.x_labels.push_back(period);
    p.bars.push_back(n);
    for (size_t k = 0; k < row.size(); ++k) {
      if (n == 0) {
        p.series[k].y.push_back(std::nan(""));
        continue;
      }
      p.series[k].y.push_back(static_cast<double>(row[k]) / n);
      top = std::max(top, p.series[k].y.back());
    }
  }
  p.y_min = 0;
  p.y_max = std::min(1.0, std::ceil(top * 10 - 1e-9) / 10);
  c.panels.push_back(std::move(p));
  return chart_svg(c);
}

}  // namespace emot5
