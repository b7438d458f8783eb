#pragma once
// The merged weights, written shard by shard so that memory holds about one output shard at a time
// (plus the input pages of that shard, which the kernel may drop once it is unmapped):
//   W' = cast(W_fp32 + s * B_fp32 @ A_fp32, dtype)   for LoRA targets, computed in fp32, cast once
//   W' = cast(adapter tensor, dtype)                  for modules_to_save
//   W' = cast(W, dtype)                               otherwise
// An HF base keeps its layout: the same shard file names with the same tensors in the same order,
// and an index with the same weight_map (a head untied by the adapter joins the embedding's shard).
// A GGUF base is laid out as `llmft convert` lays it out (table order, io::write_hf_checkpoint's
// naming and packing for max_shard_bytes).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <c10/core/ScalarType.h>

#include "lora/merge_plan.h"

namespace llmft::lora {

struct MergeWriteReport {
  std::vector<std::string> shard_files;  // written, in order
  int64_t tensors = 0;
  int64_t parameters = 0;
  uint64_t bytes = 0;                    // tensor data written
};

// Writes the weight files (and the index when sharded) into `out_dir`, which must exist.
MergeWriteReport write_merged_weights(const MergePlan& plan, const std::filesystem::path& out_dir,
                                      c10::ScalarType dtype, uint64_t max_shard_bytes);

}  // namespace llmft::lora
