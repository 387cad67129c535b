#include "client/ban_list.h"

#include <algorithm>

namespace brigade {

void BanList::ban(const std::string& peer, ErrorKind kind, Clock::time_point now) {
  if (kind == ErrorKind::kRefused) {
    suspect(peer);
    return;
  }
  Ban& b = bans_[peer];
  // Misbehaved: for the run. Unavailable or invalid: escalating.
  const Clock::time_point until = kind == ErrorKind::kMisbehaved
                                      ? now + kMisbehavedBan
                                      : now + base_ * (1 << std::min(b.failures++, 10));
  // A ban never shortens one already in force (a liar that later times out
  // stays banned).
  b.until = std::max(b.until, until);
}

bool BanList::banned(const std::string& peer, Clock::time_point now) const {
  auto it = bans_.find(peer);
  return it != bans_.end() && it->second.until > now;
}

int BanList::suspicions(const std::string& peer) const {
  auto it = suspicions_.find(peer);
  return it == suspicions_.end() ? 0 : it->second;
}

std::set<std::string> BanList::excluded(Clock::time_point now, Suspects suspects) const {
  std::set<std::string> out;
  for (const auto& [peer, ban] : bans_)
    if (ban.until > now) out.insert(peer);
  if (suspects == kAvoidSuspects) {
    for (const auto& [peer, count] : suspicions_) out.insert(peer);
  }
  return out;
}

}  // namespace brigade
