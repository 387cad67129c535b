#include "tokenizer/pre_tokenizer.h"

#include "tokenizer/json_fields.h"
#include "util/error.h"

namespace brigade {

namespace {

// GPT-2's pattern, which ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

void split_isolated(const Regex& regex, std::string_view piece, std::vector<std::string>& out) {
  size_t last = 0;
  for (const auto& match : regex.find_all(piece)) {
    if (match.begin > last) out.emplace_back(piece.substr(last, match.begin - last));
    out.emplace_back(piece.substr(match.begin, match.end - match.begin));
    last = match.end;
  }
  if (last < piece.size()) out.emplace_back(piece.substr(last));
}

}  // namespace

PreTokenizer::PreTokenizer(const nlohmann::json& spec) {
  if (!spec.is_null()) add(spec);
}

PreTokenizer::~PreTokenizer() = default;

void PreTokenizer::add(const nlohmann::json& spec) {
  const std::string type = string_field(spec, "type", "pre_tokenizer");
  require(!byte_level_,
          "tokenizer.json: pre_tokenizer '{}' after ByteLevel is not supported (ByteLevel must "
          "come last)",
          type);
  if (type == "Sequence") {
    for (const auto& step : array_field(spec, "pretokenizers", "pre_tokenizer Sequence")) add(step);
  } else if (type == "Split") {
    const std::string where = "pre_tokenizer Split";
    const auto pattern = pattern_field(spec, where);
    const std::string behavior = string_field(spec, "behavior", where);
    require(behavior == "Isolated",
            "tokenizer.json: pre_tokenizer Split behavior '{}' is not supported (supported: "
            "Isolated)",
            behavior);
    require(!bool_field(spec, "invert", false, where),
            "tokenizer.json: pre_tokenizer Split with invert=true is not supported");
    steps_.push_back({false, std::make_unique<Regex>(pattern.text, !pattern.is_regex,
                                                     "tokenizer.json: " + where)});
  } else if (type == "ByteLevel") {
    const std::string where = "pre_tokenizer ByteLevel";
    Step step;
    step.prefix_space = bool_field(spec, "add_prefix_space", true, where);
    if (bool_field(spec, "use_regex", true, where))
      step.regex = std::make_unique<Regex>(kGpt2Pattern, false, "tokenizer.json: " + where);
    if (step.prefix_space || step.regex) steps_.push_back(std::move(step));
    byte_level_ = true;
  } else {
    fail(
        "tokenizer.json: pre_tokenizer type '{}' is not supported (supported: Split, ByteLevel, "
        "Sequence)",
        type);
  }
}

void PreTokenizer::split(std::string_view text, std::vector<std::string>& words) const {
  if (text.empty()) return;
  std::vector<std::string> pieces{std::string(text)};
  std::vector<std::string> next;
  for (const auto& step : steps_) {
    next.clear();
    for (auto& piece : pieces) {
      if (step.prefix_space && piece.front() != ' ') piece.insert(piece.begin(), ' ');
      if (step.regex) {
        split_isolated(*step.regex, piece, next);
      } else {
        next.push_back(std::move(piece));
      }
    }
    pieces.swap(next);
  }
  for (auto& piece : pieces) words.push_back(std::move(piece));
}

}  // namespace brigade
