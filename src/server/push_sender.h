#pragma once
// Server-to-server push ("and then"): after a step, the server hands its
// output straight to the next server of the route. Sending happens on a
// worker thread so that it never delays the server's own answer to the
// client. The queue is bounded: when the next server is slow, pushes are
// dropped, and the client's own copy takes their place.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "brigade.grpc.pb.h"
#include "net/channels.h"
#include "net/identity.h"
#include "net/tensor_codec.h"
#include "server/push_sink.h"
#include "util/thread_annotations.h"

namespace brigade {

class PushSender final : public PushSink {
 public:
  // Pushes go over `transport` (TLS: only to the peer the client named).
  PushSender(const Identity& identity, PushCounters& counters, Transport transport);
  ~PushSender() override;

  // Signs and queues a push of `output` to `target` (a Hop the client named).
  void push(const rpc::Hop& target, int64_t step_id, int32_t position,
            const WireTensor& output) override;

 private:
  struct Job {
    std::string address;
    std::string peer;
    rpc::PushRequest request;
  };
  void run();

  const Identity& identity_;
  PushCounters& counters_;
  ChannelPool channels_;
  Mutex mutex_;
  CondVar wake_;
  std::deque<Job> queue_ BRIGADE_GUARDED_BY(mutex_);
  bool stopping_ BRIGADE_GUARDED_BY(mutex_) = false;
  std::thread worker_;
};

}  // namespace brigade
