#pragma once
// A swarm of fake servers for in-process tests of the session chain
// (client/session_chain.h). Each fake hop session computes a deterministic
// stand-in for transformer blocks, with a per-session memory in place of the
// KV cache, takes and sends pushes the way a real server does (a client copy
// that differs from the pushed one rolls the step back and answers again,
// `corrected`), and fails where a test scripts it to. Its results are what a
// HopSession returns after its checks, so nothing is signed.
//
// Everything runs synchronously on the caller's thread: a push reaches the
// next server inside the sender's send_step, before the client's own copy,
// which is the order push mode usually sees.

#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/hop_session.h"
#include "dht/swarm_directory.h"
#include "net/identity.h"
#include "util/error.h"

namespace brigade::fake {

inline constexpr int kHidden = 4;

// Blocks [start, end) of the stand-in model. Block b adds b + 1 to every
// element of a token, plus the sum of the first elements of the tokens it saw
// before in the session, then remembers the token: order- and
// history-dependent like attention, so a session that missed part of its
// history computes something else, and a prefill equals its tokens run one
// at a time.
class Blocks {
 public:
  Blocks(int start, int end) : start_(start), memory_(static_cast<size_t>(end - start), 0.f) {}

  // In place over [1, tokens, kHidden].
  void run(std::vector<float>& values) {
    const size_t tokens = values.size() / kHidden;
    for (size_t b = 0; b < memory_.size(); ++b) {
      const auto bias = static_cast<float>(start_ + static_cast<int>(b) + 1);
      for (size_t t = 0; t < tokens; ++t) {
        float* x = &values[t * kHidden];
        const float seen = x[0];
        for (int h = 0; h < kHidden; ++h) x[h] += memory_[b] + bias;
        memory_[b] += seen;
      }
    }
  }

 private:
  int start_;
  std::vector<float> memory_;
};

// One fake server: what it announces, what the client measures to it, what
// it is scripted to do and what happened to it.
struct FakeServer {
  ServerRecord record;
  double rtt_ms = 1;
  // The first `missed_pings` pings go unanswered (+inf).
  int missed_pings = 0;
  int pings = 0;
  // The server appears in the swarm from this read of it on (1: the first).
  int joins_at_read = 1;
  // The next `refuse_opens` opens fail with kRefused (a full cache).
  int refuse_opens = 0;
  // Every session of the server fails step `fail_step` (no answer, then
  // HopFailure of `fail_kind` when the client waits for it) and stays failed.
  std::optional<int64_t> fail_step;
  ErrorKind fail_kind = ErrorKind::kUnavailable;
  bool fail_as_stall = false;  // the failure is a stall (HopFailure::stall)
  // Pushes altered data for this step (its answer to the client is right).
  std::optional<int64_t> false_push_step;

  int opens = 0;  // attempts, refused ones included
};

class FakeSwarm;

class FakeHopSession final : public HopSession {
 public:
  FakeHopSession(FakeSwarm& swarm, FakeServer& server, RouteHop hop, std::string id);
  ~FakeHopSession() override;

  const RouteHop& hop() const override { return hop_; }
  const std::string& session_id() const override { return id_; }

  void send_route(const std::vector<rpc::Hop>& next, const std::string& upstream_peer) override {
    next_session_ = next.empty() ? "" : next.front().session_id();
    upstream_peer_ = upstream_peer;
  }

  void send_step(int64_t step_id, int32_t position, const WireTensor& hidden) override {
    if (failed_) return;
    auto answers = results_.find(step_id);
    if (answers == results_.end()) {
      compute(step_id, position, hidden, false);
      return;
    }
    const std::string input_digest = digest(hidden.bytes);
    for (const auto& r : answers->second) {
      if (r.meta.input_digest() == input_digest) return;  // the push was right: confirmed
    }
    // The pushed copy was false: back to the state before it, and again
    // from the client's copy.
    std::tie(blocks_, length_) = before_.at(step_id);
    compute(step_id, position, hidden, false, upstream_peer_);
  }

  // A push from `sender`; ignored unless it is this session's upstream and
  // the step is new (as a real server drops pushes it did not ask for).
  void receive_push(int64_t step_id, int32_t position, const WireTensor& hidden,
                    const std::string& sender) {
    if (failed_ || sender != upstream_peer_ || results_.count(step_id)) return;
    compute(step_id, position, hidden, true);
  }

  std::vector<ReceivedStep> results_of(int64_t step_id) override {
    auto it = results_.find(step_id);
    return it == results_.end() ? std::vector<ReceivedStep>{} : it->second;
  }

  ReceivedStep wait_result_for_input(int64_t step_id, const std::string& input_digest,
                                     std::chrono::milliseconds) override {
    if (failed_) throw *failed_;
    std::optional<ReceivedStep> found;
    for (const auto& r : results_of(step_id)) {
      if (input_digest.empty() || r.meta.input_digest() == input_digest) found = r;
    }
    // Synchronous: an answer that is not here now never comes.
    if (!found) {
      throw HopFailure(hop_.peer, ErrorKind::kUnavailable,
                       fmt::format("no answer to step {}", step_id));
    }
    return *found;
  }

 private:
  void compute(int64_t step_id, int32_t position, const WireTensor& hidden, bool from_push,
               const std::string& bad_push_peer = "");

  FakeSwarm& swarm_;
  FakeServer& server_;
  RouteHop hop_;
  std::string id_;
  Blocks blocks_;
  int length_ = 0;
  std::map<int64_t, std::pair<Blocks, int>> before_;  // state before each step
  std::map<int64_t, std::vector<ReceivedStep>> results_;
  std::string next_session_, upstream_peer_;
  std::optional<HopFailure> failed_;
};

class FakeSwarm {
 public:
  explicit FakeSwarm(int num_blocks) : num_blocks_(num_blocks) {}

  // A server for blocks [start, end) at client round trip `rtt_ms`.
  FakeServer& add(const std::string& peer, int start, int end, double rtt_ms) {
    FakeServer& s = servers_.emplace_back();
    s.record.peer = peer;
    s.record.public_key = "key-" + peer;
    s.record.address = "fake:" + peer;
    s.record.model = "fake-model";
    s.record.num_blocks = num_blocks_;
    s.record.start = start;
    s.record.end = end;
    s.record.compute_ms_per_block = 1;
    s.record.cache_tokens_left = 1 << 20;
    s.rtt_ms = rtt_ms;
    return s;
  }

  // SwarmMap's Reader: the servers that have joined by this read.
  SwarmView read() {
    ++reads_;
    SwarmView view;
    for (const auto& s : servers_) {
      if (s.joins_at_read <= reads_) view.servers.push_back(s.record);
    }
    return view;
  }
  int reads() const { return reads_; }

  // SwarmMap's Pinger.
  double ping_ms(const std::string& address) {
    FakeServer& s = by_address(address);
    ++s.pings;
    if (s.missed_pings > 0) {
      --s.missed_pings;
      return std::numeric_limits<double>::infinity();
    }
    return s.rtt_ms;
  }

  HopSessionFactory factory() {
    return [this](const RouteHop& hop, std::chrono::milliseconds) -> std::unique_ptr<HopSession> {
      FakeServer& server = by_address(hop.address);
      ++server.opens;
      if (server.refuse_opens > 0) {
        --server.refuse_opens;
        throw HopFailure(hop.peer, ErrorKind::kRefused, "refused the session: cache full");
      }
      return std::make_unique<FakeHopSession>(*this, server, hop,
                                              "session-" + std::to_string(++opened_));
    };
  }

  const FakeServer& server(const std::string& peer) { return by_address("fake:" + peer); }

  // Sessions register while they live, so that pushes can find them.
  void enter(const std::string& id, FakeHopSession& session) { sessions_[id] = &session; }
  void leave(const std::string& id) { sessions_.erase(id); }
  void push(const std::string& to_session, int64_t step_id, int32_t position,
            const WireTensor& hidden, const std::string& sender) {
    auto it = sessions_.find(to_session);
    if (it != sessions_.end()) it->second->receive_push(step_id, position, hidden, sender);
  }

 private:
  FakeServer& by_address(const std::string& address) {
    for (auto& s : servers_) {
      if (s.record.address == address) return s;
    }
    fail("no fake server at {}", address);
  }

  int num_blocks_;
  std::deque<FakeServer> servers_;  // a deque: sessions keep references
  std::map<std::string, FakeHopSession*> sessions_;
  int reads_ = 0;
  int opened_ = 0;
};

inline FakeHopSession::FakeHopSession(FakeSwarm& swarm, FakeServer& server, RouteHop hop,
                                      std::string id)
    : swarm_(swarm),
      server_(server),
      hop_(std::move(hop)),
      id_(std::move(id)),
      blocks_(hop_.start, hop_.end) {
  swarm_.enter(id_, *this);
}

inline FakeHopSession::~FakeHopSession() { swarm_.leave(id_); }

inline void FakeHopSession::compute(int64_t step_id, int32_t position, const WireTensor& hidden,
                                    bool from_push, const std::string& bad_push_peer) {
  if (server_.fail_step == step_id) {
    failed_ =
        server_.fail_as_stall
            ? HopFailure::stall(hop_.peer, fmt::format("no answer to step {}", step_id))
            : HopFailure(hop_.peer, server_.fail_kind, fmt::format("failed step {}", step_id));
    return;
  }
  if (position != length_) {
    failed_.emplace(
        hop_.peer, ErrorKind::kInvalid,
        fmt::format("step {} at position {}, session length {}", step_id, position, length_));
    return;
  }
  before_.insert_or_assign(step_id, std::pair{blocks_, length_});
  std::vector<float> values = hidden.values();
  blocks_.run(values);
  length_ += static_cast<int>(hidden.shape[1]);
  ReceivedStep r;
  r.output = make_wire_tensor(values, hidden.shape, hidden.dtype);
  r.meta.set_step_id(step_id);
  r.meta.set_length(length_);
  r.meta.set_compute_ms(hop_.end - hop_.start);
  r.meta.set_input_digest(digest(hidden.bytes));
  r.meta.set_output_digest(digest(r.output.bytes));
  r.meta.set_from_push(from_push);
  r.meta.set_corrected(!bad_push_peer.empty());
  r.meta.set_bad_push_peer(bad_push_peer);
  results_[step_id].push_back(r);
  if (next_session_.empty()) return;
  WireTensor pushed = r.output;
  if (server_.false_push_step == step_id) {
    values[0] += 1;
    pushed = make_wire_tensor(values, hidden.shape, hidden.dtype);
  }
  swarm_.push(next_session_, step_id, position, pushed, hop_.peer);
}

}  // namespace brigade::fake
