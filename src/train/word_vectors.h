// Word vectors (GloVe's or word2vec's text format) as the starting point of a fresh model's
// embedding: outside knowledge for the words the training texts lack. A vocabulary piece that is a
// whole word ("▁happy") takes that word's vector (an exact match first, else the lowercase one);
// the vectors are centred, mapped into d_model by a random orthonormal map drawn from the seed
// (which keeps their angles when their dimension is at most d_model) and scaled to the norm of
// T5's initialization (std · sqrt(d_model)). Sub-word pieces and unmatched words keep their
// initial rows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace emot5::train {

struct PieceVectors {
  std::vector<int> ids;       // vocabulary ids that matched a word
  std::vector<float> values;  // ids.size() × dim, in the same order
  int dim = 0;
  int64_t words = 0;  // vectors read from the file
};

// Reads `path` ("word v1 ... vD" per line; a word2vec header line "N D" is skipped) and keeps
// the vectors of the words that `pieces` (id → piece) hold as whole words. Throws emot5::Error
// naming the file and line for a line with the wrong count of numbers or a number that does not
// parse, and when no word matches.
PieceVectors read_piece_vectors(const std::string& path, const std::vector<std::string>& pieces);

// Writes the mapped vectors into the rows `pv.ids` of `embedding` [vocab, d_model].
void place_piece_vectors(torch::Tensor embedding, const PieceVectors& pv, double init_std, uint64_t seed);

}  // namespace emot5::train
