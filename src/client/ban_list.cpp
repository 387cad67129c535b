#include "client/ban_list.h"

#include <algorithm>

namespace brigade {

void BanList::ban(const std::string& peer, ErrorKind kind, Clock::time_point now) {
  Ban& b = bans_[peer];
  Clock::time_point until;
  switch (kind) {
    case ErrorKind::kMisbehaved:
      until = now + kMisbehavedBan;
      break;
    case ErrorKind::kRefused:
      until = now + base_;
      break;
    case ErrorKind::kUnavailable:
    case ErrorKind::kInvalid:
      until = now + base_ * (1 << std::min(b.failures, 10));
      ++b.failures;
      break;
  }
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
