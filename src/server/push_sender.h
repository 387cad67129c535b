#pragma once
// Server-to-server push ("and then"): after a step, the server hands its
// output straight to the next server of the route. Sending happens on worker
// threads so that it never delays the server's own answer to the client.
//
// Each destination (next hop: address and peer) has its own bounded queue and
// its own worker, so a slow or dead next hop delays only the pushes routed
// through it: its worker waits out a deadline per push while the others go
// on. When a queue is full, pushes to that destination are dropped, and the
// client's own copy takes their place. A worker with nothing to send for a
// while ends; destinations are capped (routes come from clients), and a push
// to one more is dropped too.

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

  // Limits, public for tests.
  static constexpr size_t kMaxDestinations = 64;
  static constexpr std::chrono::seconds kPushDeadline{5};
  static constexpr std::chrono::seconds kIdleWorker{30};

 private:
  using Key = std::pair<std::string, std::string>;  // (address, peer)
  struct Destination {
    std::deque<rpc::PushRequest> queue;
    bool serving = false;  // a worker runs for it
    std::thread worker;    // the last one started (joinable until joined)
  };
  // The destination `key`, made when new; nullptr when kMaxDestinations are
  // busy. Idle destinations may go to make room; their ended workers are
  // moved to `finished` for the caller to join.
  Destination* destination_for(const Key& key, std::vector<std::thread>& finished)
      BRIGADE_REQUIRES(mutex_);
  // One destination's worker: sends its queue in order until it has been
  // empty for kIdleWorker or the sender stops.
  void serve(const Key& key, Destination& destination);
  void send(const Key& key, const rpc::PushRequest& request);

  const Identity& identity_;
  PushCounters& counters_;
  ChannelPool channels_;
  Mutex mutex_;
  CondVar wake_;
  // A destination is erased only when it has no worker (one holds a
  // reference to its own) and nothing queued.
  std::map<Key, std::unique_ptr<Destination>> destinations_ BRIGADE_GUARDED_BY(mutex_);
  bool stopping_ BRIGADE_GUARDED_BY(mutex_) = false;
};

}  // namespace brigade
