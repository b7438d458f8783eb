// YAML recipe + overrides -> Recipe: parse the file against the schema table (recipes/recipe_fields.h),
// apply overrides through the same typed setters, settle the mutually exclusive pairs, then validate
// ranges. Every error is one line that starts with where the value came from ("r.yaml:7:9" or
// "override 'train.lr=abc'").
#include "recipes/recipe_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "data/custom_template.h"
#include "io/error.h"
#include "recipes/recipe_fields.h"

namespace llmft::recipes {
namespace {

using detail::Field;

// Pairs of optional keys of which at most one may be set. A source (the file, or the overrides) that
// sets one member unsets the other as set by an earlier source, so `train.max_steps=100` on the command
// line replaces the file's `epochs`; setting both in one source is an error.
constexpr std::pair<const char*, const char*> kExclusive[] = {
    {"train.max_steps", "train.epochs"},
    {"train.warmup_steps", "train.warmup_ratio"},
    {"data.eval_split", "data.eval_path"},
};

std::string place(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string first_key_of(const std::string& section) {
  for (const Field& field : detail::fields()) {
    if (field.key.starts_with(section + ".")) return field.key;
  }
  return section;
}

std::string unknown_key_message(const std::string& key) {
  return "unknown key '" + key + "' (did you mean '" + detail::nearest_key(key) + "'?)";
}

class Resolver {
 public:
  explicit Resolver(std::string source) : source_(std::move(source)) {}

  void apply_file(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      throw Error(place(source_, e.mark) + ": invalid YAML: " + e.msg);
    }
    if (root.IsNull()) return;
    if (!root.IsMap()) throw Error(place(source_, root.Mark()) + ": expected a mapping of recipe sections");
    std::set<std::string> keys;
    std::map<std::string, std::string> sections;  // name -> where, to refuse a section written twice
    for (const auto& entry : root) {
      const std::string name = key_text(entry.first);
      const std::string where = place(source_, entry.first.Mark());
      if (detail::is_section(name) && !sections.emplace(name, where).second) {
        throw Error(where + ": duplicate key '" + name + "' (first set at " + sections[name] + ")");
      }
      if (detail::is_section(name)) {
        apply_section(name, entry.second, keys);
      } else if (const Field* field = detail::find_field(name)) {
        set(*field, entry.second, where, entry.first.Mark(), keys);
      } else {
        throw Error(where + ": " + unknown_key_message(name));
      }
    }
    settle_exclusive(keys);
  }

  void apply_overrides(const std::vector<std::string>& overrides) {
    std::set<std::string> keys;
    for (const std::string& text : overrides) {
      const std::string where = "override '" + text + "'";
      size_t eq = text.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw Error(where + ": expected key=value, e.g. train.lr=1e-4");
      }
      const std::string key = text.substr(0, eq);
      const Field* field = detail::find_field(key);
      if (field == nullptr) {
        if (detail::is_section(key)) {
          throw Error(where + ": '" + key + "' is a section; set its keys one by one, e.g. " +
                      first_key_of(key) + "=...");
        }
        throw Error(where + ": " + unknown_key_message(key));
      }
      YAML::Node value;
      try {
        value = YAML::Load(text.substr(eq + 1));
      } catch (const YAML::ParserException& e) {
        throw Error(where + ": invalid YAML value: " + e.msg);
      }
      set(*field, value, where, YAML::Mark::null_mark(), keys);
    }
    settle_exclusive(keys);
  }

  Recipe finish() {
    // Defaults that depend on other keys or on a pair being empty.
    if (!recipe_.train.max_steps && !recipe_.train.epochs) recipe_.train.epochs = 1;
    if (!recipe_.train.warmup_steps && !recipe_.train.warmup_ratio) recipe_.train.warmup_ratio = 0.03;
    // Full fine-tuning moves every weight; an order of magnitude below LoRA's rate is the usual start.
    if (recipe_.method == Method::kFull && !origin_.count("train.lr")) recipe_.train.lr = 2e-5;
    validate();
    return recipe_;
  }

 private:
  struct Origin {
    std::string where;  // "r.yaml:7:9" or "override '...'"
    YAML::Mark mark;    // null for overrides
  };

  std::string key_text(const YAML::Node& key) const {
    if (!key.IsScalar()) throw Error(place(source_, key.Mark()) + ": expected a key name, got a " +
                                     (key.IsMap() ? "mapping" : "list"));
    return key.Scalar();
  }

  void apply_section(const std::string& section, const YAML::Node& body, std::set<std::string>& keys) {
    if (body.IsNull()) return;  // `lora:` with nothing under it keeps the defaults
    if (!body.IsMap()) {
      throw Error(place(source_, body.Mark()) + ": " + section + ": expected a mapping of keys, got " +
                  (body.IsSequence() ? "a list" : "'" + body.Scalar() + "'"));
    }
    for (const auto& entry : body) {
      const std::string key = section + "." + key_text(entry.first);
      const std::string where = place(source_, entry.first.Mark());
      const Field* field = detail::find_field(key);
      if (field == nullptr) throw Error(where + ": " + unknown_key_message(key));
      set(*field, entry.second, where, entry.first.Mark(), keys);
    }
  }

  void set(const Field& field, const YAML::Node& value, const std::string& where, const YAML::Mark& mark,
           std::set<std::string>& keys) {
    // A repeated key in one file is almost always an edit gone wrong; yaml-cpp would keep one silently.
    if (!mark.is_null() && keys.count(field.key)) {
      throw Error(where + ": duplicate key '" + field.key + "' (first set at " + origin_[field.key].where +
                  ")");
    }
    field.set(recipe_, value, where);
    keys.insert(field.key);
    origin_[field.key] = {where, mark};
  }

  void settle_exclusive(const std::set<std::string>& keys) {
    for (const auto& [a, b] : kExclusive) {
      const Field& fa = *detail::find_field(a);
      const Field& fb = *detail::find_field(b);
      bool a_here = keys.count(a) && fa.present(recipe_);
      bool b_here = keys.count(b) && fb.present(recipe_);
      if (a_here && b_here) {
        const Origin& other = origin_[b];
        std::string other_place =
            other.mark.is_null() ? other.where : "line " + std::to_string(other.mark.line + 1);
        throw Error(origin_[a].where + ": " + a + " and " + b + " (" + other_place +
                    ") are mutually exclusive; set only one");
      }
      if (a_here && !keys.count(b)) fb.clear(recipe_);
      if (b_here && !keys.count(a)) fa.clear(recipe_);
    }
  }

  // Where a key's value came from, for range errors; defaults are always in range, so a key without an
  // origin can only be a required one left out.
  std::string where(const std::string& key) const {
    auto it = origin_.find(key);
    return it == origin_.end() ? source_ : it->second.where;
  }

  template <class T>
  void require(bool ok, const std::string& key, const std::string& rule, const T& value) const {
    if (ok) return;
    std::ostringstream shown;
    if constexpr (std::is_floating_point_v<T>) {
      shown << detail::format_double(value);
    } else {
      shown << value;
    }
    throw Error(where(key) + ": " + key + " must be " + rule + ", got " + shown.str());
  }

  void require_names(const std::vector<std::string>& names, const std::string& key) const {
    std::set<std::string> seen;
    for (const std::string& name : names) {
      if (name.empty()) throw Error(where(key) + ": " + key + ": module names must not be empty");
      if (!seen.insert(name).second) {
        throw Error(where(key) + ": " + key + ": '" + name + "' is listed twice");
      }
    }
  }

  // data.template: custom and data.custom_template come together; each role format holds {content} once.
  void validate_custom_template() const {
    const DataSection& d = recipe_.data;
    if (d.template_name == "custom" && !d.custom_template) {
      throw Error(where("data.template") + ": data.template: custom needs data.custom_template (formats for user "
                  "and assistant, optionally system, each with {content})");
    }
    if (!d.custom_template) return;
    if (d.template_name != "custom") {
      throw Error(where("data.custom_template") + ": data.custom_template is set but data.template is '" +
                  d.template_name + "'; set data.template: custom (or data.custom_template: null)");
    }
    const CustomTemplateSection& c = *d.custom_template;
    const std::pair<const char*, const std::optional<std::string>> roles[] = {
        {"system", c.system}, {"user", c.user}, {"assistant", c.assistant}};
    for (const auto& [role, format] : roles) {
      const std::string problem = format ? data::custom_format_problem(*format) : "";
      if (!problem.empty()) {
        throw Error(where("data.custom_template") + ": data.custom_template." + role + " " + problem);
      }
    }
    if (c.default_system && !c.system) {
      throw Error(where("data.custom_template") +
                  ": data.custom_template.default_system needs data.custom_template.system (the format it is "
                  "written with)");
    }
  }

  void validate() const {
    const Recipe& r = recipe_;
    if (r.model.path.empty()) throw Error(where("model.path") + ": model.path must not be empty");

    require(r.lora.rank > 0, "lora.rank", "> 0", r.lora.rank);
    require(r.lora.alpha > 0 && std::isfinite(r.lora.alpha), "lora.alpha", "> 0", r.lora.alpha);
    require(r.lora.dropout >= 0 && r.lora.dropout < 1, "lora.dropout", "in [0, 1)", r.lora.dropout);
    const auto& targets = r.lora.target_modules;
    if (targets.empty()) {
      throw Error(where("lora.target_modules") + ": lora.target_modules must name at least one module "
                  "(or be all-linear)");
    }
    if (targets.size() > 1 && std::find(targets.begin(), targets.end(), kAllLinear) != targets.end()) {
      throw Error(where("lora.target_modules") + ": lora.target_modules: all-linear cannot be combined with "
                  "module names; write it alone, without brackets");
    }
    require_names(targets, "lora.target_modules");
    require_names(r.lora.modules_to_save, "lora.modules_to_save");

    if (r.data.path.empty()) throw Error(where("data.path") + ": data.path is required (the training data)");
    if (r.data.template_name.empty()) {
      throw Error(where("data.template") + ": data.template must not be empty (use auto)");
    }
    validate_custom_template();
    require(r.data.max_seq_len > 0, "data.max_seq_len", "> 0", r.data.max_seq_len);
    if (r.data.pad_to_multiple_of) {
      require(*r.data.pad_to_multiple_of > 0, "data.pad_to_multiple_of", "> 0 (or null)", *r.data.pad_to_multiple_of);
    }
    if (r.data.eval_split) {
      double s = *r.data.eval_split;
      require(s > 0 && s < 1, "data.eval_split", "in (0, 1)", s);
    }
    if (r.data.eval_path && r.data.eval_path->empty()) {
      throw Error(where("data.eval_path") + ": data.eval_path must not be empty (use null for none)");
    }

    const TrainSection& t = r.train;
    require(t.batch_size > 0, "train.batch_size", "> 0", t.batch_size);
    require(t.grad_accum_steps > 0, "train.grad_accum_steps", "> 0", t.grad_accum_steps);
    if (t.max_steps) require(*t.max_steps > 0, "train.max_steps", "> 0", *t.max_steps);
    if (t.epochs) require(*t.epochs > 0, "train.epochs", "> 0", *t.epochs);
    require(t.lr > 0 && std::isfinite(t.lr), "train.lr", "> 0", t.lr);
    require(t.weight_decay >= 0 && std::isfinite(t.weight_decay), "train.weight_decay", ">= 0",
            t.weight_decay);
    for (double beta : t.betas) require(beta >= 0 && beta < 1, "train.betas", "in [0, 1) each", beta);
    require(t.eps > 0 && std::isfinite(t.eps), "train.eps", "> 0", t.eps);
    if (t.warmup_steps) require(*t.warmup_steps >= 0, "train.warmup_steps", ">= 0", *t.warmup_steps);
    if (t.warmup_ratio) {
      double ratio = *t.warmup_ratio;
      require(ratio >= 0 && ratio < 1, "train.warmup_ratio", "in [0, 1)", ratio);
    }
    require(t.max_grad_norm >= 0 && std::isfinite(t.max_grad_norm), "train.max_grad_norm",
            ">= 0 (0 disables clipping)", t.max_grad_norm);
    require(t.max_nonfinite_steps >= 0, "train.max_nonfinite_steps", ">= 0 (0: stop at the first)",
            t.max_nonfinite_steps);
    require(t.dist_timeout_seconds > 0, "train.dist_timeout_seconds", "> 0", t.dist_timeout_seconds);
    require(t.zero_stage >= 0 && t.zero_stage <= 2, "train.zero_stage",
            "0, 1 or 2 (0: no sharding, 1: optimizer state, 2: optimizer state and gradients)", t.zero_stage);
    require(t.seed >= 0, "train.seed", ">= 0", t.seed);

    if (r.output.dir.empty()) throw Error(where("output.dir") + ": output.dir must not be empty");
    require(r.output.save_every_steps >= 0, "output.save_every_steps", ">= 0 (0: only at the end)",
            r.output.save_every_steps);
    require(r.output.keep_last_n >= 0, "output.keep_last_n", ">= 0 (0 keeps all)", r.output.keep_last_n);
    require(r.output.log_every_steps > 0, "output.log_every_steps", "> 0", r.output.log_every_steps);
    require(r.eval.every_steps >= 0, "eval.every_steps", ">= 0 (0: only at the end)", r.eval.every_steps);
    require(r.eval.max_batches >= 0, "eval.max_batches", ">= 0 (0: all)", r.eval.max_batches);
  }

  std::string source_;
  Recipe recipe_;
  std::map<std::string, Origin> origin_;
};

}  // namespace

Recipe parse_recipe(const std::string& yaml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides) {
  Resolver resolver(source_name);
  resolver.apply_file(yaml_text);
  resolver.apply_overrides(overrides);
  return resolver.finish();
}

Recipe load_recipe(const std::filesystem::path& yaml, const std::vector<std::string>& overrides) {
  std::ifstream in(yaml, std::ios::binary);
  if (!in) throw Error(yaml.string() + ": cannot open recipe file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(yaml.string() + ": cannot read recipe file");
  return parse_recipe(text.str(), yaml.string(), overrides);
}

std::string recipe_to_yaml(const Recipe& recipe) {
  std::string out;
  std::string section;
  for (const Field& field : detail::fields()) {
    size_t dot = field.key.find('.');
    if (dot == std::string::npos) {
      section.clear();
      out += field.key + ": " + field.to_yaml(recipe) + "\n";
      continue;
    }
    std::string this_section = field.key.substr(0, dot);
    if (this_section != section) {
      section = this_section;
      out += section + ":\n";
    }
    out += "  " + field.key.substr(dot + 1) + ": " + field.to_yaml(recipe) + "\n";
  }
  return out;
}

nlohmann::json recipe_to_json(const Recipe& recipe) {
  nlohmann::json out = nlohmann::json::object();
  for (const Field& field : detail::fields()) {
    size_t dot = field.key.find('.');
    if (dot == std::string::npos) {
      out[field.key] = field.to_json(recipe);
    } else {
      out[field.key.substr(0, dot)][field.key.substr(dot + 1)] = field.to_json(recipe);
    }
  }
  return out;
}

}  // namespace llmft::recipes
