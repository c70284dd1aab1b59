// Emotion trends over time: timestamps parsed from ISO 8601 or Unix seconds, grouped into days,
// ISO weeks, months or years, and each period's share of every predicted label; printed as a
// table, CSV or JSON lines and plotted as an SVG line chart.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace emot5 {

enum class Period { Day, Week, Month, Year };
Period parse_period(const std::string& s);  // "day", "week", "month", "year"; std::invalid_argument

// Seconds since 1970-01-01T00:00:00Z of "2024-03-05", "2024-03-05T14:30", "2024-03-05 14:30:00",
// with optional fractional seconds and a "Z" or "+02:00" / "-0500" offset (none: UTC), of ISO 8601's
// basic format "20240305" or "20240305T143000Z" (eight digits are always a date), or of a
// number of Unix time units (unix_per_second units a second: 1 for seconds, 1000 for
// milliseconds, ...), floored to the second. Years outside 0001-9999 are refused. Throws
// std::invalid_argument saying what is wrong.
int64_t parse_timestamp(std::string_view s, int64_t unix_per_second = 1);

// The period holding `seconds` (UTC): "2024-03-05" (day), the Monday that starts its ISO week,
// "2024-03-04" (week), "2024-03" (month), "2024" (year). Keys sort in time order.
std::string period_key(int64_t seconds, Period p);

// The period after `key` (a period_key of the same kind): "2024-02-28" -> "2024-02-29" (day),
// "2024-12-30" -> "2025-01-06" (week), "2023-12" -> "2024-01" (month), "2024" -> "2025" (year).
std::string next_period_key(const std::string& key, Period p);

class TrendTable {
 public:
  explicit TrendTable(std::vector<std::string> labels) : labels_(std::move(labels)) {}
  void add(const std::string& period, int label_index, int64_t count = 1);  // count texts at once
  const std::vector<std::string>& labels() const { return labels_; }
  // Per period (in time order): how many texts had each label.
  const std::map<std::string, std::vector<int64_t>>& counts() const { return counts_; }
  int64_t total() const { return total_; }
  // Adds the periods without texts between the first and the last, so that time runs evenly
  // down the table and along the plot. Adds nothing and returns false when that would make more
  // than max_periods periods in all.
  static constexpr size_t kMaxFilledPeriods = 100000;
  bool fill_gaps(Period p, size_t max_periods = kMaxFilledPeriods);

  // Columns: period, texts, then each label's share of the period's texts (empty cells, null or
  // "-" for a period without texts).
  std::string csv() const;
  std::string jsonl() const;   // {"period", "texts", "counts": {...}, "shares": {...}}
  std::string table() const;   // aligned, shares in percent
  // One line per label: its share in each period (periods evenly spaced in time order).
  std::string svg(const std::string& title) const;

 private:
  std::vector<std::string> labels_;
  std::map<std::string, std::vector<int64_t>> counts_;
  int64_t total_ = 0;
};

}  // namespace emot5
