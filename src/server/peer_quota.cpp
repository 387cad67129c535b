#include "server/peer_quota.h"

#include <utility>

#include "util/error.h"

namespace brigade {

PeerQuota::Claim::Claim(PeerQuota* quota, std::string peer, Held held)
    : quota_(quota), peer_(std::move(peer)), held_(held) {}

PeerQuota::Claim::Claim(Claim&& other) noexcept
    : quota_(std::exchange(other.quota_, nullptr)),
      peer_(std::move(other.peer_)),
      held_(other.held_) {}

PeerQuota::Claim& PeerQuota::Claim::operator=(Claim&& other) noexcept {
  if (this != &other) {
    give_back();
    quota_ = std::exchange(other.quota_, nullptr);
    peer_ = std::move(other.peer_);
    held_ = other.held_;
  }
  return *this;
}

PeerQuota::Claim::~Claim() { give_back(); }

void PeerQuota::Claim::give_back() {
  if (quota_ != nullptr) quota_->give_back(peer_, held_);
  quota_ = nullptr;
}

PeerQuota::Claim PeerQuota::stream(const std::string& peer) {
  MutexLock lock(mutex_);
  if (streams_ >= limits_.max_streams) {
    fail(ErrorKind::kRefused, "too many streams: the server holds {}, its most", streams_);
  }
  const Held now = held_by(peer);
  if (now.streams >= limits_.max_streams_per_peer) {
    fail(ErrorKind::kRefused, "too many streams: {} holds {}, the most one client may hold", peer,
         now.streams);
  }
  ++streams_;
  ++peers_[peer].streams;
  return Claim(this, peer, Held{1, 0, 0});
}

PeerQuota::Claim PeerQuota::session(const std::string& peer, int64_t cache_tokens) {
  MutexLock lock(mutex_);
  const Held now = held_by(peer);
  if (now.sessions >= limits_.max_sessions_per_peer) {
    fail(ErrorKind::kRefused, "too many sessions: {} holds {}, the most one client may hold", peer,
         now.sessions);
  }
  if (cache_tokens > limits_.max_cache_tokens_per_peer - now.cache_tokens) {
    fail(ErrorKind::kRefused,
         "cache full for this client: a session needs {} tokens, {} holds {} of the {} one client "
         "may reserve",
         cache_tokens, peer, now.cache_tokens, limits_.max_cache_tokens_per_peer);
  }
  Held& held = peers_[peer];
  ++held.sessions;
  held.cache_tokens += cache_tokens;
  return Claim(this, peer, Held{0, 1, cache_tokens});
}

PeerQuota::Held PeerQuota::held_by(const std::string& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? Held{} : it->second;
}

int PeerQuota::streams() const {
  MutexLock lock(mutex_);
  return streams_;
}

void PeerQuota::give_back(const std::string& peer, const Held& held) {
  MutexLock lock(mutex_);
  streams_ -= held.streams;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  it->second.streams -= held.streams;
  it->second.sessions -= held.sessions;
  it->second.cache_tokens -= held.cache_tokens;
  if (it->second.streams == 0 && it->second.sessions == 0) peers_.erase(it);
}

}  // namespace brigade
