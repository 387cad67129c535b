#pragma once
// The `post_processor` of tokenizer.json, reduced to what it does to one
// text: ids put before and after it (Llama 2's TemplateProcessing adds <s>
// before). Supported: TemplateProcessing (its `single` template; `pair` is
// for encoding two texts together, which Brigade never does), ByteLevel
// (changes offsets only, so no ids) and a Sequence of these. Anything else is
// refused by name.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace brigade {

struct SpecialTokenFrame {
  std::vector<int32_t> prefix;  // ids before the text's own
  std::vector<int32_t> suffix;  // ids after them
};

// Throws Error naming the type or template item it does not support.
SpecialTokenFrame parse_post_processor(const nlohmann::json& spec);

}  // namespace brigade
