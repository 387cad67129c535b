#pragma once
// One hop of a client's route, as the session chain (client/session_chain.h)
// sees it: a session with one server over one span of blocks, to which the
// chain sends steps and push routing and from which it takes verified
// results. RemoteSession (client/remote_session.h) is the gRPC one; tests
// give the chain fakes through a HopSessionFactory, so that recovery, replay
// and blame run in-process.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "brigade.pb.h"
#include "client/route.h"
#include "net/tensor_codec.h"
#include "util/error.h"

namespace brigade {

// A server failed the session: the stream broke, it stalled past the step
// timeout, or it answered something invalid. Carries the peer to ban and the
// kind of failure, which decides for how long (client/ban_list.h).
class HopFailure : public Error {
 public:
  HopFailure(std::string peer, ErrorKind kind, const std::string& reason)
      : Error(fmt::format("server {}: {}", peer.substr(0, 12), reason), kind),
        peer(std::move(peer)),
        reason(reason) {}
  // The server took the stream or the session and then said nothing within
  // its deadline: what a liar does to stall clients (client/ban_list.h).
  static HopFailure stall(std::string peer, const std::string& reason) {
    HopFailure failure(std::move(peer), ErrorKind::kUnavailable, reason);
    failure.stalled = true;
    return failure;
  }
  std::string peer;
  std::string reason;
  bool stalled = false;
};

// One answer of a server to one step.
struct ReceivedStep {
  rpc::StepResult meta;  // hidden cleared
  WireTensor output;
};

class HopSession {
 public:
  virtual ~HopSession() = default;

  // The server and the span this session runs.
  virtual const RouteHop& hop() const = 0;
  // The id the server knows this session by (upstream servers push to it).
  virtual const std::string& session_id() const = 0;

  // Push routing for the following steps: where this server sends its
  // outputs (next hop first; empty: no push) and who may push to it.
  virtual void send_route(const std::vector<rpc::Hop>& next, const std::string& upstream_peer) = 0;

  // Sends the client's copy of a step's input.
  virtual void send_step(int64_t step_id, int32_t position, const WireTensor& hidden) = 0;

  // Every answer received so far for `step_id` (a pushed one, then maybe a
  // corrected one), unverified: evidence for blame, not data to use.
  virtual std::vector<ReceivedStep> results_of(int64_t step_id) = 0;

  // Waits up to `timeout` for the result of `step_id` that was computed
  // from the client's copy with digest `input_digest` (a corrected one if the
  // first was not; "": any), checks it (output digest, signature) and
  // returns it. Throws HopFailure on a broken stream or an invalid answer,
  // HopFailure::stall on timeout.
  virtual ReceivedStep wait_result_for_input(int64_t step_id, const std::string& input_digest,
                                             std::chrono::milliseconds timeout) = 0;
  // The latest result of `step_id`, whatever input it was computed from.
  ReceivedStep wait_result(int64_t step_id, std::chrono::milliseconds timeout) {
    return wait_result_for_input(step_id, "", timeout);
  }
};

// Opens a session over `hop` (its server and span), waiting at most
// `timeout` for the server to take it. Throws HopFailure when the server
// refuses it or answers as another peer, HopFailure::stall when it does not
// answer.
using HopSessionFactory = std::function<std::unique_ptr<HopSession>(
    const RouteHop& hop, std::chrono::milliseconds timeout)>;

}  // namespace brigade
