#include "lora/merge_weights.h"

#include <algorithm>
#include <map>
#include <optional>

#include <torch/torch.h>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/gguf.h"
#include "io/hf_checkpoint.h"
#include "io/safetensors.h"
#include "lora/peft_adapter.h"
#include "model/gguf_import.h"
#include "model/tensor_table.h"

namespace llmft::lora {
namespace {
namespace fs = std::filesystem;

constexpr const char* kSingleFile = io::kHfSingleFileName;
constexpr const char* kIndexFile = io::kHfIndexFileName;

// One output tensor from its base value (any dtype), applying the plan's edit.
at::Tensor merged_tensor(const std::string& name, const at::Tensor& base, const MergePlan& plan,
                         const io::SafetensorsFile& adapter, c10::ScalarType dtype) {
  const auto it = plan.edits.find(name);
  if (it == plan.edits.end()) return base.to(dtype);
  const TensorEdit& edit = it->second;
  if (edit.kind == TensorEdit::Kind::Replace) return adapter.tensor(edit.replacement_key).to(dtype);
  // [out, in] += s * [out, r] @ [r, in], all fp32; one rounding to `dtype` at the end.
  const at::Tensor a = adapter.tensor(edit.lora_a_key).to(at::kFloat);
  const at::Tensor b = adapter.tensor(edit.lora_b_key).to(at::kFloat);
  return base.to(at::kFloat).add(at::matmul(b, a), edit.scaling).to(dtype);
}

void account(MergeWriteReport& report, const std::vector<io::NamedTensor>& shard) {
  for (const auto& t : shard) {
    ++report.tensors;
    report.parameters += t.tensor.numel();
    report.bytes += t.tensor.nbytes();
  }
}

MergeWriteReport write_from_hf(const MergePlan& plan, const fs::path& out_dir, c10::ScalarType dtype,
                               const io::SafetensorsFile& adapter) {
  // The layout first (names only), so no base shard stays mapped longer than its own turn.
  struct OutShard {
    std::string file_name;
    fs::path source;
    std::vector<std::string> names;  // file order
  };
  std::vector<OutShard> layout;
  bool indexed = false;
  bool base_has_head = false;  // tied checkpoints may still carry a (then ignored) lm_head.weight
  {
    const io::HfCheckpoint base = io::HfCheckpoint::open(plan.base);
    indexed = base.shards().size() > 1 || fs::exists(base.root() / kIndexFile);
    base_has_head = base.contains("lm_head.weight");
    for (const auto& shard : base.shards()) {
      OutShard out{indexed ? shard.path().filename().string() : kSingleFile, shard.path(), {}};
      for (const auto& info : shard.tensors()) out.names.push_back(info.name);
      layout.push_back(std::move(out));
    }
  }

  MergeWriteReport report;
  std::map<std::string, std::string> weight_map;
  for (const auto& [file_name, source_path, names] : layout) {
    const io::SafetensorsFile source = io::SafetensorsFile::open(source_path);
    std::vector<io::NamedTensor> shard;
    for (const auto& name : names) shard.push_back({name, merged_tensor(name, source.tensor(name), plan, adapter, dtype)});
    // The untied head goes beside the embedding it was tied to.
    if (plan.untie_head && !base_has_head && std::find(names.begin(), names.end(), "model.embed_tokens.weight") != names.end())
      shard.push_back({"lm_head.weight", adapter.tensor(plan.edits.at("lm_head.weight").replacement_key).to(dtype)});
    io::write_safetensors(out_dir / file_name, shard, {{"format", "pt"}});
    for (const auto& t : shard) weight_map[t.name] = file_name;
    report.shard_files.push_back(file_name);
    account(report, shard);
  }
  if (indexed) io::write_hf_index(out_dir, weight_map, report.bytes);
  return report;
}

MergeWriteReport write_from_gguf(const MergePlan& plan, const fs::path& out_dir, c10::ScalarType dtype,
                                 uint64_t max_shard_bytes, const io::SafetensorsFile& adapter) {
  const io::GgufFile gguf = io::GgufFile::open(plan.base);
  std::map<std::string, model::GgufTensorMapping> by_name;
  for (const auto& m : model::map_gguf_tensors(gguf)) by_name.emplace(m.hf_name, m);

  // Table order, as `llmft convert` writes; sizes known from shapes, so shards are planned up front.
  struct Item {
    std::string name;
    uint64_t bytes;
  };
  std::vector<Item> items;
  uint64_t total = 0;
  const uint64_t element = c10::elementSize(dtype);
  for (const auto& t : model::expected_tensors(plan.config)) {
    if (!by_name.count(t.name) && !plan.edits.count(t.name)) continue;  // an absent optional tensor
    uint64_t numel = 1;
    for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
    items.push_back({t.name, numel * element});
    total += numel * element;
  }
  // io::write_hf_checkpoint's layout: one file when it all fits, else its greedy packing.
  std::vector<uint64_t> sizes;
  for (const auto& item : items) sizes.push_back(item.bytes);
  const std::vector<std::pair<std::size_t, std::size_t>> ranges =
      total <= max_shard_bytes ? std::vector<std::pair<std::size_t, std::size_t>>{{0, items.size()}}
                               : io::pack_shards(sizes, max_shard_bytes);

  MergeWriteReport report;
  std::map<std::string, std::string> weight_map;
  for (std::size_t k = 0; k < ranges.size(); ++k) {
    const std::string file_name = ranges.size() == 1 && total <= max_shard_bytes ? kSingleFile
                                                                                 : io::shard_file_name(k + 1, ranges.size());
    std::vector<io::NamedTensor> shard;
    for (std::size_t i = ranges[k].first; i < ranges[k].second; ++i) {
      const std::string& name = items[i].name;
      const auto found = by_name.find(name);
      // Dequantized in fp32 (the tied head untied by the adapter has no GGUF tensor: it is replaced).
      const at::Tensor base = found != by_name.end() ? model::load_gguf_tensor(gguf, found->second, plan.config, at::kFloat)
                                                     : at::Tensor();
      shard.push_back({name, base.defined() ? merged_tensor(name, base, plan, adapter, dtype)
                                            : adapter.tensor(plan.edits.at(name).replacement_key).to(dtype)});
    }
    io::write_safetensors(out_dir / file_name, shard, {{"format", "pt"}});
    for (const auto& t : shard) weight_map[t.name] = file_name;
    report.shard_files.push_back(file_name);
    account(report, shard);
  }
  if (report.shard_files.size() > 1 || report.shard_files.front() != kSingleFile)
    io::write_hf_index(out_dir, weight_map, report.bytes);
  return report;
}

}  // namespace

MergeWriteReport write_merged_weights(const MergePlan& plan, const fs::path& out_dir, c10::ScalarType dtype,
                                      uint64_t max_shard_bytes) {
  torch::NoGradGuard no_grad;
  const io::SafetensorsFile adapter = io::SafetensorsFile::open(plan.adapter_dir / kAdapterWeightsFile);
  if (plan.gguf) return write_from_gguf(plan, out_dir, dtype, max_shard_bytes, adapter);
  return write_from_hf(plan, out_dir, dtype, adapter);
}

}  // namespace llmft::lora
