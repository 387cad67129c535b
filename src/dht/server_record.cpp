#include "dht/server_record.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>

#include "model/manifest.h"
#include "util/error.h"

namespace brigade {

const char* state_name(ServerState state) {
  return state == ServerState::kOnline ? "online" : "offline";
}

std::optional<ServerState> parse_state(const std::string& name) {
  if (name == "online") return ServerState::kOnline;
  if (name == "offline") return ServerState::kOffline;
  return std::nullopt;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string block_key(const std::string& model, int block) {
  return "brigade/" + model + "/block/" + std::to_string(block);
}

nlohmann::json ServerRecord::to_json() const {
  nlohmann::json digests = nlohmann::json::object();
  for (const auto& [b, d] : block_digests) digests[std::to_string(b)] = d;
  return {{"peer", peer},
          {"model", model},
          {"model_name", model_name},
          {"num_blocks", num_blocks},
          {"block", block},
          {"start", start},
          {"end", end},
          {"address", address},
          {"state", state_name(state)},
          {"compute_ms_per_block", compute_ms_per_block},
          {"cache_tokens_left", cache_tokens_left},
          {"family", family},
          {"name", name},
          {"version", version},
          {"next_rtt_ms", next_rtt_ms},
          {"block_digests", digests},
          {"weight_format", weight_format},
          {"numerics", numerics},
          {"expires_at", expires_at}};
}

std::string seal_record(ServerRecord record, const Identity& identity) {
  record.peer = identity.peer_id();
  record.public_key = identity.public_key();
  const std::string body = record.to_json().dump();
  nlohmann::json envelope = {{"record", record.to_json()},
                             {"public_key", to_hex(identity.public_key())},
                             {"signature", to_hex(identity.sign(body))}};
  return envelope.dump();
}

namespace {

// An integer field of a record: a JSON integer within T's range. (get<int>()
// alone would also take 4.5 or 1e10 and convert it with undefined behavior,
// or wrap 2^32 + 4 to 4.)
template <typename T>
T integer_field(const nlohmann::json& body, const char* name) {
  const auto& value = body.at(name);
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      return static_cast<T>(value.get<uint64_t>());
    }
  } else if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    if (v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max()) {
      return static_cast<T>(v);
    }
  }
  throw Error(fmt::format("field '{}' is not an integer in range: {}", name, value.dump()));
}

}  // namespace

bool is_record_text(const std::string& text, size_t max_size) {
  return text.size() <= max_size && std::all_of(text.begin(), text.end(), [](char c) {
           return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
         });
}

namespace {

// "block_digests": {"<block>": "<hex>", ...} covering exactly [start, end).
std::map<int, std::string> block_digests_field(const nlohmann::json& body, int start, int end) {
  const auto& field = body.at("block_digests");
  require(field.is_object(), "field 'block_digests' is not an object");
  std::map<int, std::string> out;
  for (const auto& [key, value] : field.items()) {
    int block = -1;
    const auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), block);
    require(ec == std::errc() && ptr == key.data() + key.size() && std::to_string(block) == key,
            "block_digests key '{}' is not a block number", key);
    require(block >= start && block < end, "block_digests names block {} outside the span", block);
    require(value.is_string() && is_digest_hex(value.get<std::string>()),
            "block_digests of block {} is not 64 lowercase hex digits", block);
    out[block] = value.get<std::string>();
  }
  require(static_cast<int>(out.size()) == end - start,
          "block_digests has {} entries for a span of {} blocks", out.size(), end - start);
  return out;
}

}  // namespace

std::optional<ServerRecord> open_record(const std::string& bytes, const std::string& model,
                                        int block, std::string* why) {
  auto reject = [why](const std::string& reason) -> std::optional<ServerRecord> {
    if (why) *why = reason;
    return std::nullopt;
  };
  try {
    const auto envelope = nlohmann::json::parse(bytes);
    const auto& body = envelope.at("record");
    ServerRecord r;
    r.public_key = from_hex(envelope.at("public_key").get<std::string>());
    const std::string signature = from_hex(envelope.at("signature").get<std::string>());
    if (!verify_signature(r.public_key, body.dump(), signature)) return reject("bad signature");
    r.peer = body.at("peer").get<std::string>();
    if (r.peer != peer_id_of(r.public_key)) return reject("peer id does not match its key");
    r.model = body.at("model").get<std::string>();
    r.model_name = body.at("model_name").get<std::string>();
    r.num_blocks = integer_field<int>(body, "num_blocks");
    r.block = integer_field<int>(body, "block");
    r.start = integer_field<int>(body, "start");
    r.end = integer_field<int>(body, "end");
    r.address = body.at("address").get<std::string>();
    const std::string state = body.at("state").get<std::string>();
    const auto parsed_state = parse_state(state);
    if (!parsed_state) return reject("unknown state " + state);
    r.state = *parsed_state;
    r.compute_ms_per_block = body.at("compute_ms_per_block").get<double>();
    r.cache_tokens_left = integer_field<int64_t>(body, "cache_tokens_left");
    r.family = body.at("family").get<std::string>();
    r.name = body.at("name").get<std::string>();
    r.version = body.at("version").get<std::string>();
    r.next_rtt_ms = body.at("next_rtt_ms").get<std::map<std::string, double>>();
    r.weight_format = body.at("weight_format").get<std::string>();
    r.numerics = body.at("numerics").get<std::string>();
    r.expires_at = body.at("expires_at").get<double>();
    if (!model.empty() && r.model != model) return reject("record of another model");
    if (r.block != block) return reject("record stored under another block's key");
    if (r.num_blocks <= 0 || r.num_blocks > kMaxModelBlocks) {
      return reject(fmt::format("claims {} blocks (at most {})", r.num_blocks, kMaxModelBlocks));
    }
    if (r.start < 0 || r.start >= r.end || r.end > r.num_blocks) {
      return reject("span outside the model");
    }
    if (block != kDirectoryBlock && (r.block < r.start || r.block >= r.end)) {
      return reject("block outside the announced span");
    }
    r.block_digests = block_digests_field(body, r.start, r.end);
    if (r.weight_format.empty() || !is_record_text(r.weight_format, kMaxRecordIdBytes)) {
      return reject("weight format is empty, too long or has control characters");
    }
    if (!is_record_text(r.numerics, kMaxRecordIdBytes)) return reject("bad numerics id");
    if (!is_record_text(r.model_name, kMaxRecordNameBytes)) return reject("bad model name");
    if (!is_record_text(r.model, kMaxRecordIdBytes)) return reject("bad model id");
    for (const auto* text : {&r.address, &r.family, &r.name, &r.version}) {
      if (!is_record_text(*text, kMaxRecordNameBytes)) {
        return reject("address, family, name or version too long or has control characters");
      }
    }
    if (r.next_rtt_ms.size() > kMaxNextRttEntries) return reject("too many next_rtt_ms entries");
    if (!(r.compute_ms_per_block >= 0) || r.cache_tokens_left < 0) return reject("negative fields");
    return r;
  } catch (const std::exception& e) {
    return reject(std::string("malformed record: ") + e.what());
  }
}

}  // namespace brigade
