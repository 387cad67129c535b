#pragma once
// Pushes that arrive before their session is ready to take them (before the
// client's open and route update reached this server). They wait here for a
// short time; the buffer is bounded in count and bytes per server, so a
// flood of pushes for unknown sessions costs a bounded amount of memory and
// is otherwise dropped.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "server/step_assembler.h"
#include "util/thread_annotations.h"

namespace brigade {

struct EarlyPush {
  StepInput input;
  std::string sender_peer;
  std::chrono::steady_clock::time_point arrived;
};

class EarlyPushes {
 public:
  // False (and nothing kept) when the buffer is full.
  bool add(const std::string& session_id, EarlyPush push);
  // Removes and returns the unexpired pushes of `session_id`, oldest first.
  std::vector<EarlyPush> take(const std::string& session_id);

 private:
  void expire() BRIGADE_REQUIRES(mutex_);

  Mutex mutex_;
  std::multimap<std::string, EarlyPush> pushes_ BRIGADE_GUARDED_BY(mutex_);
  size_t bytes_ BRIGADE_GUARDED_BY(mutex_) = 0;
};

}  // namespace brigade
