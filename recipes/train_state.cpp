#include "recipes/train_state.h"

#include <fstream>
#include <map>
#include <set>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/safetensors.h"
#include "lora/peft_adapter.h"
#include "model/hf_config.h"
#include "train/rng_state.h"

namespace llmft::recipes {
namespace fs = std::filesystem;
namespace {

constexpr const char* kOptimizerFile = "optimizer.safetensors";
constexpr const char* kRngFile = "rng_state.safetensors";
constexpr const char* kStateFile = "trainer_state.json";
constexpr const char* kModelFile = "model.safetensors";

std::map<std::string, at::Tensor> read_all(const fs::path& path) {
  if (!fs::exists(path)) throw Error(path.string() + ": missing from the checkpoint");
  io::SafetensorsFile file = io::SafetensorsFile::open(path);
  std::map<std::string, at::Tensor> out;
  for (const auto& info : file.tensors()) out.emplace(info.name, file.tensor(info.name).clone());
  return out;
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": missing from the checkpoint");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& err) {
    throw Error(path.string() + ": not valid JSON: " + err.what());
  }
}

void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, nlohmann::json>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) flatten(value, prefix.empty() ? key : prefix + "." + key, out);
  } else {
    out[prefix] = j;
  }
}

}  // namespace

namespace {
std::string rng_file(int rank) {
  return rank == 0 ? kRngFile : "rng_state.rank" + std::to_string(rank) + ".safetensors";
}
std::string optimizer_file(std::optional<int> shard) {
  return shard ? "optimizer.rank" + std::to_string(*shard) + ".safetensors" : kOptimizerFile;
}
}  // namespace

void write_checkpoint_files(const fs::path& dir, TrainingSetup& setup, const train::AdamW& optimizer,
                            const TrainerState& state, const std::vector<std::vector<io::NamedTensor>>& rank_rng,
                            std::optional<int> optimizer_shard) {
  if (setup.lora) {
    lora::save_peft_adapter(dir, *setup.model, *setup.lora, setup.recipe.model.path);
  } else {
    std::vector<io::NamedTensor> weights;
    for (const auto& item : setup.model->named_parameters(/*recurse=*/true)) weights.push_back({item.key(), item.value()});
    io::write_safetensors(dir / kModelFile, weights, {{"format", "pt"}});
    io::write_file_atomically(dir / "config.json", model::to_hf_config_json(setup.config).dump(2) + "\n");
  }
  write_optimizer_state(dir, optimizer, optimizer_shard);
  if (rank_rng.empty()) {
    io::write_safetensors(dir / kRngFile, train::capture_rng_state(setup.device));
  } else {
    for (std::size_t rank = 0; rank < rank_rng.size(); ++rank)
      io::write_safetensors(dir / rng_file(static_cast<int>(rank)), rank_rng[rank]);
  }
  nlohmann::json j = {{"format", 1},
                      {"step", state.step},
                      {"total_steps", setup.plan.total_steps},
                      {"cursor", {{"epoch", state.cursor.epoch}, {"position", state.cursor.position}}},
                      {"micro_step", state.micro_step},
                      {"tokens_seen", state.tokens_seen},
                      {"nonfinite_steps_skipped", state.nonfinite_skipped},
                      {"world_size", state.world_size},
                      {"elapsed_seconds", state.elapsed_seconds},
                      {"recipe", state.recipe}};
  io::write_file_atomically(dir / kStateFile, j.dump(2) + "\n");
}

void write_optimizer_state(const fs::path& dir, const train::AdamW& optimizer, std::optional<int> optimizer_shard) {
  io::write_safetensors(dir / optimizer_file(optimizer_shard), optimizer.state_tensors());
}

TrainerState read_checkpoint_files(const fs::path& dir, TrainingSetup& setup, train::AdamW& optimizer,
                                   int world_size, std::optional<int> optimizer_shard) {
  const fs::path state_path = dir / kStateFile;
  nlohmann::json j = read_json(state_path);
  TrainerState state;
  try {
    state.step = j.at("step").get<int64_t>();
    state.cursor.epoch = j.at("cursor").at("epoch").get<int64_t>();
    state.cursor.position = j.at("cursor").at("position").get<int64_t>();
    state.micro_step = j.at("micro_step").get<int64_t>();
    state.tokens_seen = j.at("tokens_seen").get<int64_t>();
    state.elapsed_seconds = j.at("elapsed_seconds").get<double>();
    // Absent in checkpoints written before steps could be skipped: none were.
    state.nonfinite_skipped = j.value("nonfinite_steps_skipped", int64_t{0});
    state.world_size = j.value("world_size", int64_t{1});
    state.recipe = j.at("recipe");
  } catch (const nlohmann::json::exception& err) {
    throw Error(state_path.string() + ": " + err.what());
  }
  if (state.micro_step != 0) throw Error(state_path.string() + ": checkpoint taken inside an accumulation window");
  if (state.world_size != world_size) {
    throw Error("--resume: " + dir.string() + " was written by a run of " + std::to_string(state.world_size) +
                " process(es) and this run has " + std::to_string(world_size) +
                "; resume with the same number (--nproc " + std::to_string(state.world_size) +
                "): the data order and each rank's share depend on it");
  }

  if (setup.lora) {
    lora::load_peft_adapter(dir, *setup.model);
  } else {
    auto weights = read_all(dir / kModelFile);
    torch::NoGradGuard no_grad;
    for (auto& item : setup.model->named_parameters(/*recurse=*/true)) {
      auto it = weights.find(item.key());
      if (it == weights.end()) throw Error((dir / kModelFile).string() + ": missing tensor " + item.key());
      if (it->second.sizes() != item.value().sizes() || it->second.scalar_type() != item.value().scalar_type()) {
        throw Error((dir / kModelFile).string() + ": tensor " + item.key() + " does not match the model");
      }
      item.value().copy_(it->second);
    }
  }
  const fs::path optimizer_path = dir / optimizer_file(optimizer_shard);
  if (!fs::exists(optimizer_path)) {
    // Sharded and unsharded optimizer state are not interchangeable: say which one the checkpoint has.
    const bool has_whole = fs::exists(dir / kOptimizerFile);
    throw Error(optimizer_path.string() + ": missing from the checkpoint; " +
                (has_whole ? "it holds the whole optimizer state (optimizer.safetensors, train.zero_stage: 0)"
                           : "it holds sharded optimizer state (optimizer.rank<R>.safetensors, train.zero_stage 1 or 2)") +
                ": resume with the train.zero_stage it was written with");
  }
  optimizer.load_state(read_all(optimizer_path), optimizer_path.string());
  return state;
}

void restore_checkpoint_rng(const fs::path& dir, c10::Device device, int rank) {
  const fs::path file = dir / rng_file(rank);
  train::restore_rng_state(read_all(file), device, file.string());
}

std::vector<std::string> incompatible_recipe_keys(const nlohmann::json& saved, const nlohmann::json& current) {
  std::map<std::string, nlohmann::json> a, b;
  flatten(saved, "", a);
  flatten(current, "", b);
  auto ignored = [](const std::string& key) {
    // data.cache decides only where tokens come from, never what they are; max_nonfinite_steps may be
    // raised to get past a run that stopped on non-finite steps.
    return key.starts_with("output.") || key.starts_with("eval.") || key == "train.max_steps" ||
           key == "train.epochs" || key == "data.cache" ||
           key == "train.max_nonfinite_steps" || key == "train.dist_timeout_seconds";
  };
  std::set<std::string> keys;
  for (const auto& [k, v] : a) keys.insert(k);
  for (const auto& [k, v] : b) keys.insert(k);
  std::vector<std::string> out;
  for (const auto& key : keys) {
    if (ignored(key)) continue;
    auto ia = a.find(key), ib = b.find(key);
    // A key this version added and left unset (null) matches a checkpoint from before it existed.
    const bool a_unset = ia == a.end() || ia->second.is_null(), b_unset = ib == b.end() || ib->second.is_null();
    if (a_unset && b_unset) continue;
    if (ia == a.end() || ib == b.end() || ia->second != ib->second) {
      out.push_back(key + " (" + (ia == a.end() ? "unset" : ia->second.dump()) + " in the checkpoint, " +
                    (ib == b.end() ? "unset" : ib->second.dump()) + " now)");
    }
  }
  return out;
}

}  // namespace llmft::recipes
