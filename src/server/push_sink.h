#pragma once
// Where a hosted session's outputs go on to the next server of the route, and
// the counters `brigade status` shows for a server's pushes. PushSender is the
// real sink; fault injection wraps it (fault_injection.h) and the session
// fuzzer gives its own.

#include <atomic>
#include <cstdint>

#include "brigade.pb.h"
#include "net/tensor_codec.h"

namespace brigade {

struct PushCounters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> late{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> mismatched{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> send_failed{0};
  void fill(rpc::PushCounters* out) const;
};

class PushSink {
 public:
  virtual ~PushSink() = default;
  // Signs and sends `output` as step `step_id` at `position` of `target`'s
  // session. Never throws and never blocks on the network: failures are
  // counted, and the client's own copy takes the place of a lost push.
  virtual void push(const rpc::Hop& target, int64_t step_id, int32_t position,
                    const WireTensor& output) = 0;
};

}  // namespace brigade
