// Word vectors as a starting embedding (train/word_vectors.h): which pieces match which words,
// what the map into d_model keeps (angles of the centred vectors, T5's init norm), and the
// errors a malformed file gets.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "bad_files.h"
#include "emot5/error.h"
#include "train/word_vectors.h"

namespace fs = std::filesystem;
using emot5::train::PieceVectors;
using emot5::train::place_piece_vectors;
using emot5::train::read_piece_vectors;

namespace {

const std::vector<std::string> kPieces = {"<pad>", "\xE2\x96\x81happy", "\xE2\x96\x81Happy", "ing",
                                          "\xE2\x96\x81sad", "\xE2\x96\x81table", "\xE2\x96\x81"};

// Writes `text` to a file under this process's temporary directory (removed at exit).
std::string write_file(const std::string& name, const std::string& text) {
  static emot5::test::TempDirs temp_dirs;
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("emot5_wv_" + std::to_string(::getpid()));
    fs::create_directories(d);
    temp_dirs.dirs.push_back(d);
    return d;
  }();
  const auto p = (dir / name).string();
  std::ofstream(p) << text;
  return p;
}

std::string error_of(const std::string& path) {
  try {
    read_piece_vectors(path, kPieces);
  } catch (const emot5::Error& e) {
    return e.what();
  }
  return "";
}

std::vector<double> row(const torch::Tensor& t, int64_t i) {
  auto r = t[i].to(torch::kFloat64).contiguous();
  return {r.data_ptr<double>(), r.data_ptr<double>() + r.numel()};
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

TEST(WordVectors, WholeWordPiecesMatchExactlyThenInLowercase) {
  // A word2vec header, then "happy" before "Happy": the exact match wins for "▁Happy" although
  // the lowercase one came first; "ing" (a sub-word piece) and "▁" never match; "chair" matches
  // nothing.
  const auto p = write_file("match.txt", "5 3\nhappy 1 0 0\nchair 9 9 9\nHappy 0 0 1\nsad 0 1 0\ning 5 5 5\n");
  const PieceVectors pv = read_piece_vectors(p, kPieces);
  EXPECT_EQ(pv.dim, 3);
  EXPECT_EQ(pv.words, 5);
  ASSERT_EQ(pv.ids, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(std::vector<float>(pv.values.begin(), pv.values.begin() + 3), (std::vector<float>{1, 0, 0}));
  EXPECT_EQ(std::vector<float>(pv.values.begin() + 3, pv.values.begin() + 6), (std::vector<float>{0, 0, 1}));
  EXPECT_EQ(std::vector<float>(pv.values.begin() + 6, pv.values.end()), (std::vector<float>{0, 1, 0}));
}

TEST(WordVectors, TwoIntegersOnTheFirstLineAreAHeaderOnlyWhenTheNextLineFitsIt) {
  // "1 2" then 1-dimensional vectors: the first line is the vector of the word "1".
  PieceVectors pv = read_piece_vectors(write_file("onedim.txt", "1 2\nhappy 0.5\nsad 0.25\n"), kPieces);
  EXPECT_EQ(pv.dim, 1);
  EXPECT_EQ(pv.words, 3);
  EXPECT_EQ(pv.ids, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(pv.values, (std::vector<float>{0.5f, 0.5f, 0.25f}));
  // "2 1" then 1-dimensional vectors: a header that fits.
  pv = read_piece_vectors(write_file("onedim_header.txt", "2 1\nhappy 0.5\nsad 0.25\n"), kPieces);
  EXPECT_EQ(pv.dim, 1);
  EXPECT_EQ(pv.words, 2);
}

TEST(WordVectors, TheMapKeepsAnglesOfCentredVectorsAndSetsTheInitNorm) {
  for (const int64_t d : {8, 2}) {  // d_model above and below the vectors' 3 dimensions
    PieceVectors pv;
    pv.dim = 3;
    pv.ids = {1, 2, 4, 5};
    pv.values = {3, 1, 0, -1, 2, 0.5f, 0, 0, 4, 1, -2, 1};
    auto emb = torch::full({7, d}, 0.25f);
    place_piece_vectors(emb, pv, 0.5, 42);
    for (int64_t i : {0, 3, 6})
      for (double x : row(emb, i)) EXPECT_EQ(x, 0.25) << "row " << i << " is not a matched piece";
    for (size_t a = 0; a < 4; ++a) EXPECT_NEAR(std::sqrt(dot(row(emb, pv.ids[a]), row(emb, pv.ids[a]))),
                                               0.5 * std::sqrt(static_cast<double>(d)), 1e-5);
    if (d < 3) continue;  // a projection to fewer dimensions cannot keep every angle
    // Centred by hand: the mean of the four vectors is (0.75, 0.25, 1.375).
    std::vector<std::vector<double>> c(4);
    for (size_t a = 0; a < 4; ++a)
      c[a] = {pv.values[a * 3] - 0.75, pv.values[a * 3 + 1] - 0.25, pv.values[a * 3 + 2] - 1.375};
    for (size_t a = 0; a < 4; ++a)
      for (size_t b = 0; b < 4; ++b) {
        const double want = dot(c[a], c[b]) / std::sqrt(dot(c[a], c[a]) * dot(c[b], c[b]));
        const auto ra = row(emb, pv.ids[a]), rb = row(emb, pv.ids[b]);
        EXPECT_NEAR(dot(ra, rb) / std::sqrt(dot(ra, ra) * dot(rb, rb)), want, 1e-5) << a << "," << b;
      }
    // The map depends on the seed only.
    auto again = torch::full({7, d}, 0.25f), other = torch::full({7, d}, 0.25f);
    place_piece_vectors(again, pv, 0.5, 42);
    place_piece_vectors(other, pv, 0.5, 43);
    EXPECT_TRUE(torch::equal(again, emb));
    EXPECT_FALSE(torch::equal(other, emb));
  }
}

TEST(WordVectors, MalformedFilesNameTheFileAndLine) {
  const auto short_line = write_file("short.txt", "happy 1 0 0\nsad 0 1\n");
  EXPECT_NE(error_of(short_line).find(short_line + ":2: expected 3 numbers after the word, found 2"), std::string::npos)
      << error_of(short_line);
  const auto bad_number = write_file("nan.txt", "happy 1 0 0\nsad 0 x1 0\n");
  EXPECT_NE(error_of(bad_number).find(bad_number + ":2: 'x1' is not a number"), std::string::npos) << error_of(bad_number);
  const auto inf = write_file("inf.txt", "happy 1 inf 0\n");
  EXPECT_NE(error_of(inf).find(inf + ":1: 'inf' is not a number"), std::string::npos) << error_of(inf);
  const auto none = write_file("none.txt", "chair 1 2\n");
  EXPECT_NE(error_of(none).find("no word of its 1 vectors"), std::string::npos) << error_of(none);
  const auto empty = write_file("empty.txt", "");
  EXPECT_NE(error_of(empty).find("no word of its 0 vectors"), std::string::npos) << error_of(empty);
  EXPECT_NE(error_of("/nonexistent/vectors.txt").find("/nonexistent/vectors.txt: cannot open"), std::string::npos);
}
