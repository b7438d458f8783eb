#include "io/hf_checkpoint.h"

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/error.h"

namespace llmft::io {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr const char* kSingleFileName = kHfSingleFileName;
constexpr const char* kIndexFileName = kHfIndexFileName;

// weight_map values are joined to the model directory: an absolute path or a ".." component
// would let a downloaded index point at any file on the machine.
void check_shard_name(const std::string& shard, const std::string& tensor, const fs::path& index_path) {
  const fs::path p(shard);
  const auto where = index_path.string() + ": weight_map entry '" + tensor + "' -> '" + shard + "': ";
  if (shard.empty()) throw Error(where + "shard name is empty");
  if (p.is_absolute() || p.has_root_name() || p.has_root_directory())
    throw Error(where + "shard must be a path relative to the model directory");
  for (const auto& part : p)
    if (part == "..") throw Error(where + "shard path must not contain '..'");
}

Json read_index(const fs::path& index_path) {
  std::ifstream in(index_path, std::ios::binary);
  if (!in) throw Error("cannot read " + index_path.string());
  std::stringstream text;
  text << in.rdbuf();
  try {
    return Json::parse(text.str());
  } catch (const Json::exception& e) {
    throw Error(index_path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

// Index → (tensor name → shard name), validated.
std::map<std::string, std::string> read_weight_map(const fs::path& index_path) {
  const Json index = read_index(index_path);
  if (!index.is_object()) throw Error(index_path.string() + ": must be a JSON object");
  const auto it = index.find("weight_map");
  if (it == index.end() || !it->is_object())
    throw Error(index_path.string() + ": missing object 'weight_map' (tensor name -> shard file)");
  std::map<std::string, std::string> weight_map;
  for (const auto& [name, shard] : it->items()) {
    if (!shard.is_string())
      throw Error(index_path.string() + ": weight_map entry '" + name + "' must be a file name string");
    check_shard_name(shard.get<std::string>(), name, index_path);
    weight_map.emplace(name, shard.get<std::string>());
  }
  if (weight_map.empty()) throw Error(index_path.string() + ": weight_map is empty");
  return weight_map;
}

uint64_t tensor_bytes(const NamedTensor& t) {
  return t.tensor.defined() ? static_cast<uint64_t>(t.tensor.numel()) * t.tensor.element_size() : 0;
}

// A stale file from an earlier save with another layout would make the directory ambiguous
// (open() prefers model.safetensors over an index), so it goes once the new files are in place.
void remove_stale(const fs::path& file) {
  std::error_code ec;
  fs::remove(file, ec);
  if (ec) throw Error("cannot remove stale " + file.string() + ": " + ec.message());
}

std::size_t position_of(const std::map<std::string, std::size_t>& shard_index, const fs::path& root,
                        const std::string& name) {
  const auto it = shard_index.find(name);
  if (it == shard_index.end()) throw Error(root.string() + ": checkpoint has no tensor named '" + name + "'");
  return it->second;
}

}  // namespace

HfCheckpoint HfCheckpoint::open(const fs::path& path) {
  HfCheckpoint ckpt;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error("checkpoint not found: " + path.string());

  if (!fs::is_directory(status)) {
    ckpt.root_ = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    ckpt.shards_.push_back(SafetensorsFile::open(path));
  } else {
    ckpt.root_ = path;
    const fs::path single = path / kSingleFileName;
    const fs::path index_path = path / kIndexFileName;
    if (fs::exists(single)) {
      ckpt.shards_.push_back(SafetensorsFile::open(single));
    } else if (fs::exists(index_path)) {
      const auto weight_map = read_weight_map(index_path);
      std::map<std::string, std::string> first_tensor;  // shard name -> a tensor it holds (for errors)
      for (const auto& [name, shard] : weight_map) first_tensor.emplace(shard, name);
      std::map<std::string, std::size_t> shard_position;  // shard name -> index into shards_ (sorted)
      for (const auto& [shard, name] : first_tensor) {
        const fs::path shard_path = path / shard;
        if (!fs::exists(shard_path))
          throw Error(index_path.string() + ": shard '" + shard + "' (holding tensor '" + name +
                      "') not found: " + shard_path.string());
        shard_position.emplace(shard, ckpt.shards_.size());
        ckpt.shards_.push_back(SafetensorsFile::open(shard_path));
      }
      for (const auto& [name, shard] : weight_map) {
        const SafetensorsFile& file = ckpt.shards_[shard_position.at(shard)];
        if (file.find(name) == nullptr)
          throw Error(index_path.string() + ": tensor '" + name + "' is listed in shard '" + shard +
                      "' but " + file.path().string() + " does not contain it");
        ckpt.shard_index_.emplace(name, shard_position.at(shard));
      }
      // The reverse direction: every tensor a shard holds must be the one the index points at.
      for (const auto& file : ckpt.shards_) {
        for (const auto& info : file.tensors()) {
          const auto it = weight_map.find(info.name);
          if (it == weight_map.end())
            throw Error(index_path.string() + ": tensor '" + info.name + "' is in " + file.path().string() +
                        " but not in weight_map (inconsistent index)");
          const auto& listed = ckpt.shards_[shard_position.at(it->second)];
          if (&listed != &file)
            throw Error(index_path.string() + ": tensor '" + info.name + "' is present in two shards: " +
                        listed.path().string() + " and " + file.path().string());
        }
      }
      return ckpt;
    } else {
      throw Error("no weights in " + path.string() + ": looked for " + kSingleFileName + " and " +
                  kIndexFileName);
    }
  }
  for (const auto& info : ckpt.shards_.front().tensors()) ckpt.shard_index_.emplace(info.name, 0);
  return ckpt;
}

std::vector<std::string> HfCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(shard_index_.size());
  for (const auto& [name, shard] : shard_index_) out.push_back(name);
  return out;
}

bool HfCheckpoint::contains(const std::string& name) const { return shard_index_.count(name) != 0; }

const TensorInfo& HfCheckpoint::info(const std::string& name) const {
  return *shards_[position_of(shard_index_, root_, name)].find(name);
}

const fs::path& HfCheckpoint::shard_of(const std::string& name) const {
  return shards_[position_of(shard_index_, root_, name)].path();
}

at::Tensor HfCheckpoint::tensor(const std::string& name) const {
  return shards_[position_of(shard_index_, root_, name)].tensor(name);
}

std::string shard_file_name(std::size_t k, std::size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", k, n);
  return buf;
}

// Unlike huggingface_hub, an oversized tensor does not jump ahead of the current shard.
std::vector<std::pair<std::size_t, std::size_t>> pack_shards(const std::vector<uint64_t>& tensor_bytes,
                                                             uint64_t max_shard_bytes) {
  std::vector<std::pair<std::size_t, std::size_t>> shards;
  std::size_t begin = 0;
  uint64_t current = 0;
  for (std::size_t i = 0; i < tensor_bytes.size(); ++i) {
    const uint64_t bytes = tensor_bytes[i];
    if (i > begin && (bytes > max_shard_bytes || current + bytes > max_shard_bytes)) {
      shards.emplace_back(begin, i);
      begin = i;
      current = 0;
    }
    current += bytes;
    if (bytes > max_shard_bytes) {
      shards.emplace_back(begin, i + 1);
      begin = i + 1;
      current = 0;
    }
  }
  if (begin < tensor_bytes.size()) shards.emplace_back(begin, tensor_bytes.size());
  return shards;
}

void write_hf_index(const fs::path& dir, const std::map<std::string, std::string>& weight_map, uint64_t total_bytes) {
  const Json index = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}};
  write_file_atomically(dir / kIndexFileName, index.dump(2) + "\n");
}

void write_hf_checkpoint(const fs::path& dir, const std::vector<NamedTensor>& tensors, uint64_t max_shard_bytes,
                         const std::map<std::string, std::string>& metadata) {
  // Names are checked across the whole checkpoint, not just within each shard file.
  std::set<std::string> seen;
  std::vector<uint64_t> sizes;
  uint64_t total = 0;
  for (const auto& t : tensors) {
    if (!seen.insert(t.name).second)
      throw Error(dir.string() + ": tensor '" + t.name + "' given twice when writing the checkpoint");
    sizes.push_back(tensor_bytes(t));
    total += sizes.back();
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create checkpoint directory " + dir.string() + ": " + ec.message());

  if (total <= max_shard_bytes) {
    write_safetensors(dir / kSingleFileName, tensors, metadata);
    remove_stale(dir / kIndexFileName);
    return;
  }

  const auto ranges = pack_shards(sizes, max_shard_bytes);
  std::map<std::string, std::string> weight_map;
  for (std::size_t k = 0; k < ranges.size(); ++k) {
    const std::string file_name = shard_file_name(k + 1, ranges.size());
    const auto [begin, end] = ranges[k];
    std::vector<NamedTensor> shard(tensors.begin() + begin, tensors.begin() + end);
    write_safetensors(dir / file_name, shard, metadata);
    for (const auto& t : shard) weight_map[t.name] = file_name;
  }
  // The index goes last, so it never names a shard that is not yet on disk.
  write_hf_index(dir, weight_map, total);
  remove_stale(dir / kSingleFileName);
}

}  // namespace llmft::io
