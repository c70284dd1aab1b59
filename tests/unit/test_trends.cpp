// Trends: timestamp parsing, periods, the per-period shares and their outputs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <cmath>
#include <sstream>

#include "eval/chart.h"
#include "eval/trends.h"

namespace emot5 {
namespace {

constexpr int64_t kMar5 = 1709596800;  // 2024-03-05T00:00:00Z, a Tuesday

// Each of `bad` is refused with an error that says `says` (by default: names it as a timestamp).
void expect_refused(std::initializer_list<const char*> bad, const char* says = "timestamp") {
  for (const char* s : bad) {
    try {
      parse_timestamp(s);
      ADD_FAILURE() << "accepted '" << s << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
}

TEST(Timestamp, IsoDatesAndTimes) {
  EXPECT_EQ(parse_timestamp("2024-03-05"), kMar5);
  EXPECT_EQ(parse_timestamp("2024-03-05T14:30:00Z"), kMar5 + 52200);
  EXPECT_EQ(parse_timestamp("2024-03-05 14:30"), kMar5 + 52200);
  EXPECT_EQ(parse_timestamp(" 2024-03-05t14:30:00.987z "), kMar5 + 52200);
  EXPECT_EQ(parse_timestamp("2024-03-05T14:30:00+02:00"), kMar5 + 52200 - 7200);
  EXPECT_EQ(parse_timestamp("2024-03-05T14:30:00-0500"), kMar5 + 52200 + 18000);
  EXPECT_EQ(parse_timestamp("2024-02-29"), kMar5 - 5 * 86400);  // a leap day
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_timestamp("1969-12-31T23:59:59Z"), -1);
}

TEST(Timestamp, Iso8601BasicFormatIsADateNotUnixTime) {
  // As Unix seconds, 20240305 would be 1970-08-23T06:18:25Z.
  EXPECT_EQ(parse_timestamp("20240305"), kMar5);
  EXPECT_EQ(parse_timestamp("20240305", 1000), kMar5);  // the unit is for Unix time only
  EXPECT_EQ(parse_timestamp("20240305T1430"), kMar5 + 52200);
  EXPECT_EQ(parse_timestamp("20240305T143000Z"), kMar5 + 52200);
  EXPECT_EQ(parse_timestamp("20240305t143000.25+0200"), kMar5 + 52200 - 7200);
  EXPECT_EQ(parse_timestamp("19700101"), 0);
  // Nine digits and more stay Unix time.
  EXPECT_EQ(parse_timestamp("170959680"), 170959680);
  EXPECT_EQ(parse_timestamp("170959680.5"), 170959680);
  // With a fraction, eight digits are neither: 1970-08-23 as seconds, no date as YYYYMMDD.
  expect_refused({"20240305.5", "20240305.0", "12345678.25"}, "YYYYMMDD");
  expect_refused({"20240230", "20241301", "12345678", "20240305T14:30", "20240305T14", "20240305 1430", "2024-0305",
                  "20240305T143000+2"});
}

TEST(Timestamp, UnixSeconds) {
  EXPECT_EQ(parse_timestamp("1709596800"), kMar5);
  EXPECT_EQ(parse_timestamp("1709596800.9"), kMar5);  // floored
  EXPECT_EQ(parse_timestamp("-1.5"), -2);
  EXPECT_EQ(parse_timestamp("-2.0"), -2);
  EXPECT_EQ(parse_timestamp("1709596800123", 1000), kMar5);
  EXPECT_EQ(parse_timestamp("1709596800123456", 1000000), kMar5);
  EXPECT_EQ(parse_timestamp("-1", 1000), -1);  // floored
  EXPECT_EQ(parse_timestamp("253402300799"), 253402300799);  // 9999-12-31T23:59:59Z
}

TEST(Timestamp, MillisecondsReadAsSecondsAreRefusedWithAHint) {
  try {
    parse_timestamp("1709596800000");
    ADD_FAILURE() << "accepted milliseconds as seconds";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--epoch-unit ms"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_timestamp("253402300800"), std::invalid_argument);  // year 10000
  EXPECT_THROW(parse_timestamp("-62135596801"), std::invalid_argument);  // year 0
}

TEST(Timestamp, BadOnesSayWhy) {
  expect_refused({"", "yesterday", "2024-3-5", "2024-02-30", "2023-02-29", "2024-13-01", "2024-03-05T25:00",
                  "2024-03-05T14:61", "2024-03-05T14", "2024-03-05Z1", "2024-03-05T14:30:00+2", "1.2.3",
                  "99999999999999999999", "2024-03-05T14:30:00+24:00"});
}

TEST(Period, Keys) {
  const int64_t mar10 = kMar5 + 5 * 86400 + 3600;  // a Sunday
  EXPECT_EQ(period_key(mar10, Period::Day), "2024-03-10");
  EXPECT_EQ(period_key(mar10, Period::Week), "2024-03-04");  // its ISO week starts on Monday the 4th
  EXPECT_EQ(period_key(mar10 + 86400, Period::Week), "2024-03-11");
  EXPECT_EQ(period_key(mar10, Period::Month), "2024-03");
  EXPECT_EQ(period_key(mar10, Period::Year), "2024");
  EXPECT_EQ(period_key(-1, Period::Day), "1969-12-31");
  EXPECT_EQ(period_key(0, Period::Week), "1969-12-29");  // 1970-01-01 was a Thursday
  EXPECT_EQ(period_key(parse_timestamp("2024-03-05T01:00:00+02:00"), Period::Day), "2024-03-04");  // UTC
  EXPECT_EQ(parse_period("week"), Period::Week);
  EXPECT_THROW(parse_period("hour"), std::invalid_argument);
}

TEST(TrendTable, SharesPerPeriodInTimeOrder) {
  TrendTable t({"joy", "fear"});
  t.add("2024-03", 0);
  t.add("2024-01", 1);
  t.add("2024-03", 0);
  t.add("2024-03", 1);
  t.add("2024-01", 1);
  EXPECT_EQ(t.total(), 5);
  EXPECT_EQ(t.csv(), "period,texts,joy,fear\n2024-01,2,0,1\n2024-03,3,0.666667,0.333333\n");
  std::istringstream lines(t.jsonl());
  std::string first;
  std::getline(lines, first);
  const auto j = nlohmann::json::parse(first);
  EXPECT_EQ(j["period"], "2024-01");
  EXPECT_EQ(j["texts"], 2);
  EXPECT_EQ(j["counts"]["fear"], 2);
  EXPECT_DOUBLE_EQ(j["shares"]["joy"].get<double>(), 0.0);
  EXPECT_NE(t.table().find("66.7%"), std::string::npos) << t.table();
  EXPECT_THROW(t.add("2024-01", 2), std::invalid_argument);
}

TEST(TrendTable, CsvQuotesLabelsThatNeedIt) {
  TrendTable t({"calm, content", "fear"});
  t.add("2024", 1);
  EXPECT_EQ(t.csv(), "period,texts,\"calm, content\",fear\n2024,1,0,1\n");
}

TEST(TrendTable, SvgHasALinePerLabel) {
  TrendTable t({"joy", "fear", "a<b"});
  for (int d = 1; d <= 30; ++d) t.add("2024-04-" + std::string(d < 10 ? "0" : "") + std::to_string(d), d % 3);
  const std::string svg = t.svg("trends of \"x\" & <y>");
  size_t lines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++lines;
  EXPECT_EQ(lines, 3u);
  EXPECT_NE(svg.find("trends of &quot;x&quot; &amp; &lt;y&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a&lt;b"), std::string::npos);
  EXPECT_EQ(svg.find("<b"), std::string::npos);
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(Chart, MissingPointsBreakTheLineAndTicksAreRound) {
  Chart c;
  c.x = {0, 1, 2, 3, 4};
  ChartPanel p;
  p.series.push_back({"a", {0.31, 0.42, std::nan(""), 0.55, 0.61}});
  p.series.push_back({"b", {0.2, 0.2, 0.2, 0.2, 0.2}});
  c.panels.push_back(p);
  const std::string svg = chart_svg(c);
  EXPECT_EQ(count(svg, "<polyline"), 3u);  // a: two pieces, b: one
  // The data span 0.2-0.61 (an eighth: 0.051): grid every 0.1 from 0.2 to 0.7.
  EXPECT_NE(svg.find(">0.7</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">0.2</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">0.65</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">0.1</text>"), std::string::npos);
  EXPECT_EQ(count(svg, "stroke=\"#ddd\""), 6u);  // 0.2, 0.3, ..., 0.7
}

TEST(TrendTable, NextPeriodCrossesMonthsYearsAndLeapDays) {
  EXPECT_EQ(next_period_key("2024-02-28", Period::Day), "2024-02-29");
  EXPECT_EQ(next_period_key("2023-02-28", Period::Day), "2023-03-01");
  EXPECT_EQ(next_period_key("2024-12-31", Period::Day), "2025-01-01");
  EXPECT_EQ(next_period_key("2024-12-30", Period::Week), "2025-01-06");
  EXPECT_EQ(next_period_key("2023-12", Period::Month), "2024-01");
  EXPECT_EQ(next_period_key("2024-01", Period::Month), "2024-02");
  EXPECT_EQ(next_period_key("2024", Period::Year), "2025");
}

TEST(TrendTable, FillGapsAddsEmptyPeriodsBetweenFirstAndLast) {
  TrendTable t({"joy", "fear"});
  t.add("2023-11", 0);
  t.add("2024-02", 1);
  ASSERT_TRUE(t.fill_gaps(Period::Month));
  EXPECT_EQ(t.total(), 2);
  EXPECT_EQ(t.csv(), "period,texts,joy,fear\n2023-11,1,1,0\n2023-12,0,,\n2024-01,0,,\n2024-02,1,0,1\n");
  std::istringstream lines(t.jsonl());
  std::string line;
  std::getline(lines, line);
  std::getline(lines, line);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["period"], "2023-12");
  EXPECT_EQ(j["texts"], 0);
  EXPECT_TRUE(j["shares"]["joy"].is_null());
  EXPECT_NE(t.table().find("2024-01              0         -         -"), std::string::npos) << t.table();
  // The plot's lines break at the empty periods: four points, two of them missing.
  const std::string svg = t.svg("gaps");
  EXPECT_NE(svg.find("4 periods"), std::string::npos);
}

TEST(TrendTable, FillGapsRefusesAHugeSpan) {
  TrendTable t({"joy"});
  t.add("1970-01-01", 0);
  t.add("2024-01-01", 0);
  EXPECT_FALSE(t.fill_gaps(Period::Day, 1000));
  EXPECT_EQ(t.counts().size(), 2u);
  EXPECT_TRUE(t.fill_gaps(Period::Day));  // 19,724 days
  EXPECT_EQ(t.counts().size(), 19724u);
}

}  // namespace
}  // namespace emot5
