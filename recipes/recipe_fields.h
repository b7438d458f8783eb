#pragma once
// The recipe schema as a table: one Field per dotted key, each knowing how to read its value from a YAML
// node (type-checked, naming key and place on failure) and how to write it back as YAML text and JSON.
// Internal to recipes/; the public API is recipes/recipe_config.h.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "recipes/recipe.h"

namespace llmft::recipes::detail {

struct Field {
  std::string key;  // "train.lr", or "method" for the one top-level scalar
  // Parses `value` into the recipe; throws llmft::Error starting with `where` ("r.yaml:3:7").
  std::function<void(Recipe&, const YAML::Node& value, const std::string& where)> set;
  std::function<std::string(const Recipe&)> to_yaml;  // one-line YAML value
  std::function<nlohmann::json(const Recipe&)> to_json;
  // Optional keys only (unset = null): whether a value is present, and unsetting it.
  std::function<bool(const Recipe&)> present;
  std::function<void(Recipe&)> clear;
};

// In schema order: the order of docs/recipes.md and of recipe_to_yaml().
const std::vector<Field>& fields();
const Field* find_field(std::string_view key);
bool is_section(std::string_view name);

// The valid key (or section name, for a key without a dot) closest to `key`, for "did you mean".
std::string nearest_key(std::string_view key);

// Shortest text that reads back to the same double, %g-style ("0.0002", "1e-08").
std::string format_double(double value);

}  // namespace llmft::recipes::detail
