// The recipe schema table and its typed value codecs. yaml-cpp's convert<T>::decode is used for numbers
// and booleans because it rejects trailing garbage ("1e-4x") and out-of-range integers, and it is the
// same code path for file values and override values.
#include "recipes/recipe_fields.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdint>
#include <optional>
#include <utility>

#include "data/byte_unicode.h"
#include "io/error.h"
#include "recipes/recipe_config.h"

namespace llmft::recipes {
namespace {

// Enum spellings, in the order the "allowed:" part of an error lists them.
constexpr std::pair<DType, const char*> kDTypes[] = {
    {DType::kBF16, "bf16"}, {DType::kFP16, "fp16"}, {DType::kFP32, "fp32"}};
constexpr std::pair<Method, const char*> kMethods[] = {{Method::kLora, "lora"}, {Method::kFull, "full"}};
constexpr std::pair<LoraInit, const char*> kLoraInits[] = {{LoraInit::kDefault, "default"},
                                                           {LoraInit::kGaussian, "gaussian"}};
constexpr std::pair<DataFormat, const char*> kDataFormats[] = {{DataFormat::kText, "text"},
                                                               {DataFormat::kAlpaca, "alpaca"},
                                                               {DataFormat::kChat, "chat"},
                                                               {DataFormat::kShareGpt, "sharegpt"}};
constexpr std::pair<LrScheduler, const char*> kLrSchedulers[] = {{LrScheduler::kCosine, "cosine"},
                                                                 {LrScheduler::kLinear, "linear"},
                                                                 {LrScheduler::kConstant, "constant"}};
constexpr std::pair<Truncation, const char*> kTruncations[] = {
    {Truncation::kRight, "right"}, {Truncation::kLeft, "left"}, {Truncation::kDrop, "drop"}};
constexpr std::pair<OnError, const char*> kOnErrors[] = {{OnError::kFail, "fail"}, {OnError::kSkip, "skip"}};

template <class E, size_t N>
std::string enum_name(const std::pair<E, const char*> (&table)[N], E value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "?";
}

}  // namespace

std::string to_string(DType value) { return enum_name(kDTypes, value); }
std::string to_string(Method value) { return enum_name(kMethods, value); }
std::string to_string(LoraInit value) { return enum_name(kLoraInits, value); }
std::string to_string(DataFormat value) { return enum_name(kDataFormats, value); }
std::string to_string(LrScheduler value) { return enum_name(kLrSchedulers, value); }
std::string to_string(Truncation value) { return enum_name(kTruncations, value); }
std::string to_string(OnError value) { return enum_name(kOnErrors, value); }

std::string to_string(const Device& value) {
  switch (value.kind) {
    case Device::Kind::kAuto: return "auto";
    case Device::Kind::kCpu: return "cpu";
    case Device::Kind::kCuda: return value.index < 0 ? "cuda" : "cuda:" + std::to_string(value.index);
  }
  return "?";
}

Device parse_device(std::string_view text) {
  if (text == "auto") return {};
  if (text == "cpu") return {Device::Kind::kCpu, -1};
  if (text == "cuda") return {Device::Kind::kCuda, -1};
  if (text.starts_with("cuda:")) {
    std::string_view digits = text.substr(5);
    int index = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (!digits.empty() && ec == std::errc() && end == digits.data() + digits.size() && index >= 0) {
      return {Device::Kind::kCuda, index};
    }
  }
  throw Error("invalid device '" + std::string(text) + "' (allowed: auto, cpu, cuda, cuda:N)");
}

namespace detail {
namespace {

using nlohmann::json;

// What a node holds, for "expected X, got Y".
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing (null)";
  }
}

[[noreturn]] void type_error(const std::string& where, const std::string& key, const std::string& expected,
                             const YAML::Node& node) {
  throw Error(where + ": " + key + ": expected " + expected + ", got " + describe(node));
}

bool is_plain_safe(const std::string& text) {
  if (text.empty()) return false;
  static const char* kReserved[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"};
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : kReserved) {
    if (lower == word) return false;
  }
  unsigned char first = text[0];
  if (!std::isalpha(first) && first != '/' && first != '_' && first != '.') return false;
  return std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/';
  });
}

// A YAML scalar that reads back as exactly `text`: plain when unambiguous, double-quoted otherwise.
std::string yaml_string(const std::string& text) {
  if (is_plain_safe(text)) return text;
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// ---- Codecs: decode (throws, naming key and place), YAML text, JSON ------------------------------------

template <class T>
struct Codec;

template <>
struct Codec<int64_t> {
  static int64_t decode(const YAML::Node& n, const std::string& key, const std::string& where) {
    long value = 0;
    if (!n.IsScalar() || !YAML::convert<long>::decode(n, value)) type_error(where, key, "an integer", n);
    return value;
  }
  static std::string yaml(int64_t v) { return std::to_string(v); }
  static json to_json(int64_t v) { return v; }
};

template <>
struct Codec<double> {
  static double decode(const YAML::Node& n, const std::string& key, const std::string& where) {
    double value = 0;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, value)) type_error(where, key, "a number", n);
    return value;
  }
  static std::string yaml(double v) { return format_double(v); }
  static json to_json(double v) { return v; }
};

template <>
struct Codec<bool> {
  static bool decode(const YAML::Node& n, const std::string& key, const std::string& where) {
    bool value = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value)) type_error(where, key, "true or false", n);
    return value;
  }
  static std::string yaml(bool v) { return v ? "true" : "false"; }
  static json to_json(bool v) { return v; }
};

template <>
struct Codec<std::string> {
  static std::string decode(const YAML::Node& n, const std::string& key, const std::string& where) {
    if (!n.IsScalar()) type_error(where, key, "a string", n);
    // Strings end up in run.json and error lines; JSON cannot hold bytes that are not UTF-8.
    if (!data::is_valid_utf8(n.Scalar())) throw Error(where + ": " + key + ": not valid UTF-8 text");
    return n.Scalar();
  }
  static std::string yaml(const std::string& v) { return yaml_string(v); }
  static json to_json(const std::string& v) { return v; }
};

template <>
struct Codec<std::vector<std::string>> {
  static std::vector<std::string> decode(const YAML::Node& n, const std::string& key,
                                         const std::string& where) {
    if (!n.IsSequence()) type_error(where, key, "a list of strings", n);
    std::vector<std::string> out;
    for (const YAML::Node& item : n) out.push_back(Codec<std::string>::decode(item, key, where));
    return out;
  }
  static std::string yaml(const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + yaml_string(v[i]);
    return out + "]";
  }
  static json to_json(const std::vector<std::string>& v) { return v; }
};

template <>
struct Codec<std::array<double, 2>> {
  static std::array<double, 2> decode(const YAML::Node& n, const std::string& key, const std::string& where) {
    if (!n.IsSequence() || n.size() != 2) type_error(where, key, "a list of two numbers", n);
    return {Codec<double>::decode(n[0], key, where), Codec<double>::decode(n[1], key, where)};
  }
  static std::string yaml(const std::array<double, 2>& v) {
    return "[" + format_double(v[0]) + ", " + format_double(v[1]) + "]";
  }
  static json to_json(const std::array<double, 2>& v) { return json::array({v[0], v[1]}); }
};

template <>
struct Codec<Device> {
  static Device decode(const YAML::Node& n, const std::string& key, const std::string& where) {
    if (!n.IsScalar()) type_error(where, key, "auto, cpu, cuda or cuda:N", n);
    try {
      return parse_device(n.Scalar());
    } catch (const Error&) {
      throw Error(where + ": " + key + ": invalid value '" + n.Scalar() +
                  "' (allowed: auto, cpu, cuda, cuda:N)");
    }
  }
  static std::string yaml(const Device& v) { return yaml_string(to_string(v)); }
  static json to_json(const Device& v) { return to_string(v); }
};

template <class E, size_t N>
struct EnumCodec {
  const std::pair<E, const char*> (&table)[N];

  E decode(const YAML::Node& n, const std::string& key, const std::string& where) const {
    std::string allowed;
    for (const auto& [e, name] : table) {
      if (n.IsScalar() && n.Scalar() == name) return e;
      allowed += (allowed.empty() ? "" : ", ") + std::string(name);
    }
    if (!n.IsScalar()) type_error(where, key, "one of " + allowed, n);
    throw Error(where + ": " + key + ": invalid value '" + n.Scalar() + "' (allowed: " + allowed + ")");
  }
};

#define LLMFT_ENUM_CODEC(E, TABLE)                                                                   \
  template <>                                                                                        \
  struct Codec<E> {                                                                                  \
    static E decode(const YAML::Node& n, const std::string& key, const std::string& where) {         \
      return EnumCodec<E, std::size(TABLE)>{TABLE}.decode(n, key, where);                            \
    }                                                                                                \
    static std::string yaml(E v) { return to_string(v); }                                            \
    static json to_json(E v) { return to_string(v); }                                                \
  };
LLMFT_ENUM_CODEC(DType, kDTypes)
LLMFT_ENUM_CODEC(Method, kMethods)
LLMFT_ENUM_CODEC(LoraInit, kLoraInits)
LLMFT_ENUM_CODEC(DataFormat, kDataFormats)
LLMFT_ENUM_CODEC(LrScheduler, kLrSchedulers)
LLMFT_ENUM_CODEC(Truncation, kTruncations)
LLMFT_ENUM_CODEC(OnError, kOnErrors)
#undef LLMFT_ENUM_CODEC

// data.custom_template: a mapping of the role formats. Unknown keys are refused (a misspelled `asistant`
// would otherwise leave the assistant format empty).
template <>
struct Codec<CustomTemplateSection> {
  static CustomTemplateSection decode(const YAML::Node& n, const std::string& key, const std::string& where) {
    if (!n.IsMap()) type_error(where, key, "a mapping with user, assistant (and system, bos, default_system)", n);
    CustomTemplateSection out;
    bool has_user = false, has_assistant = false;
    for (const auto& entry : n) {
      const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "";
      const std::string sub = key + "." + name;
      const YAML::Node& value = entry.second;
      if (name == "bos") {
        out.bos = Codec<bool>::decode(value, sub, where);
      } else if (name == "system") {
        out.system = Codec<std::string>::decode(value, sub, where);
      } else if (name == "user") {
        out.user = Codec<std::string>::decode(value, sub, where);
        has_user = true;
      } else if (name == "assistant") {
        out.assistant = Codec<std::string>::decode(value, sub, where);
        has_assistant = true;
      } else if (name == "default_system") {
        if (!value.IsNull()) out.default_system = Codec<std::string>::decode(value, sub, where);
      } else {
        throw Error(where + ": " + key + ": unknown key '" + name +
                    "' (allowed: bos, system, user, assistant, default_system)");
      }
    }
    if (!has_user) throw Error(where + ": " + key + ".user is required (the user turn's format with {content})");
    if (!has_assistant) {
      throw Error(where + ": " + key + ".assistant is required (the assistant turn's format with {content})");
    }
    return out;
  }
  static std::string yaml(const CustomTemplateSection& v) {
    std::string out = "{bos: " + Codec<bool>::yaml(v.bos);
    if (v.system) out += ", system: " + yaml_string(*v.system);
    out += ", user: " + yaml_string(v.user) + ", assistant: " + yaml_string(v.assistant);
    if (v.default_system) out += ", default_system: " + yaml_string(*v.default_system);
    return out + "}";
  }
  static json to_json(const CustomTemplateSection& v) {
    json out = {{"bos", v.bos}, {"user", v.user}, {"assistant", v.assistant}};
    out["system"] = v.system ? json(*v.system) : json(nullptr);
    out["default_system"] = v.default_system ? json(*v.default_system) : json(nullptr);
    return out;
  }
};

// Optional keys: null (`~`, `null`, or nothing) unsets them, which lets an override clear a file's value.
template <class T>
struct Codec<std::optional<T>> {
  static std::optional<T> decode(const YAML::Node& n, const std::string& key, const std::string& where) {
    if (n.IsNull()) return std::nullopt;
    return Codec<T>::decode(n, key, where);
  }
  static std::string yaml(const std::optional<T>& v) { return v ? Codec<T>::yaml(*v) : "null"; }
  static json to_json(const std::optional<T>& v) { return v ? Codec<T>::to_json(*v) : json(nullptr); }
};

template <class T>
constexpr bool kIsOptional = false;
template <class T>
constexpr bool kIsOptional<std::optional<T>> = true;

// `get` hands out the member for both reading and writing; the const_cast in the readers is sound because
// they only read through it.
template <class T>
Field make_field(std::string key, T& (*get)(Recipe&)) {
  Field f;
  f.key = key;
  f.set = [get, key](Recipe& r, const YAML::Node& n, const std::string& where) {
    get(r) = Codec<T>::decode(n, key, where);
  };
  f.to_yaml = [get](const Recipe& r) { return Codec<T>::yaml(get(const_cast<Recipe&>(r))); };
  f.to_json = [get](const Recipe& r) { return Codec<T>::to_json(get(const_cast<Recipe&>(r))); };
  if constexpr (kIsOptional<T>) {
    f.present = [get](const Recipe& r) { return get(const_cast<Recipe&>(r)).has_value(); };
    f.clear = [get](Recipe& r) { get(r).reset(); };
  }
  return f;
}

// target_modules is PEFT's union: the string "all-linear" or a list of module names.
Field target_modules_field() {
  Field f = make_field("lora.target_modules", +[](Recipe& r) -> auto& { return r.lora.target_modules; });
  using List = Codec<std::vector<std::string>>;
  f.set = [](Recipe& r, const YAML::Node& n, const std::string& where) {
    const std::string key = "lora.target_modules";
    if (n.IsScalar() && n.Scalar() == kAllLinear) {
      r.lora.target_modules = {kAllLinear};
    } else if (n.IsSequence()) {
      r.lora.target_modules = List::decode(n, key, where);
    } else {
      type_error(where, key, "a list of module names or 'all-linear'", n);
    }
  };
  auto is_all_linear = [](const Recipe& r) {
    return r.lora.target_modules.size() == 1 && r.lora.target_modules[0] == kAllLinear;
  };
  f.to_yaml = [is_all_linear](const Recipe& r) {
    return is_all_linear(r) ? std::string(kAllLinear) : List::yaml(r.lora.target_modules);
  };
  f.to_json = [is_all_linear](const Recipe& r) {
    return is_all_linear(r) ? json(kAllLinear) : json(r.lora.target_modules);
  };
  return f;
}

// The key is spelled from the member's name, so a YAML key can never drift from its field.
#define LLMFT_FIELD(section, name) \
  make_field(#section "." #name, +[](Recipe& r) -> auto& { return r.section.name; })

std::vector<Field> build_fields() {
  return {
      LLMFT_FIELD(model, path),
      LLMFT_FIELD(model, dtype),
      LLMFT_FIELD(model, device),
      make_field("method", +[](Recipe& r) -> auto& { return r.method; }),
      LLMFT_FIELD(lora, rank),
      LLMFT_FIELD(lora, alpha),
      LLMFT_FIELD(lora, dropout),
      target_modules_field(),
      LLMFT_FIELD(lora, use_rslora),
      LLMFT_FIELD(lora, init),
      LLMFT_FIELD(lora, modules_to_save),
      LLMFT_FIELD(data, path),
      LLMFT_FIELD(data, format),
      // `template` is a C++ keyword, hence the member's different name.
      make_field("data.template", +[](Recipe& r) -> auto& { return r.data.template_name; }),
      LLMFT_FIELD(data, custom_template),
      LLMFT_FIELD(data, max_seq_len),
      LLMFT_FIELD(data, truncation),
      LLMFT_FIELD(data, packing),
      LLMFT_FIELD(data, group_by_length),
      LLMFT_FIELD(data, pad_to_multiple_of),
      LLMFT_FIELD(data, train_on_prompt),
      LLMFT_FIELD(data, on_error),
      LLMFT_FIELD(data, cache),
      LLMFT_FIELD(data, eval_split),
      LLMFT_FIELD(data, eval_path),
      LLMFT_FIELD(train, batch_size),
      LLMFT_FIELD(train, grad_accum_steps),
      LLMFT_FIELD(train, max_steps),
      LLMFT_FIELD(train, epochs),
      LLMFT_FIELD(train, lr),
      LLMFT_FIELD(train, weight_decay),
      LLMFT_FIELD(train, betas),
      LLMFT_FIELD(train, eps),
      LLMFT_FIELD(train, lr_scheduler),
      LLMFT_FIELD(train, warmup_steps),
      LLMFT_FIELD(train, warmup_ratio),
      LLMFT_FIELD(train, max_grad_norm),
      LLMFT_FIELD(train, max_nonfinite_steps),
      LLMFT_FIELD(train, dist_timeout_seconds),
      LLMFT_FIELD(train, zero_stage),
      LLMFT_FIELD(train, activation_checkpointing),
      LLMFT_FIELD(train, fp32_master_weights),
      LLMFT_FIELD(train, seed),
      LLMFT_FIELD(output, dir),
      LLMFT_FIELD(output, save_every_steps),
      LLMFT_FIELD(output, keep_last_n),
      LLMFT_FIELD(output, log_every_steps),
      LLMFT_FIELD(eval, every_steps),
      LLMFT_FIELD(eval, max_batches),
  };
}
#undef LLMFT_FIELD

constexpr const char* kSections[] = {"model", "lora", "data", "train", "output", "eval"};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string_view leaf(std::string_view key) {
  size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

}  // namespace

const std::vector<Field>& fields() {
  static const std::vector<Field> kFields = build_fields();
  return kFields;
}

const Field* find_field(std::string_view key) {
  for (const Field& f : fields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

bool is_section(std::string_view name) {
  return std::find(std::begin(kSections), std::end(kSections), name) != std::end(kSections);
}

std::string nearest_key(std::string_view key) {
  // Scored on the whole key and, two worse, on the last part alone, so a key under the wrong section
  // (`train.rank`) or at the top level (`lr`) finds its home without outranking a near miss in its own
  // section.
  std::string best;
  size_t best_score = SIZE_MAX;
  auto consider = [&](std::string_view candidate) {
    size_t score = std::min(edit_distance(key, candidate), edit_distance(leaf(key), leaf(candidate)) + 2);
    if (score < best_score) {
      best_score = score;
      best = candidate;
    }
  };
  for (const Field& f : fields()) consider(f.key);
  if (key.find('.') == std::string_view::npos) {
    for (const char* section : kSections) consider(section);
  }
  return best;
}

std::string format_double(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  // Non-finite values in YAML's spelling, so the text reads back.
  if (text == "inf") return ".inf";
  if (text == "-inf") return "-.inf";
  if (text == "nan" || text == "-nan") return ".nan";
  return text;
}

}  // namespace detail

const std::vector<std::string>& recipe_keys() {
  static const std::vector<std::string> kKeys = [] {
    std::vector<std::string> keys;
    for (const detail::Field& f : detail::fields()) keys.push_back(f.key);
    return keys;
  }();
  return kKeys;
}

}  // namespace llmft::recipes
