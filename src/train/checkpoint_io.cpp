// Checkpoints and model directories (see checkpoint_io.h).
#include "train/checkpoint_io.h"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <type_traits>

#include "classifier/labels.h"
#include "io/error.h"
#include "io/file_util.h"
#include "io/json_util.h"
#include "io/safetensors.h"

namespace emot5::train {

namespace fs = std::filesystem;

namespace {

// libtorch keys an optimizer's per-parameter state by the parameter's TensorImpl: by its address
// printed as a string in Debian's 1.13, by the pointer itself in 2.11 (the PyTorch 2.x builds).
template <class StateMap>
typename StateMap::key_type state_key(const StateMap&, const torch::Tensor& p) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << static_cast<const void*>(p.unsafeGetTensorImpl());
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace

nlohmann::json options_to_json(const TrainOptions& o) {
  return {{"init", o.init}, {"config_file", o.config_file}, {"preset", o.preset}, {"tokenizer", o.tokenizer},
          {"data", o.data}, {"eval_data", o.eval_data}, {"text_field", o.text_field},
          {"label_field", o.label_field}, {"prefix", o.prefix}, {"labels", o.labels},
          {"skip_bad_rows", o.skip_bad_rows}, {"max_input_tokens", o.max_input_tokens}, {"lr", o.lr},
          {"weight_decay", o.weight_decay}, {"label_smoothing", o.label_smoothing},
          {"smooth_over", o.smooth_over},
          {"max_grad_norm", o.max_grad_norm}, {"adam_beta1", o.adam_beta1}, {"adam_beta2", o.adam_beta2},
          {"adam_eps", o.adam_eps}, {"batch_size", o.batch_size}, {"epochs", o.epochs},
          {"warmup_steps", o.warmup_steps}, {"max_steps", o.max_steps}, {"seed", o.seed},
          {"dropout", o.dropout}, {"no_shuffle", o.no_shuffle}, {"group_by_length", o.group_by_length},
          {"average_from_epoch", o.average_from_epoch}, {"swa_lr", o.swa_lr}, {"class_weights", o.class_weights},
          {"eval_every", o.eval_every}, {"save_every", o.save_every}, {"log_every", o.log_every},
          {"keep_best", o.keep_best}, {"save_dtype", o.save_dtype}, {"objective", o.objective},
          {"noise_density", o.noise_density}, {"mean_noise_span", o.mean_noise_span}, {"reinit_decoder", o.reinit_decoder},
          {"reinit_encoder", o.reinit_encoder}, {"token_dropout", o.token_dropout},
          {"unk_below", o.unk_below}, {"unk_dropout", o.unk_dropout}, {"subword_nbest", o.subword_nbest},
          {"subword_alpha", o.subword_alpha},
          {"word_vectors", o.word_vectors}, {"local_heads", o.local_heads}, {"local_bias", o.local_bias},
          {"freeze_embedding", o.freeze_embedding},
          {"embedding_lr_scale", o.embedding_lr_scale}, {"sam_rho", o.sam_rho},
          {"teachers", o.teachers}, {"teacher_scores", o.teacher_scores}, {"distill_weight", o.distill_weight},
          {"distill_temperature", o.distill_temperature}};
}

TrainOptions options_from_json(const nlohmann::json& j) {
  TrainOptions o;
  auto get = [&](const char* k, auto* v) {
    if (j.contains(k)) *v = j[k].get<std::remove_pointer_t<decltype(v)>>();
  };
  get("init", &o.init); get("config_file", &o.config_file); get("preset", &o.preset);
  get("tokenizer", &o.tokenizer); get("data", &o.data); get("eval_data", &o.eval_data);
  get("text_field", &o.text_field); get("label_field", &o.label_field); get("prefix", &o.prefix);
  get("labels", &o.labels); get("skip_bad_rows", &o.skip_bad_rows); get("max_input_tokens", &o.max_input_tokens);
  get("lr", &o.lr); get("weight_decay", &o.weight_decay); get("label_smoothing", &o.label_smoothing);
  get("smooth_over", &o.smooth_over);
  get("max_grad_norm", &o.max_grad_norm); get("adam_beta1", &o.adam_beta1); get("adam_beta2", &o.adam_beta2);
  get("adam_eps", &o.adam_eps); get("batch_size", &o.batch_size); get("epochs", &o.epochs);
  get("warmup_steps", &o.warmup_steps); get("max_steps", &o.max_steps); get("seed", &o.seed);
  get("dropout", &o.dropout); get("no_shuffle", &o.no_shuffle);
  get("group_by_length", &o.group_by_length); get("average_from_epoch", &o.average_from_epoch); get("swa_lr", &o.swa_lr); get("class_weights", &o.class_weights);
  get("eval_every", &o.eval_every); get("save_every", &o.save_every); get("log_every", &o.log_every);
  get("keep_best", &o.keep_best); get("save_dtype", &o.save_dtype); get("objective", &o.objective);
  get("noise_density", &o.noise_density); get("mean_noise_span", &o.mean_noise_span);
  get("reinit_decoder", &o.reinit_decoder);
  get("reinit_encoder", &o.reinit_encoder);
  get("token_dropout", &o.token_dropout);
  get("unk_below", &o.unk_below);
  get("unk_dropout", &o.unk_dropout);
  get("subword_nbest", &o.subword_nbest);
  get("subword_alpha", &o.subword_alpha);
  get("word_vectors", &o.word_vectors);
  get("local_heads", &o.local_heads);
  get("local_bias", &o.local_bias);
  get("freeze_embedding", &o.freeze_embedding);
  get("embedding_lr_scale", &o.embedding_lr_scale);
  get("sam_rho", &o.sam_rho);
  get("teachers", &o.teachers);
  get("teacher_scores", &o.teacher_scores);
  get("distill_weight", &o.distill_weight);
  get("distill_temperature", &o.distill_temperature);
  return o;
}

void save_checkpoint(const std::string& out, int64_t step, const TorchT5& model, torch::optim::AdamW& opt,
                     const TrainOptions& o, const nlohmann::json& extra, const MemoryTensors* best,
                     const MemoryTensors* average, const ModelFiles& files) {
  const fs::path root = fs::path(out) / "checkpoints";
  fs::create_directories(root);
  const std::string name = "step-" + std::to_string(step);
  const fs::path tmp = root / ("." + name + ".tmp"), dir = root / name;
  remove_tree(tmp.string());
  fs::create_directories(tmp);
  write_safetensors((tmp / "model.safetensors").string(), *model.state_dict());
  MemoryTensors moments;
  int64_t adam_step = 0;
  for (const auto& n : model.names()) {
    auto& p = const_cast<TorchT5&>(model).param(n);
    auto it = opt.state().find(state_key(opt.state(), p));
    if (it == opt.state().end()) continue;
    auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
    adam_step = st.step();
    for (const auto& [key, t] : {std::pair<std::string, torch::Tensor>{"exp_avg.", st.exp_avg()},
                                 {"exp_avg_sq.", st.exp_avg_sq()}}) {
      const auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
      moments.add_f32(key + n, c.sizes().vec(), std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel()));
    }
  }
  write_safetensors((tmp / "optimizer.safetensors").string(), moments);
  if (best) write_safetensors((tmp / "best.safetensors").string(), *best);
  if (average) write_safetensors((tmp / "average.safetensors").string(), *average);
  nlohmann::json state = extra;
  state["step"] = step;
  state["adam_step"] = adam_step;
  state["options"] = options_to_json(o);
  write_file_atomic((tmp / "trainer_state.json").string(), state.dump(2) + "\n");
  write_file_atomic((tmp / "config.json").string(), t5_config_json(model.config()));
  write_model_files(tmp.string(), model.config(), files);
  remove_tree(dir.string());
  fs::rename(tmp, dir);
  write_file_atomic((root / "latest").string(), name + "\n");
  // Keep the two newest checkpoints.
  std::vector<std::pair<int64_t, fs::path>> all;
  for (const auto& e : fs::directory_iterator(root)) {
    const auto fn = e.path().filename().string();
    if (e.is_directory() && fn.rfind("step-", 0) == 0) all.emplace_back(std::stoll(fn.substr(5)), e.path());
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i + 2 < all.size(); ++i) remove_tree(all[i].second.string());
}

std::string latest_checkpoint(const std::string& out) {
  const fs::path root = fs::path(out) / "checkpoints";
  const auto latest = root / "latest";
  if (!file_exists(latest.string())) throw Error(out + ": no checkpoint to resume (" + latest.string() + " is missing)");
  std::string name = read_file(latest.string());
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  const auto dir = root / name;
  if (!file_exists((dir / "trainer_state.json").string()))
    throw Error(dir.string() + ": incomplete checkpoint (no trainer_state.json)");
  return dir.string();
}

nlohmann::json read_trainer_state(const std::string& ckpt) {
  const auto path = ckpt + "/trainer_state.json";
  return parse_json_object(read_file(path), path);
}

void load_optimizer_state(const std::string& ckpt, TorchT5& model, torch::optim::AdamW& opt) {
  const auto state = read_trainer_state(ckpt);
  const int64_t adam_step = state.value("adam_step", int64_t{0});
  if (adam_step == 0) return;
  const SafetensorsFile f(ckpt + "/optimizer.safetensors");
  for (const auto& n : model.names()) {
    auto& p = model.param(n);
    if (!p.requires_grad()) continue;  // --freeze-embedding: not trained, no moments
    auto a = f.find("exp_avg." + n), b = f.find("exp_avg_sq." + n);
    if (!a || !b) throw Error(f.path() + ": missing AdamW moments of '" + n + "'");
    auto to_tensor = [&](const TensorView& v) {
      const auto x = to_f32(v);
      return torch::from_blob(const_cast<float*>(x.data()), v.shape, torch::kFloat32).clone().to(p.device());
    };
    auto st = std::make_unique<torch::optim::AdamWParamState>();
    st->step(adam_step);
    st->exp_avg(to_tensor(*a));
    st->exp_avg_sq(to_tensor(*b));
    opt.state()[state_key(opt.state(), p)] = std::move(st);
  }
}

namespace {

std::shared_ptr<MemoryTensors> convert(const TensorSource& src, const std::string& dtype) {
  auto out = std::make_shared<MemoryTensors>();
  const DType to = dtype == "f32" ? DType::F32 : dtype == "bf16" ? DType::BF16 : DType::F16;
  for (const auto& n : src.names()) {
    const auto t = *src.find(n);
    out->add_rounded(n, to, t.shape, to_f32(t));
  }
  return out;
}

}  // namespace

void write_model_dir(const std::string& dir, const T5Config& config, const TensorSource& weights,
                     const std::string& save_dtype, const ModelFiles& files) {
  if (save_dtype != "f32" && save_dtype != "bf16" && save_dtype != "f16")
    throw std::invalid_argument("--save-dtype must be f32, bf16 or f16");
  fs::create_directories(dir);
  const std::string torch_dtype = save_dtype == "f32" ? "float32" : save_dtype == "bf16" ? "bfloat16" : "float16";
  auto cfg = nlohmann::ordered_json::parse(t5_config_json(config));
  cfg["torch_dtype"] = torch_dtype;
  write_file_atomic(dir + "/config.json", cfg.dump(2) + "\n");
  write_safetensors(dir + "/model.safetensors", *convert(weights, save_dtype), {{"format", "pt"}});
  write_model_files(dir, config, files);
}

ModelFiles model_files(const std::string& spiece, const std::vector<std::string>& labels, const std::string& prefix,
                       const std::string& standard_spiece) {
  // T5's standard spiece.model comes with flan-t5's tokenizer.json (same pieces), so that HF's
  // AutoTokenizer builds the fast tokenizer without converting.
  fs::path side = fs::path(spiece).parent_path();
  if (!file_exists((side / "tokenizer.json").string()) && !standard_spiece.empty() &&
      read_file(spiece) == read_file(standard_spiece))
    side = fs::path(standard_spiece).parent_path();
  return {spiece, side.string(), labels, prefix};
}

void write_model_files(const std::string& dir, const T5Config& config, const ModelFiles& files) {
  const std::string& spiece = files.spiece;
  nlohmann::ordered_json gen;
  gen["decoder_start_token_id"] = config.decoder_start_token_id;
  gen["eos_token_id"] = config.eos_token_id;
  gen["pad_token_id"] = config.pad_token_id;
  write_file_atomic(dir + "/generation_config.json", gen.dump(2) + "\n");
  if (fs::absolute(spiece) != fs::absolute(dir + "/spiece.model"))
    fs::copy_file(spiece, dir + "/spiece.model", fs::copy_options::overwrite_existing);
  const fs::path side = files.tokenizer_dir;
  for (const char* f : {"tokenizer.json", "special_tokens_map.json"})
    if (file_exists((side / f).string()) && fs::absolute(side / f) != fs::absolute(fs::path(dir) / f))
      fs::copy_file(side / f, fs::path(dir) / f, fs::copy_options::overwrite_existing);
  nlohmann::ordered_json tc;
  tc["tokenizer_class"] = "T5Tokenizer";
  tc["eos_token"] = "</s>";
  tc["pad_token"] = "<pad>";
  tc["unk_token"] = "<unk>";
  tc["extra_ids"] = 100;
  tc["model_max_length"] = 512;
  write_file_atomic(dir + "/tokenizer_config.json", tc.dump(2) + "\n");
  write_file_atomic(dir + "/emot5.json", label_set_json(files.labels, files.prefix));
}

}  // namespace emot5::train
