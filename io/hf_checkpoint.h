#pragma once
// A Hugging Face model directory's weights: either one `model.safetensors`, or shards listed by
// `model.safetensors.index.json` ({"metadata": {"total_size": N}, "weight_map": {name: shard}}).
// Shard names must stay inside the directory (no absolute paths, no "..").
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"

namespace llmft::io {

class HfCheckpoint {
 public:
  // `path` is a model directory or a single .safetensors file. Opens (and validates) every shard.
  // Throws llmft::Error naming the file: no weights found, bad index, missing shard, a tensor listed
  // in the index but absent from its shard, a tensor present in two shards.
  static HfCheckpoint open(const std::filesystem::path& path);

  // The model directory; for a single .safetensors file, the directory holding it.
  const std::filesystem::path& root() const { return root_; }
  // All tensor names, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;           // throws if absent
  const std::filesystem::path& shard_of(const std::string& name) const;  // shard file path
  at::Tensor tensor(const std::string& name) const;  // mmap view (see SafetensorsFile::tensor)
  const std::vector<SafetensorsFile>& shards() const { return shards_; }  // sorted by file name

 private:
  std::filesystem::path root_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, std::size_t> shard_index_;  // tensor name -> index into shards_
};

inline constexpr const char* kHfSingleFileName = "model.safetensors";
inline constexpr const char* kHfIndexFileName = "model.safetensors.index.json";

// "model-0000K-of-0000N.safetensors" (HF's shard naming; k counts from 1).
std::string shard_file_name(std::size_t k, std::size_t n);

// Greedy packing in order, as transformers/huggingface_hub do: a new shard starts when the next
// tensor would push the current one past the limit; a tensor larger than the limit gets a shard to
// itself. Tensors keep their order. Returns [begin, end) index ranges into `tensor_bytes`.
std::vector<std::pair<std::size_t, std::size_t>> pack_shards(const std::vector<uint64_t>& tensor_bytes,
                                                             uint64_t max_shard_bytes);

// model.safetensors.index.json for `weight_map` (tensor name -> shard file), written atomically.
void write_hf_index(const std::filesystem::path& dir, const std::map<std::string, std::string>& weight_map,
                    uint64_t total_bytes);

// Writes `tensors` into `dir` as model.safetensors, or, when their total size exceeds
// `max_shard_bytes`, as model-0000K-of-0000N.safetensors plus model.safetensors.index.json
// (HF's naming; shards first, index last). Every file is written atomically; tensors keep their
// order. A model.safetensors or index left in `dir` by an earlier save in the other layout is removed.
void write_hf_checkpoint(const std::filesystem::path& dir, const std::vector<NamedTensor>& tensors,
                         uint64_t max_shard_bytes,
                         const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace llmft::io
