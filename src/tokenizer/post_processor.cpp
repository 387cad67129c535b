#include "tokenizer/post_processor.h"

#include "tokenizer/json_fields.h"
#include "util/error.h"

namespace brigade {

namespace {

constexpr const char* kWhere = "post_processor TemplateProcessing";

// The ids of special token `name` in the template's special_tokens map.
std::vector<int32_t> special_ids(const nlohmann::json& spec, const std::string& name) {
  const auto specials = spec.find("special_tokens");
  require(specials != spec.end() && specials->is_object() && specials->contains(name),
          "tokenizer.json: {} uses special token '{}' that its special_tokens does not define",
          kWhere, name);
  std::vector<int32_t> ids;
  for (const auto& id : array_field((*specials)[name], "ids", kWhere)) {
    require(id.is_number_integer() && id.get<int64_t>() >= 0,
            "tokenizer.json: {} special token '{}' has a bad id", kWhere, name);
    ids.push_back(id.get<int32_t>());
  }
  return ids;
}

void add_template(const nlohmann::json& spec, SpecialTokenFrame& frame) {
  bool seen_text = false;
  for (const auto& item : array_field(spec, "single", kWhere)) {
    if (item.contains("Sequence")) {
      const std::string id = string_field(item["Sequence"], "id", kWhere);
      require(id == "A" && !seen_text,
              "tokenizer.json: {} single template must hold sequence A once, found '{}'", kWhere,
              id);
      seen_text = true;
    } else if (item.contains("SpecialToken")) {
      const auto ids = special_ids(spec, string_field(item["SpecialToken"], "id", kWhere));
      auto& side = seen_text ? frame.suffix : frame.prefix;
      side.insert(side.end(), ids.begin(), ids.end());
    } else {
      fail("tokenizer.json: {} item {} is neither Sequence nor SpecialToken", kWhere, item.dump());
    }
  }
  require(seen_text, "tokenizer.json: {} single template has no sequence A", kWhere);
}

void add(const nlohmann::json& spec, SpecialTokenFrame& frame) {
  const std::string type = string_field(spec, "type", "post_processor");
  if (type == "TemplateProcessing") {
    // Ids are appended to a frame that earlier steps of a Sequence built.
    SpecialTokenFrame inner;
    add_template(spec, inner);
    frame.prefix.insert(frame.prefix.begin(), inner.prefix.begin(), inner.prefix.end());
    frame.suffix.insert(frame.suffix.end(), inner.suffix.begin(), inner.suffix.end());
  } else if (type == "ByteLevel") {
    // trim_offsets only moves offsets; ids are unchanged.
  } else if (type == "Sequence") {
    for (const auto& step : array_field(spec, "processors", "post_processor Sequence"))
      add(step, frame);
  } else {
    fail(
        "tokenizer.json: post_processor type '{}' is not supported (supported: "
        "TemplateProcessing, ByteLevel, Sequence)",
        type);
  }
}

}  // namespace

SpecialTokenFrame parse_post_processor(const nlohmann::json& spec) {
  SpecialTokenFrame frame;
  if (!spec.is_null()) add(spec, frame);
  return frame;
}

}  // namespace brigade
