#pragma once
// The peers a client avoids, and for how long, by what they did:
//   misbehaved (bad signature, false data, answered as another peer):
//     for the rest of the client's run (kMisbehavedBan): proof of lying does
//     not wear off;
//   unavailable or invalid (unreachable, broken stream, refused our request):
//     `base` doubled for each repeated failure of the same peer, up to 2^10;
//   refused (cache full, a cap): suspected, as by suspect().
// A peer is suspected when it stalled after taking a session (no answer
// within its deadline; the chain calls suspect()) or refused a session or a
// step, although routes only go to servers that announce room. A liar does
// exactly this to win routes and waste the client's time; so does an honest
// server on an overloaded machine, now and then. Suspects are avoided for the
// rest of the run, unless no route is left without them
// (excluded(kForgiveSuspects)), and each suspicion doubles the deadline the
// peer gets next time (client/deadlines.h).
// The list lives as long as the client's run (SwarmBlockRunner), across its
// sessions. Not thread-safe: one client session chain uses it at a time.

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
  void suspect(const std::string& peer) { ++suspicions_[peer]; }
  // How many times `peer` was suspected in this run.
  int suspicions(const std::string& peer) const;

  bool banned(const std::string& peer) const { return banned(peer, now_()); }
  bool banned(const std::string& peer, Clock::time_point now) const;

  enum Suspects { kAvoidSuspects, kForgiveSuspects };
  // The peers banned at `now`, and the suspects unless forgiven.
  std::set<std::string> excluded(Suspects suspects = kAvoidSuspects) const {
    return excluded(now_(), suspects);
  }
  std::set<std::string> excluded(Clock::time_point now, Suspects suspects = kAvoidSuspects) const;

 private:
  struct Ban {
    Clock::time_point until;
    int failures = 0;  // unavailable or invalid, for the escalation
  };
  std::chrono::milliseconds base_;
  Now now_;
  std::map<std::string, Ban> bans_;
  std::map<std::string, int> suspicions_;
};

}  // namespace brigade
