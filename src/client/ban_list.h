#pragma once
// The peers a client avoids, and for how long, by what they did:
//   misbehaved (bad signature, false data, answered as another peer):
//     for the rest of the client's run (kMisbehavedBan): proof of lying does
//     not wear off;
//   refused (cache full, shutting down): briefly, `base`, never escalating:
//     the server is honest and may have room again soon;
//   unavailable or invalid (unreachable, timed out, refused our request):
//     `base` doubled for each repeated failure of the same peer, up to 2^10.
// Not thread-safe: one client session chain owns it.

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "util/error.h"

namespace brigade {

class BanList {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::hours kMisbehavedBan{24};
  using Now = std::function<Clock::time_point()>;

  // `now` tells the time to the calls that do not name one: the steady
  // clock, or a test's own, so that bans expire without sleeping.
  explicit BanList(std::chrono::milliseconds base, Now now = &Clock::now)
      : base_(base), now_(std::move(now)) {}

  void ban(const std::string& peer, ErrorKind kind) { ban(peer, kind, now_()); }
  void ban(const std::string& peer, ErrorKind kind, Clock::time_point now);
  bool banned(const std::string& peer) const { return banned(peer, now_()); }
  bool banned(const std::string& peer, Clock::time_point now) const;
  // The peers banned at `now`.
  std::set<std::string> excluded() const { return excluded(now_()); }
  std::set<std::string> excluded(Clock::time_point now) const;

 private:
  struct Ban {
    Clock::time_point until;
    int failures = 0;  // escalating kinds only
  };
  std::chrono::milliseconds base_;
  Now now_;
  std::map<std::string, Ban> bans_;
};

}  // namespace brigade
