// Checkpoints and model directories (see checkpoint_io.h).
#include "train/checkpoint_io.h"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <type_traits>

#include "io/error.h"
#include "io/file_util.h"
#include "io/json_util.h"
#include "io/safetensors.h"
#include "text/labels.h"

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
