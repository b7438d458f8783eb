// recipe: fuzz bytes -> YAML recipe text + `key=value` overrides -> recipes::parse_recipe, as
// `llmft train RECIPE.yaml key=value...` reads them. The text before the first NUL byte is the YAML;
// after it, each line is one override. An accepted recipe must re-parse from recipe_to_yaml() (the
// resolved recipe the run directory records) to the same YAML.
#include <string>
#include <vector>

#include "fuzz/targets/common.h"
#include "io/error.h"
#include "recipes/recipe_config.h"

namespace llmft::fuzz {

void recipe(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto parts = split(bytes, '\0', 2);
  const std::string yaml(parts[0]);
  std::vector<std::string> overrides;
  if (parts.size() > 1) {
    for (std::string_view line : split(parts[1], '\n', 64)) overrides.emplace_back(line);
  }
  recipes::Recipe parsed;
  try {
    parsed = recipes::parse_recipe(yaml, "recipe.yaml", overrides);
  } catch (const Error&) {
    return;
  }
  const std::string resolved = recipes::recipe_to_yaml(parsed);
  (void)recipes::recipe_to_json(parsed).dump();
  try {
    const recipes::Recipe reread = recipes::parse_recipe(resolved, "resolved.yaml", {});
    check(recipes::recipe_to_yaml(reread) == resolved, "recipe_to_yaml is not a fixed point of parse_recipe");
  } catch (const Error& e) {
    throw InvariantViolation(std::string("recipe accepted but its resolved YAML is rejected: ") + e.what());
  }
}

}  // namespace llmft::fuzz
