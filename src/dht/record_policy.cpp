#include "dht/record_policy.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "dht/server_record.h"

namespace brigade {
namespace {

struct Stored {
  std::optional<ServerRecord> record;
  std::string why;  // when record is empty
};

// Opens `bytes` under the model and block the record itself names, then
// checks that this is the key it arrived under: the record says where it
// belongs and the signature makes it say so truthfully.
Stored open_stored(const std::string& bytes, const KeyMatches& key_matches) {
  std::string model;
  int block = 0;
  try {
    const auto body = nlohmann::json::parse(bytes).at("record");
    model = body.at("model").get<std::string>();
    // Read only as the integer it must be (a converted 1e300 would be
    // undefined); open_record checks its range.
    const auto& field = body.at("block");
    if (!field.is_number_integer() || field.get<int64_t>() < kDirectoryBlock ||
        field.get<int64_t>() > kMaxModelBlocks) {
      return {std::nullopt, "not a Brigade record: bad block " + field.dump()};
    }
    block = static_cast<int>(field.get<int64_t>());
  } catch (const std::exception& e) {
    return {std::nullopt, std::string("not a Brigade record: ") + e.what()};
  }
  Stored out;
  out.record = open_record(bytes, block == kDirectoryBlock ? "" : model, block, &out.why);
  if (!out.record) return out;
  const std::string key = block == kDirectoryBlock ? kDirectoryKey : block_key(model, block);
  if (!key_matches(key)) {
    return {std::nullopt, fmt::format("record of '{}' sent under another key", key)};
  }
  return out;
}

// A new value must be current: neither expired nor claiming to outlive its
// server by far.
std::string refuse_lifetime(const ServerRecord& r, double now) {
  if (r.expires_at < now) return "record expired";
  if (r.expires_at > now + kMaxRecordLifetimeSeconds) {
    return fmt::format("record claims to live {:.0f} s", r.expires_at - now);
  }
  return "";
}

}  // namespace

std::string refuse_to_store(const std::string& bytes, const KeyMatches& key_matches, double now) {
  const Stored stored = open_stored(bytes, key_matches);
  return stored.record ? refuse_lifetime(*stored.record, now) : stored.why;
}

std::string refuse_to_replace(const std::string& old_bytes, const std::string& new_bytes,
                              const KeyMatches& key_matches, double now) {
  const Stored fresh = open_stored(new_bytes, key_matches);
  if (!fresh.record) return fresh.why;
  if (auto why = refuse_lifetime(*fresh.record, now); !why.empty()) return why;
  // The stored value passed the store checks when it came (or was this
  // node's own); that it may have expired since does not make its value id
  // anyone's. One that does not open is nobody's to replace.
  const Stored old = open_stored(old_bytes, key_matches);
  if (!old.record) return "the stored value is not a record: " + old.why;
  if (old.record->public_key != fresh.record->public_key) {
    return fmt::format("record of {} would replace one of {}", fresh.record->peer.substr(0, 12),
                       old.record->peer.substr(0, 12));
  }
  if (fresh.record->expires_at < old.record->expires_at) {
    return "record older than the one it would replace";
  }
  return "";
}

}  // namespace brigade
