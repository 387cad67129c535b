#include "server/early_pushes.h"

#include "net/limits.h"

namespace brigade {

void EarlyPushes::expire() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = pushes_.begin(); it != pushes_.end();) {
    if (now - it->second.arrived > limits::kEarlyPushExpiry) {
      bytes_ -= it->second.input.hidden.bytes.size();
      it = pushes_.erase(it);
    } else {
      ++it;
    }
  }
}

bool EarlyPushes::add(const std::string& session_id, EarlyPush push) {
  MutexLock lock(mutex_);
  expire();
  const size_t size = push.input.hidden.bytes.size();
  if (pushes_.size() >= limits::kMaxEarlyPushes || bytes_ + size > limits::kMaxEarlyPushBytes)
    return false;
  bytes_ += size;
  pushes_.emplace(session_id, std::move(push));
  return true;
}

std::vector<EarlyPush> EarlyPushes::take(const std::string& session_id) {
  MutexLock lock(mutex_);
  expire();
  std::vector<EarlyPush> out;
  auto [begin, end] = pushes_.equal_range(session_id);
  for (auto it = begin; it != end; ++it) {
    bytes_ -= it->second.input.hidden.bytes.size();
    out.push_back(std::move(it->second));
  }
  pushes_.erase(begin, end);
  return out;
}

}  // namespace brigade
