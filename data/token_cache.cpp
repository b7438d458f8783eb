#include "data/token_cache.h"

#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "data/sha256.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/mapped_file.h"

namespace llmft::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kMagic[8] = {'L', 'L', 'M', 'F', 'T', 'T', 'O', 'K'};
// Bump when the layout or the meaning of anything in the file changes.
constexpr uint32_t kVersion = 1;
// Part of every key: bump when a change to rendering, masking or truncation (data/) changes the
// tokens a dataset gives, so caches written before the change are not reused.
constexpr const char* kPipelineVersion = "pipeline-2";

std::size_t padded8(std::size_t n) { return (n + 7) / 8 * 8; }

json stats_json(const DatasetStats& s) {
  return {{"records", s.records},   {"truncated", s.truncated}, {"dropped", s.dropped},
          {"skipped", s.skipped},   {"skip_examples", s.skip_examples},
          {"tokens", s.tokens},     {"supervised_tokens", s.supervised_tokens}};
}

DatasetStats stats_from_json(const json& j) {
  DatasetStats s;
  s.records = j.at("records").get<int64_t>();
  s.truncated = j.at("truncated").get<int64_t>();
  s.dropped = j.at("dropped").get<int64_t>();
  s.skipped = j.at("skipped").get<int64_t>();
  s.skip_examples = j.at("skip_examples").get<std::vector<std::string>>();
  s.tokens = j.at("tokens").get<int64_t>();
  s.supervised_tokens = j.at("supervised_tokens").get<int64_t>();
  return s;
}

// Appends "LENGTH:FIELD", so no two different lists of fields give the same text.
void put(std::string& blob, std::string_view field) {
  blob += std::to_string(field.size());
  blob += ':';
  blob += field;
}

}  // namespace

fs::path default_token_cache_dir() {
  if (const char* dir = std::getenv("LLMFT_CACHE_DIR"); dir && *dir) return fs::path(dir) / "tokens";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "llmft" / "tokens";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "llmft" / "tokens";
  return fs::temp_directory_path() / "llmft-cache" / "tokens";
}

std::string token_cache_key(const DatasetOptions& options, const Tokenizer& tokenizer,
                            const std::string& content_sha256, const std::string& template_used) {
  std::string blob;
  put(blob, "llmft-token-cache-" + std::to_string(kVersion));
  put(blob, kPipelineVersion);
  put(blob, tokenizer.fingerprint());
  put(blob, content_sha256);
  put(blob, std::to_string(int(options.format)));
  put(blob, template_used);
  // The tokenizer's own Jinja template can decide the rendering (e.g. a default system prompt).
  put(blob, tokenizer.chat_template().value_or(""));
  if (const auto& custom = options.custom_template) {
    put(blob, custom->bos ? "bos" : "-");
    put(blob, custom->system.value_or("\x01unset"));
    put(blob, custom->user);
    put(blob, custom->assistant);
    put(blob, custom->default_system.value_or("\x01unset"));
  } else {
    put(blob, "no custom template");
  }
  put(blob, std::to_string(options.max_seq_len));
  put(blob, std::to_string(int(options.truncation)));
  put(blob, options.train_on_prompt ? "train_on_prompt" : "mask_prompt");
  put(blob, options.skip_bad_records ? "skip_bad" : "fail_bad");
  return sha256_hex(blob);
}

fs::path token_cache_file(const fs::path& dir, const std::string& key) { return dir / (key + ".tokens"); }

std::optional<TokenizedDataset> read_token_cache(const fs::path& file, const std::string& key, std::string* problem) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  auto reject = [&](const std::string& why) -> std::optional<TokenizedDataset> {
    if (problem) *problem = file.string() + ": " + why;
    return std::nullopt;
  };
  std::shared_ptr<io::MappedFile> mapped;
  try {
    mapped = io::MappedFile::open(file);
  } catch (const Error& e) {
    return reject(e.what());
  }
  const uint8_t* bytes = mapped->data();
  const std::size_t size = mapped->size();
  if (size < 16 || std::memcmp(bytes, kMagic, 8) != 0) return reject("not a token cache file");
  uint32_t version = 0, header_size = 0;
  std::memcpy(&version, bytes + 8, 4);
  std::memcpy(&header_size, bytes + 12, 4);
  if (version != kVersion) return reject("token cache version " + std::to_string(version));
  if (16 + std::size_t(header_size) > size) return reject("truncated header");
  json header;
  try {
    header = json::parse(std::string_view(reinterpret_cast<const char*>(bytes + 16), header_size));
  } catch (const json::exception& e) {
    return reject(std::string("unreadable header: ") + e.what());
  }
  try {
    if (header.at("key").get<std::string>() != key) return reject("holds another key");
    const auto samples = header.at("samples").get<int64_t>();
    const auto tokens = header.at("tokens").get<int64_t>();
    if (samples < 0 || tokens < 0) return reject("negative counts");
    const std::size_t offsets_at = padded8(16 + header_size);
    const std::size_t ids_at = offsets_at + 8 * std::size_t(samples + 1);
    const std::size_t labels_at = ids_at + 4 * std::size_t(tokens);
    if (labels_at + 4 * std::size_t(tokens) != size) {
      return reject("size " + std::to_string(size) + " does not match its header (truncated or corrupt)");
    }
    std::vector<int64_t> offsets(std::size_t(samples + 1));
    std::memcpy(offsets.data(), bytes + offsets_at, 8 * offsets.size());
    if (offsets.front() != 0 || offsets.back() != tokens) return reject("corrupt sample offsets");
    const auto* ids = reinterpret_cast<const int32_t*>(bytes + ids_at);
    const auto* labels = reinterpret_cast<const int32_t*>(bytes + labels_at);

    TokenizedDataset dataset;
    dataset.stats = stats_from_json(header.at("stats"));
    dataset.template_used = header.at("template").get<std::string>();
    dataset.warnings = header.at("warnings").get<std::vector<std::string>>();
    dataset.content_sha256 = header.at("content_sha256").get<std::string>();
    dataset.samples.resize(std::size_t(samples));
    for (int64_t i = 0; i < samples; ++i) {
      const int64_t begin = offsets[std::size_t(i)], end = offsets[std::size_t(i + 1)];
      if (begin > end) return reject("corrupt sample offsets");
      TokenizedSample& sample = dataset.samples[std::size_t(i)];
      sample.input_ids.assign(ids + begin, ids + end);
      sample.labels.assign(labels + begin, labels + end);
    }
    return dataset;
  } catch (const json::exception& e) {
    return reject(std::string("unreadable header: ") + e.what());
  }
}

void write_token_cache(const fs::path& file, const std::string& key, const TokenizedDataset& dataset) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) throw Error(file.parent_path().string() + ": cannot create the token cache folder: " + ec.message());
  std::vector<int64_t> offsets{0};
  offsets.reserve(dataset.samples.size() + 1);
  for (const TokenizedSample& sample : dataset.samples) offsets.push_back(offsets.back() + int64_t(sample.input_ids.size()));
  const json header = {{"key", key},
                       {"samples", dataset.samples.size()},
                       {"tokens", offsets.back()},
                       {"stats", stats_json(dataset.stats)},
                       {"template", dataset.template_used},
                       {"warnings", dataset.warnings},
                       {"content_sha256", dataset.content_sha256}};
  const std::string header_text = header.dump();
  const auto header_size = static_cast<uint32_t>(header_text.size());

  io::AtomicFileWriter out(file);
  out.write(kMagic, 8);
  out.write(&kVersion, 4);
  out.write(&header_size, 4);
  out.write(header_text.data(), header_text.size());
  const std::size_t padding = padded8(16 + header_text.size()) - (16 + header_text.size());
  const char zeros[8] = {};
  out.write(zeros, padding);
  out.write(offsets.data(), 8 * offsets.size());
  for (const TokenizedSample& sample : dataset.samples) out.write(sample.input_ids.data(), 4 * sample.input_ids.size());
  for (const TokenizedSample& sample : dataset.samples) out.write(sample.labels.data(), 4 * sample.labels.size());
  out.commit();
}

}  // namespace llmft::data
