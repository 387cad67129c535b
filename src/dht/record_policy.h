#pragma once
// What a DHT node agrees to store under Brigade's value type. Every node of
// the swarm applies these checks to every value another node sends it, so
// that a server's records can be written only by the server itself: readers
// verify records too, but a check only at the reader comes after a forged
// replacement has already erased the genuine record on the storing nodes.
//
//   store:   the value is a record that open_record accepts, signed by the
//            key it names, stored under the DHT key of the block (or the
//            directory) it says, and not expired;
//   replace: the new value passes the store checks, is signed by the same
//            key as the value it replaces, and is not older than it (an
//            old record of the same server replayed cannot roll it back).
//
// Independent of OpenDHT: the key is checked through `KeyMatches`, which
// tells whether a DHT key string hashes to the key the value arrived under.

#include <functional>
#include <string>

namespace brigade {

using KeyMatches = std::function<bool(const std::string& key)>;

// How far in the future a stored record may expire: owners refresh theirs
// every few seconds, so a record that claims to live for longer than this
// would only outlive its server.
inline constexpr double kMaxRecordLifetimeSeconds = 3600;

// Why a node refuses to store `bytes` as a new value ("" when it accepts).
std::string refuse_to_store(const std::string& bytes, const KeyMatches& key_matches, double now);

// Why a node refuses to replace the stored `old_bytes` by `new_bytes`, which
// came with the same value id ("" when it accepts).
std::string refuse_to_replace(const std::string& old_bytes, const std::string& new_bytes,
                              const KeyMatches& key_matches, double now);

}  // namespace brigade
