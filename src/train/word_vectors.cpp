#include "train/word_vectors.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <random>
#include <string_view>
#include <unordered_map>

#include "io/error.h"

namespace emot5::train {

namespace {

constexpr std::string_view kWordStart = "\xE2\x96\x81";  // "▁", SentencePiece's word boundary

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const size_t b = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > b) out.push_back(line.substr(b, i - b));
  }
  return out;
}

bool is_integer(std::string_view s) {
  long v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

PieceVectors read_piece_vectors(const std::string& path, const std::vector<std::string>& pieces) {
  // Whole-word pieces by their word, and by its lowercase form (a weaker match).
  std::unordered_map<std::string, std::vector<int>> exact, lower;
  for (size_t id = 0; id < pieces.size(); ++id) {
    const std::string& p = pieces[id];
    if (p.size() <= kWordStart.size() || p.compare(0, kWordStart.size(), kWordStart) != 0) continue;
    const std::string word = p.substr(kWordStart.size());
    exact[word].push_back(static_cast<int>(id));
    lower[ascii_lower(word)].push_back(static_cast<int>(id));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the word vectors");
  PieceVectors pv;
  std::vector<int> quality(pieces.size(), 0);  // 0 none, 1 lowercase match, 2 exact
  std::vector<size_t> row(pieces.size(), 0);
  std::vector<float> v;
  const auto read_vector = [&](const std::vector<std::string_view>& tok, int64_t lineno) {
    if (pv.dim == 0) {
      if (tok.size() < 2) throw Error(path + ":" + std::to_string(lineno) + ": expected a word and its numbers");
      pv.dim = static_cast<int>(tok.size() - 1);
    }
    const auto D = static_cast<size_t>(pv.dim);
    if (tok.size() < D + 1)
      throw Error(path + ":" + std::to_string(lineno) + ": expected " + std::to_string(D) + " numbers after the word, found " +
                  std::to_string(tok.size() - 1));
    // A word with spaces in it (GloVe 840B has a few) is all but the last D fields.
    const size_t nw = tok.size() - D;
    std::string word(tok[0]);
    for (size_t k = 1; k < nw; ++k) {
      word.push_back(' ');
      word.append(tok[k]);
    }
    v.resize(D);
    for (size_t k = 0; k < D; ++k) {
      const auto s = tok[nw + k];
      const auto r = std::from_chars(s.data(), s.data() + s.size(), v[k]);
      if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v[k]))
        throw Error(path + ":" + std::to_string(lineno) + ": '" + std::string(s) + "' is not a number (field " +
                    std::to_string(nw + k + 1) + ")");
    }
    ++pv.words;
    auto take = [&](const std::vector<int>& ids, int q) {
      for (int id : ids) {
        const auto u = static_cast<size_t>(id);
        if (quality[u] >= q) continue;
        if (quality[u] == 0) {
          row[u] = pv.ids.size();
          pv.ids.push_back(id);
          pv.values.resize(pv.values.size() + D);
        }
        quality[u] = q;
        std::copy(v.begin(), v.end(), pv.values.begin() + static_cast<std::ptrdiff_t>(row[u] * D));
      }
    };
    if (auto it = exact.find(word); it != exact.end()) take(it->second, 2);
    if (auto it = lower.find(word); it != lower.end()) take(it->second, 1);
  };
  // word2vec's first line "COUNT DIM" is a header when DIM > 0 and the next line has a word and at
  // least DIM numbers; otherwise (a 1-dimensional file whose first word is a number, "1 2") it is a
  // vector too.
  std::string line, header;  // header: the first line while it may be word2vec's header
  size_t header_dim = 0;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto tok = split_spaces(line);
    if (tok.empty()) continue;
    if (lineno == 1 && tok.size() == 2 && is_integer(tok[0]) && is_integer(tok[1])) {
      header = line;
      std::from_chars(tok[1].data(), tok[1].data() + tok[1].size(), header_dim);
      continue;
    }
    if (!header.empty()) {
      if (header_dim == 0 || tok.size() < header_dim + 1) read_vector(split_spaces(header), 1);
      header.clear();
    }
    read_vector(tok, lineno);
  }
  if (!header.empty()) read_vector(split_spaces(header), 1);  // a file of one line
  if (in.bad()) throw Error(path + ": read error at line " + std::to_string(lineno));
  if (pv.ids.empty())
    throw Error(path + ": no word of its " + std::to_string(pv.words) + " vectors is a whole-word piece of the vocabulary");
  return pv;
}

void place_piece_vectors(torch::Tensor embedding, const PieceVectors& pv, double init_std, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(pv.ids.size()), D = pv.dim, d = embedding.size(1);
  auto V = torch::from_blob(const_cast<float*>(pv.values.data()), {n, D}, torch::kFloat32).to(torch::kFloat64);
  V = V - V.mean(0, true);
  // A random orthonormal map R^D -> R^d from the seed (std's generator: the same on every machine).
  std::mt19937_64 rng(seed * 2654435761ull + 17);
  std::normal_distribution<double> normal;
  auto M = torch::empty({std::max(D, d), std::min(D, d)}, torch::kFloat64);
  auto* m = M.data_ptr<double>();
  for (int64_t i = 0; i < M.numel(); ++i) m[i] = normal(rng);
  auto Q = std::get<0>(torch::linalg_qr(M, "reduced"));  // orthonormal columns
  auto E = D <= d ? V.matmul(Q.t()) : V.matmul(Q);         // [n, d]
  E = E / E.norm(2, 1, true).clamp_min(1e-12) * (init_std * std::sqrt(static_cast<double>(d)));
  torch::NoGradGuard no_grad;
  auto idx = torch::tensor(pv.ids, torch::kLong).to(embedding.device());
  embedding.index_copy_(0, idx, E.to(embedding.scalar_type()).to(embedding.device()));
}

}  // namespace emot5::train
