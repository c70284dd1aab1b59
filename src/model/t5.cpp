// T5Model: loading and the encoder / decoder passes (see t5.h). Attention lives in
// t5_attention.cpp. Comments quote the modeling_t5.py behaviour being reproduced.
#include "model/t5.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>

#include "io/error.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "model/attention.h"
#include "model/scratch.h"

namespace emot5 {

using kernels::gemm_nt;

Precision parse_precision(const std::string& s) {
  if (s == "f32") return Precision::F32;
  if (s == "bf16") return Precision::Bf16;
  if (s == "int8") return Precision::Int8;
  throw std::invalid_argument("precision must be f32, bf16 or int8, not '" + s + "'");
}

void linear(const Linear& l, const float* x, int rows, float* y, float beta) {
  l.p->multiply(rows, x, l.in, y, l.out, beta);
}

void linear(const Linear& l, const LinearInput& in, int rows, float* y, float beta) {
  if (in.q)
    l.p->multiply_quantized(rows, in.q, in.scale, y, l.out, beta);
  else if (in.b)
    l.p->multiply_bf16(rows, in.b, y, l.out, beta);
  else
    l.p->multiply(rows, in.x, l.in, y, l.out, beta);
}

LinearInput encoder_input(const Linear& l, const float* hidden, int rows, int cols, bool quantize) {
  if (l.p->type() == kernels::WeightType::Bf16) {
    uint16_t* b = scratch_bf16(ScratchBf16::Encoder, static_cast<size_t>(rows) * cols);
    if (quantize) kernels::f32_to_bf16_rows(hidden, rows, cols, cols, b);
    return {nullptr, nullptr, nullptr, b};
  }
  if (l.p->type() != kernels::WeightType::Int8) return {hidden, nullptr, nullptr};
  int8_t* q = scratch_s8(ScratchS8::Encoder, static_cast<size_t>(rows) * cols);
  float* scale = scratch(Scratch::EncoderScale, static_cast<size_t>(rows));
  if (quantize) kernels::quantize_rows_s8(hidden, rows, cols, cols, q, scale);
  return {nullptr, q, scale};
}

LinearInput norm_input(const Linear& l, float* x, const float* w, int rows, int cols, float eps, float* n_f32,
                       PendingResidual* pending) {
  const bool add = pending && pending->t;
  if (l.p->type() != kernels::WeightType::Int8) {
    if (add) kernels::add_scaled_rows(x, pending->t, pending->scale, rows, cols);
    if (pending) *pending = {};
    if (l.p->type() == kernels::WeightType::Bf16) {
      uint16_t* b = scratch_bf16(ScratchBf16::Normed, static_cast<size_t>(rows) * cols);
      kernels::rms_norm_bf16(x, w, rows, cols, eps, b);
      return {nullptr, nullptr, nullptr, b};
    }
    kernels::rms_norm(x, w, rows, cols, eps, n_f32);
    return {n_f32, nullptr, nullptr};
  }
  int8_t* q = scratch_s8(ScratchS8::Normed, static_cast<size_t>(rows) * cols);
  float* scale = scratch(Scratch::NormedScale, static_cast<size_t>(rows));
  if (add)
    kernels::residual_rms_norm_quantize(x, pending->t, pending->scale, w, rows, cols, eps, q, scale);
  else
    kernels::rms_norm_quantize(x, w, rows, cols, eps, q, scale);
  if (pending) *pending = {};
  return {nullptr, q, scale};
}

PackedBatch PackedBatch::from(const std::vector<std::vector<int>>& seqs) {
  PackedBatch p;
  p.offsets.push_back(0);
  for (const auto& s : seqs) {
    p.ids.insert(p.ids.end(), s.begin(), s.end());
    p.offsets.push_back(static_cast<int>(p.ids.size()));
  }
  return p;
}

const float* T5Model::take(const std::string& name, std::vector<int64_t> shape) {
  const auto t = source_->find(name);
  if (!t)
    throw Error(source_->origin(name) + ": missing tensor '" + name + "' (expected shape " +
                shape_str(shape) + ")");
  if (t->shape != shape)
    throw Error(source_->origin(name) + ": tensor '" + name + "' has shape " + shape_str(t->shape) +
                ", expected " + shape_str(shape) + " from config.json");
  weight_bytes_ += static_cast<size_t>(t->numel()) * sizeof(float);
  const float* w = nullptr;
  if (t->dtype == DType::F32 && reinterpret_cast<uintptr_t>(t->data) % alignof(float) == 0) {
    w = reinterpret_cast<const float*>(t->data);  // zero-copy from the memory map
  } else {
    if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
      throw Error(source_->origin(name) + ": tensor '" + name + "' has dtype " + dtype_name(t->dtype) +
                  ", expected F32, F16 or BF16");
    owned_.push_back(to_f32(*t));
    w = owned_.back().data();
  }
  // A NaN or infinite weight would make every answer null: refuse the file instead.
  const auto n = static_cast<size_t>(t->numel());
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(w[i]))
      throw Error(source_->origin(name) + ": tensor '" + name + "' holds " + (std::isnan(w[i]) ? "NaN" : "an infinity") +
                  " at element " + std::to_string(i) + "; the checkpoint is damaged");
  return w;
}

// Gives back the memory of weights that were copied elsewhere: a widened copy is freed; pages of
// the memory map are released (they are re-read only if touched again).
void T5Model::release(const float* w, size_t n) {
  for (auto it = owned_.begin(); it != owned_.end(); ++it)
    if (it->data() == w) {
      owned_.erase(it);
      return;
    }
  if (!source_->pages_can_be_released()) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<uintptr_t>(w) + page - 1) & ~(page - 1);
  const auto end = reinterpret_cast<uintptr_t>(w + n) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

Linear T5Model::take_linear(const std::vector<std::string>& names, int out_each, int in) {
  const int out = out_each * static_cast<int>(names.size());
  const size_t part = static_cast<size_t>(out_each) * in;
  std::vector<const float*> parts;
  for (const auto& n : names) parts.push_back(take(n, {out_each, in}));
  const float* w = parts[0];
  std::vector<float> stacked;
  if (parts.size() > 1) {
    stacked.resize(part * parts.size());
    for (size_t i = 0; i < parts.size(); ++i) std::copy_n(parts[i], part, &stacked[i * part]);
    w = stacked.data();
  }
  Linear l;
  l.out = out;
  l.in = in;
  weight_bytes_ -= static_cast<size_t>(out) * in * sizeof(float);  // take() counted them as f32
  if (precision_ == Precision::Int8) {
    packed_.push_back(kernels::quantize_rows(w, out, in).packed);
    l.p = packed_.back().get();
    weight_bytes_ += l.p->bytes();
  } else {
    const bool bf16 = precision_ == Precision::Bf16;
    packed_.push_back(std::make_shared<const kernels::PackedMatrix>(w, out, in, bf16 ? kernels::WeightType::Bf16
                                                                                : kernels::WeightType::F32));
    l.p = packed_.back().get();
    weight_bytes_ += l.p->bytes();
  }
  for (const float* p : parts) release(p, part);  // packed or quantized: the originals are not used any more
  return l;
}

T5Model::T5Model(const T5Config& config, std::shared_ptr<const TensorSource> weights, Precision precision)
    : config_(config), source_(std::move(weights)), precision_(precision), act_(kernels::parse_act(config.dense_act_fn)) {
  const int D = config_.d_model, I = config_.inner_dim(), F = config_.d_ff, V = config_.vocab_size;
  const int NB = config_.relative_attention_num_buckets, H = config_.num_heads;
  shared_ = source_->find("shared.weight") || !source_->find("encoder.embed_tokens.weight")
                ? take("shared.weight", {V, D})
                : take("encoder.embed_tokens.weight", {V, D});
  // Head rule: lm_head.weight when the file has it, else the tied shared embedding.
  if (source_->find("lm_head.weight") || !config_.tie_word_embeddings)
    lm_head_ = take("lm_head.weight", {V, D});
  else
    lm_head_ = shared_;
  // "sequence_output = sequence_output * (self.model_dim**-0.5)" for tied T5 v1.0.
  head_scale_ = config_.scale_decoder_outputs ? 1.0f / std::sqrt(static_cast<float>(D)) : 1.0f;

  auto attention = [&](const std::string& p, bool self, bool bias) {
    T5Attention a;
    if (self)
      a.qkv = take_linear({p + ".q.weight", p + ".k.weight", p + ".v.weight"}, I, D);
    else
      for (auto [l, n] : {std::pair{&a.q, ".q.weight"}, {&a.k, ".k.weight"}, {&a.v, ".v.weight"}})
        *l = take_linear({p + n}, I, D);
    a.o = take_linear({p + ".o.weight"}, D, I);
    if (bias) a.relative_attention_bias = take(p + ".relative_attention_bias.weight", {NB, H});
    return a;
  };
  auto ff = [&](const std::string& p) {
    T5LayerFF f;
    if (config_.is_gated_act) {
      f.wi = take_linear({p + ".DenseReluDense.wi_0.weight", p + ".DenseReluDense.wi_1.weight"}, F, D);
    } else {
      f.wi = take_linear({p + ".DenseReluDense.wi.weight"}, F, D);
    }
    f.wo = take_linear({p + ".DenseReluDense.wo.weight"}, D, F);
    f.layer_norm.weight = take(p + ".layer_norm.weight", {D});
    return f;
  };
  for (int i = 0; i < config_.num_layers; ++i) {
    const std::string p = "encoder.block." + std::to_string(i) + ".layer.";
    T5Block b;
    b.self_attention = attention(p + "0.SelfAttention", true, i == 0);
    b.self_attention_norm.weight = take(p + "0.layer_norm.weight", {D});
    b.ff = ff(p + "1");
    encoder_.block.push_back(b);
  }
  encoder_.final_layer_norm.weight = take("encoder.final_layer_norm.weight", {D});
  for (int i = 0; i < config_.num_decoder_layers; ++i) {
    const std::string p = "decoder.block." + std::to_string(i) + ".layer.";
    T5Block b;
    b.self_attention = attention(p + "0.SelfAttention", true, i == 0);
    b.self_attention_norm.weight = take(p + "0.layer_norm.weight", {D});
    b.cross_attention = attention(p + "1.EncDecAttention", false, false);
    b.cross_attention_norm.weight = take(p + "1.layer_norm.weight", {D});
    b.ff = ff(p + "2");
    decoder_.block.push_back(b);
  }
  decoder_.final_layer_norm.weight = take("decoder.final_layer_norm.weight", {D});
}

// T5LayerFF: x = x + wo(act(wi_0(n)) * wi_1(n)), n = layer_norm(x). Rows go in blocks of 256:
// the FFN's inner buffers (4 d_ff floats a row) then stay small whatever the batch, which keeps
// peak memory near the weights' size, and 256-row products run as fast as larger ones.
void T5Model::feed_forward(const T5LayerFF& ff, float* x, int rows, PendingResidual* pending) const {
  const int D = config_.d_model, F = config_.d_ff;
  const int G = ff.wi.out;  // F, or 2F when gated: each row is [wi_0 n | wi_1 n]
  const float eps = config_.layer_norm_epsilon;
  constexpr int kBlock = 256;
  const int block = std::min(rows, kBlock);
  // int8, gated: the norm and the gated activation quantize their rows as they make them, and
  // wi's product leaves its rows unscaled for the activation to scale as it reads them. With
  // `pending`, the residual add before the norm is made in the norm's pass, and wo's product is
  // left as this layer's pending add (rows unscaled, into FfnOut) for the next norm to make.
  const bool fused = config_.is_gated_act && ff.wi.p->type() == kernels::WeightType::Int8 &&
                     ff.wo.p->type() == kernels::WeightType::Int8;
  if (!fused && pending && pending->t) {
    kernels::add_scaled_rows(x, pending->t, pending->scale, rows, D);
    *pending = {};
  }
  const bool bf16 = config_.is_gated_act && ff.wi.p->type() == kernels::WeightType::Bf16 &&
                    ff.wo.p->type() == kernels::WeightType::Bf16;
  uint16_t* nb = bf16 ? scratch_bf16(ScratchBf16::Normed, static_cast<size_t>(block) * D) : nullptr;
  uint16_t* hb = bf16 ? scratch_bf16(ScratchBf16::FfnGated, static_cast<size_t>(block) * F) : nullptr;
  float* n = fused || bf16 ? nullptr : scratch(Scratch::FfnNormed, static_cast<size_t>(block) * D);
  float* g = scratch(Scratch::FfnInner, static_cast<size_t>(block) * G);
  float* h = config_.is_gated_act && !fused && !bf16 ? scratch(Scratch::FfnGated, static_cast<size_t>(block) * F) : nullptr;
  int8_t* hq = fused ? scratch_s8(ScratchS8::FfnGated, static_cast<size_t>(block) * F) : nullptr;
  float* hs = fused ? scratch(Scratch::FfnGatedScale, static_cast<size_t>(pending ? rows : block)) : nullptr;
  float* out = fused && pending ? scratch(Scratch::FfnOut, static_cast<size_t>(rows) * D) : nullptr;
  const PendingResidual before = pending ? *pending : PendingResidual{};
  for (int r0 = 0; r0 < rows; r0 += kBlock) {
    const int m = std::min(kBlock, rows - r0);
    float* xr = x + static_cast<size_t>(r0) * D;
    if (fused) {
      PendingResidual add;
      if (before.t) add = {before.t + static_cast<size_t>(r0) * D, before.scale + r0};
      const LinearInput in = norm_input(ff.wi, xr, ff.layer_norm.weight, m, D, eps, nullptr, &add);
      ff.wi.p->multiply_quantized(m, in.q, nullptr, g, G);
      float* hs_r = pending ? hs + r0 : hs;
      kernels::gated_activate_quantize_rows(g, in.scale, m, F, act_, hq, hs_r);
      if (out)
        ff.wo.p->multiply_quantized(m, hq, nullptr, out + static_cast<size_t>(r0) * D, D);
      else
        ff.wo.p->multiply_quantized(m, hq, hs_r, xr, D, 1.0f);  // residual add through beta = 1
      continue;
    }
    if (bf16) {  // the norm and the gated activation round their rows to bf16 as they make them
      kernels::rms_norm_bf16(xr, ff.layer_norm.weight, m, D, eps, nb);
      ff.wi.p->multiply_bf16(m, nb, g, G);
      kernels::gated_activate_bf16_rows(g, m, F, act_, hb);
      ff.wo.p->multiply_bf16(m, hb, xr, D, 1.0f);  // residual add through beta = 1
      continue;
    }
    kernels::rms_norm(xr, ff.layer_norm.weight, m, D, eps, n);
    linear(ff.wi, n, m, g);
    if (config_.is_gated_act)
      kernels::gated_activate_rows(g, m, F, act_, h);  // act(wi_0 n) · wi_1 n
    else
      kernels::activate(g, static_cast<long>(m) * G, act_);
    linear(ff.wo, config_.is_gated_act ? h : g, m, xr, 1.0f);  // residual add through beta = 1
  }
  if (pending) *pending = out ? PendingResidual{out, hs} : PendingResidual{};
}

EncoderOutput T5Model::encode(const PackedBatch& batch) const {
  const int D = config_.d_model, V = config_.vocab_size;
  const int T = static_cast<int>(batch.ids.size());
  EncoderOutput out;
  out.offsets = batch.offsets;
  const size_t xn = static_cast<size_t>(T) * D;
  float* x = scratch(Scratch::Hidden, xn);
  float* n = scratch(Scratch::Normed, xn);
  for (int t = 0; t < T; ++t) {
    const int id = batch.ids[t];
    if (id < 0 || id >= V)
      throw std::invalid_argument("token id " + std::to_string(id) + " is outside the vocabulary (" +
                                  std::to_string(V) + ")");
    std::memcpy(&x[static_cast<size_t>(t) * D], shared_ + static_cast<size_t>(id) * D, D * sizeof(float));
  }
  const EncoderBias bias(encoder_.block[0].self_attention.relative_attention_bias, config_, batch.offsets);
  // With int8, each sublayer's output projection leaves its residual add to the next norm.
  PendingResidual pending;
  for (const auto& blk : encoder_.block) {
    const LinearInput in = norm_input(blk.self_attention.qkv, x, blk.self_attention_norm.weight, T, D,
                                      config_.layer_norm_epsilon, n, &pending);
    encoder_self_attention(blk.self_attention, bias, config_, in, batch.offsets, x, &pending);
    feed_forward(blk.ff, x, T, &pending);
  }
  if (pending.t) kernels::add_scaled_rows(x, pending.t, pending.scale, T, D);
  out.hidden.resize(xn);
  kernels::rms_norm(x, encoder_.final_layer_norm.weight, T, D, config_.layer_norm_epsilon,
                    out.hidden.data());
  return out;
}

DecoderState T5Model::start_decoder(const EncoderOutput& enc, int max_steps) const {
  const int I = config_.inner_dim();
  const int T = enc.offsets.back(), B = enc.batch();
  DecoderState st;
  st.batch = B;
  st.max_steps = max_steps;
  st.enc_offsets = enc.offsets;
  const auto L = decoder_.block.size();
  st.cross_k.resize(L);
  st.cross_v.resize(L);
  st.self_k.resize(L);
  st.self_v.resize(L);
  if (max_steps == 1) st.enc_hidden = enc.hidden.data();
  const LinearInput enc_in =
      max_steps > 1 && L > 0
          ? encoder_input(decoder_.block[0].cross_attention.k, enc.hidden.data(), T, config_.d_model, true)
          : LinearInput{};
  for (size_t l = 0; l < L; ++l) {
    const auto& a = decoder_.block[l].cross_attention;
    if (max_steps > 1) {
      st.cross_k[l].resize(static_cast<size_t>(T) * I);
      st.cross_v[l].resize(static_cast<size_t>(T) * I);
      linear(a.k, enc_in, T, st.cross_k[l].data());
      linear(a.v, enc_in, T, st.cross_v[l].data());
    }
    // Room for a few steps; decoder_self_attention grows it as steps are taken.
    st.self_k[l].reserve(static_cast<size_t>(B) * std::min(max_steps, 16) * I);
    st.self_v[l].reserve(static_cast<size_t>(B) * std::min(max_steps, 16) * I);
  }
  return st;
}

void T5Model::decode_step(DecoderState& st, const int* tokens) const {
  const int D = config_.d_model, V = config_.vocab_size, B = st.batch;
  if (st.step >= st.max_steps)
    throw std::invalid_argument("decode_step: step " + std::to_string(st.step) + " exceeds max_steps");
  const size_t xn = static_cast<size_t>(B) * D;
  float* x = scratch(Scratch::Hidden, xn);
  float* n = scratch(Scratch::Normed, xn);
  for (int b = 0; b < B; ++b) {
    if (tokens[b] < 0 || tokens[b] >= V)
      throw std::invalid_argument("decoder token id " + std::to_string(tokens[b]) + " is outside the vocabulary");
    std::memcpy(&x[static_cast<size_t>(b) * D], shared_ + static_cast<size_t>(tokens[b]) * D, D * sizeof(float));
  }
  const float* bias = decoder_.block[0].self_attention.relative_attention_bias;
  for (size_t l = 0; l < decoder_.block.size(); ++l) {
    const auto& blk = decoder_.block[l];
    const LinearInput self_in =
        norm_input(blk.self_attention.qkv, x, blk.self_attention_norm.weight, B, D, config_.layer_norm_epsilon, n);
    decoder_self_attention(blk.self_attention, bias, config_, self_in, st, l, x);
    const LinearInput cross_in =
        norm_input(blk.cross_attention.q, x, blk.cross_attention_norm.weight, B, D, config_.layer_norm_epsilon, n);
    decoder_cross_attention(blk.cross_attention, config_, cross_in, st, l, x);
    feed_forward(blk.ff, x, B);
  }
  st.hidden.resize(xn);
  kernels::rms_norm(x, decoder_.final_layer_norm.weight, B, D, config_.layer_norm_epsilon,
                    st.hidden.data());
  if (head_scale_ != 1.0f) kernels::scale_inplace(st.hidden.data(), head_scale_, static_cast<long>(xn));
  ++st.step;
}

const kernels::PackedMatrix& T5Model::head_packed() const {
  // A BLAS-style sgemm would repack the whole (V, D) head on every step.
  std::call_once(head_once_, [&] {
    head_packed_ = std::make_unique<kernels::PackedMatrix>(lm_head_, config_.vocab_size, config_.d_model,
                                                           kernels::WeightType::F32);
  });
  return *head_packed_;
}

void T5Model::logits(const DecoderState& st, float* out) const {
  head_packed().multiply(st.batch, st.hidden.data(), config_.d_model, out, config_.vocab_size);
}

std::vector<float> T5Model::head_rows(const std::vector<int>& ids) const {
  const int D = config_.d_model;
  std::vector<float> out(ids.size() * static_cast<size_t>(D));
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= config_.vocab_size)
      throw std::invalid_argument("head_rows: id " + std::to_string(ids[i]) + " is outside the vocabulary");
    std::memcpy(&out[i * D], lm_head_ + static_cast<size_t>(ids[i]) * D, D * sizeof(float));
  }
  return out;
}

void T5Model::next_tokens(const DecoderState& st, int* best, const char* skip) const {
  // Without native bf16 products the screen costs more than it saves: the packed f32 head then
  // serves both logits() and the choice.
  std::call_once(argmax_once_, [&] {
    head_argmax_ = std::make_unique<kernels::HeadArgmax>(lm_head_, config_.vocab_size, config_.d_model,
                                                         kernels::cpu_info().avx512_bf16 ? nullptr : &head_packed());
  });
  head_argmax_->argmax(st.batch, st.hidden.data(), best, skip);
}

std::vector<std::vector<int>> T5Model::generate(const EncoderOutput& enc, int max_new_tokens,
                                                const std::function<void(const DecoderState&)>& on_first_step) const {
  const int B = enc.batch();
  std::vector<std::vector<int>> seqs(B, std::vector<int>{config_.decoder_start_token_id});
  if (max_new_tokens <= 0 || B == 0) return seqs;
  DecoderState st = start_decoder(enc, max_new_tokens);
  std::vector<int> tokens(B, config_.decoder_start_token_id);
  std::vector<char> done(B, 0);
  std::vector<int> best(B);
  for (int s = 0; s < max_new_tokens; ++s) {
    decode_step(st, tokens.data());
    if (s == 0 && on_first_step) on_first_step(st);
    for (int b = 0; b < B; ++b) best[b] = config_.pad_token_id;
    next_tokens(st, best.data(), done.data());
    bool all_done = true;
    for (int b = 0; b < B; ++b) {
      const int next = best[b];
      seqs[b].push_back(next);
      tokens[b] = next;
      if (next == config_.eos_token_id) done[b] = 1;
      all_done = all_done && done[b];
    }
    if (all_done) break;
  }
  return seqs;
}

}  // namespace emot5
