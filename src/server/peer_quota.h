#pragma once
// What one client may hold on this server at once, and what all clients may
// hold together (DESIGN.md, "Fair use"). A client is its connection: the
// transport's name for the other end (gRPC's peer string, such as
// "ipv4:10.0.0.5:53122"), passed in as plain text. A process that opens many
// connections counts as many clients, but each costs it a connection, and the
// totals (streams here, the cache budget, the pending-bytes budget) bound
// them all together.
//
// Over a cap, a claim is refused at once with an Error of kind kRefused that
// names the cap: the client may try again later or go to another server.

#include <cstdint>
#include <map>
#include <string>

#include "util/thread_annotations.h"

namespace brigade {

// The caps; ServerOptions documents them and their defaults.
struct PeerLimits {
  int max_streams = 0;                    // Inference and Forward streams, all peers together
  int max_streams_per_peer = 0;           // streams of one peer
  int max_sessions_per_peer = 0;          // open (or opening) sessions of one peer
  int64_t max_cache_tokens_per_peer = 0;  // KV-cache tokens one peer's sessions reserve
};

class PeerQuota {
 public:
  explicit PeerQuota(PeerLimits limits) : limits_(limits) {}

 private:
  struct Held {
    int streams = 0;
    int sessions = 0;
    int64_t cache_tokens = 0;
  };

 public:
  // What one claim holds for one peer; given back on destruction.
  class Claim {
   public:
    Claim() = default;
    Claim(Claim&& other) noexcept;
    Claim& operator=(Claim&& other) noexcept;
    ~Claim();

   private:
    friend class PeerQuota;
    Claim(PeerQuota* quota, std::string peer, Held held);
    void give_back();
    PeerQuota* quota_ = nullptr;
    std::string peer_;
    Held held_;
  };

  // One stream of `peer`. Throws Error (kRefused) when the server holds
  // max_streams streams or the peer max_streams_per_peer.
  Claim stream(const std::string& peer);
  // One session of `peer` reserving `cache_tokens`. Throws Error (kRefused)
  // past max_sessions_per_peer or max_cache_tokens_per_peer.
  Claim session(const std::string& peer, int64_t cache_tokens);

  int streams() const;
  const PeerLimits& limits() const { return limits_; }

 private:
  Held held_by(const std::string& peer) const BRIGADE_REQUIRES(mutex_);
  void give_back(const std::string& peer, const Held& held);

  const PeerLimits limits_;
  mutable Mutex mutex_;
  int streams_ BRIGADE_GUARDED_BY(mutex_) = 0;
  // Only peers that hold something.
  std::map<std::string, Held> peers_ BRIGADE_GUARDED_BY(mutex_);
};

}  // namespace brigade
