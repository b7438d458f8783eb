#pragma once
// YAML recipe + `key=value` overrides -> a validated Recipe, and the resolved Recipe back out as YAML
// (re-loadable) or JSON. Every key is documented in docs/recipes.md. Each failure is one llmft::Error
// line naming the file (or the override), the dotted key and the line.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "recipes/recipe.h"

namespace llmft::recipes {

// Reads `yaml`, then applies `overrides` in order ("train.lr=1e-4", "lora.target_modules=[q_proj,v_proj]").
// Values of overrides are parsed as YAML scalars or flow sequences and type-checked like the file's.
Recipe load_recipe(const std::filesystem::path& yaml, const std::vector<std::string>& overrides);

// As load_recipe, from text; `source_name` is what errors call the file.
Recipe parse_recipe(const std::string& yaml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides);

// The resolved recipe, every key present, in schema order; parse_recipe() of it gives the same Recipe.
std::string recipe_to_yaml(const Recipe& recipe);

// The resolved recipe as nested objects (optional keys that are unset are null), e.g. for out/run.json.
nlohmann::json recipe_to_json(const Recipe& recipe);

// Every valid dotted key ("model.path", "method", "train.lr", ...), in schema order.
const std::vector<std::string>& recipe_keys();

// Spellings used in recipes: "bf16", "cuda:1", "cosine", ...
std::string to_string(DType value);
std::string to_string(Method value);
std::string to_string(LoraInit value);
std::string to_string(DataFormat value);
std::string to_string(LrScheduler value);
std::string to_string(Truncation value);
std::string to_string(OnError value);
std::string to_string(const Device& value);

// "auto" | "cpu" | "cuda" | "cuda:N"; throws llmft::Error naming the text otherwise.
Device parse_device(std::string_view text);

}  // namespace llmft::recipes
