#include "client/remote_session.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "net/identity.h"
#include "net/status.h"
#include "net/step_proof.h"

namespace brigade {

std::string random_session_id() {
  if (sodium_init() < 0) fail("libsodium failed to initialise");
  std::string bytes(16, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  return to_hex(bytes);
}

RemoteSession::RemoteSession(const RouteHop& hop, std::shared_ptr<grpc::Channel> channel,
                             const SessionParams& params, std::chrono::milliseconds open_timeout,
                             Watchdog& watchdog)
    : hop_(hop), params_(params), session_id_(random_session_id()) {
  stub_ = rpc::Brigade::NewStub(channel);
  stream_ = stub_->Inference(&context_);
  rpc::InferenceRequest request;
  auto* open = request.mutable_open();
  open->set_session_id(session_id_);
  open->set_start(hop.start);
  open->set_end(hop.end);
  open->set_max_length(params.max_length);
  open->set_batch(params.batch);
  open->set_dtype(params.dtype);
  rpc::InferenceResponse response;
  bool opened;
  const auto began = std::chrono::steady_clock::now();
  {
    // A server that accepts the stream and never answers must not hold the
    // client: the open has a deadline of its own.
    const Watchdog::Timer deadline = watchdog.arm(open_timeout, [this] { context_.TryCancel(); });
    opened = stream_->Write(request) && stream_->Read(&response) && response.has_opened();
  }
  if (!opened) {
    const grpc::Status status = stream_->Finish();
    if (status.error_code() == grpc::StatusCode::CANCELLED &&
        std::chrono::steady_clock::now() - began >= open_timeout) {
      throw HopFailure::stall(
          hop.peer, fmt::format("no answer to the session open at {} within {} ms", hop.address,
                                open_timeout.count()));
    }
    throw HopFailure(hop.peer, status.ok() ? ErrorKind::kUnavailable : kind_of(status),
                     fmt::format("refused the session at {}: {}", hop.address,
                                 status.ok() ? "no answer" : status.error_message()));
  }
  if (response.opened().peer() != hop.peer) {
    context_.TryCancel();
    throw HopFailure(
        hop.peer, ErrorKind::kMisbehaved,
        fmt::format("answered as peer {} at {}", response.opened().peer(), hop.address));
  }
  reader_ = std::thread([this] { read_loop(); });
}

RemoteSession::~RemoteSession() { close(); }

void RemoteSession::close() {
  {
    MutexLock lock(write_mutex_);
    if (!writes_done_) {
      writes_done_ = true;
      stream_->WritesDone();
    }
  }
  // The server ends the stream once it sees WritesDone; cancel in case it
  // stalls so that the reader never blocks the client's exit.
  {
    MutexLock lock(mutex_);
    if (!arrived_.wait_for(mutex_, std::chrono::milliseconds(500),
                           [this]() BRIGADE_REQUIRES(mutex_) { return ended_; })) {
      context_.TryCancel();
    }
  }
  if (reader_.joinable()) reader_.join();
}

void RemoteSession::read_loop() {
  rpc::InferenceResponse response;
  std::optional<ChunkAssembler> assembler;
  ReceivedStep pending;
  std::string failure;
  while (stream_->Read(&response)) {
    if (!response.has_result()) {
      failure = "sent a message that is not a step result";
      break;
    }
    auto* result = response.mutable_result();
    try {
      if (result->hidden().chunk_index() == 0) {
        pending.meta = *result;
        pending.meta.clear_hidden();
        assembler.emplace(params_.dtype, static_cast<size_t>(params_.batch) * params_.max_length *
                                             params_.hidden_size * wire_dtype_size(params_.dtype));
      }
      require(assembler.has_value() && result->step_id() == pending.meta.step_id(),
              "sent a chunk of step {} outside its step", result->step_id());
      if (!assembler->add(result->hidden())) continue;
      pending.output = assembler->take();
      assembler.reset();
    } catch (const Error& e) {
      failure = e.what();
      break;
    }
    MutexLock lock(mutex_);
    results_[pending.meta.step_id()].push_back(std::move(pending));
    pending = ReceivedStep{};
    arrived_.notify_all();
  }
  if (!failure.empty()) context_.TryCancel();
  const grpc::Status status = stream_->Finish();
  MutexLock lock(mutex_);
  ended_ = true;
  end_kind_ = !failure.empty() ? ErrorKind::kMisbehaved
              : status.ok()    ? ErrorKind::kUnavailable
                               : kind_of(status);
  end_reason_ = !failure.empty() ? failure
                : status.ok()
                    ? "closed the session"
                    : fmt::format("stream failed ({}): {}", static_cast<int>(status.error_code()),
                                  status.error_message());
  arrived_.notify_all();
}

void RemoteSession::send_route(const std::vector<rpc::Hop>& next,
                               const std::string& upstream_peer) {
  rpc::InferenceRequest request;
  auto* route = request.mutable_route();
  for (const auto& hop : next) *route->add_next() = hop;
  route->set_upstream_peer(upstream_peer);
  MutexLock lock(write_mutex_);
  stream_->Write(request);  // a broken stream shows in the reader
}

std::vector<ReceivedStep> RemoteSession::results_of(int64_t step_id) {
  MutexLock lock(mutex_);
  auto it = results_.find(step_id);
  return it == results_.end() ? std::vector<ReceivedStep>{} : it->second;
}

void RemoteSession::send_step(int64_t step_id, int32_t position, const WireTensor& hidden) {
  const auto chunks = split_chunks(hidden);
  MutexLock lock(write_mutex_);
  for (size_t i = 0; i < chunks.size(); ++i) {
    rpc::InferenceRequest request;
    auto* step = request.mutable_step();
    step->set_step_id(step_id);
    step->set_position(position);
    *step->mutable_hidden() = chunks[i];
    // A failed write means the stream is broken; the reader reports why.
    if (!stream_->Write(request)) return;
  }
}

ReceivedStep RemoteSession::wait_result_for_input(int64_t step_id, const std::string& input_digest,
                                                  std::chrono::milliseconds timeout) {
  const auto matches = [&](const ReceivedStep& r) {
    return input_digest.empty() || r.meta.input_digest() == input_digest;
  };
  ReceivedStep found;
  {
    MutexLock lock(mutex_);
    const auto ready = [&]() BRIGADE_REQUIRES(mutex_) {
      auto it = results_.find(step_id);
      if (it != results_.end()) {
        for (const auto& r : it->second) {
          if (matches(r)) return true;
        }
      }
      return ended_;
    };
    if (!arrived_.wait_for(mutex_, timeout, ready)) {
      context_.TryCancel();
      throw HopFailure::stall(
          hop_.peer, fmt::format("no answer to step {} within {} ms", step_id, timeout.count()));
    }
    auto it = results_.find(step_id);
    bool have = false;
    if (it != results_.end()) {
      for (auto& r : it->second) {
        if (matches(r)) {
          found = r;
          have = true;
        }
      }
    }
    if (!have) throw HopFailure(hop_.peer, end_kind_, end_reason_);
    // Older steps are settled; keep only what bad-push checks may still read.
    results_.erase(results_.begin(), results_.lower_bound(step_id - 1));
  }
  const std::string output_digest = digest(found.output.bytes);
  if (output_digest != found.meta.output_digest()) {
    throw HopFailure(hop_.peer, ErrorKind::kMisbehaved,
                     fmt::format("step {}: output digest does not match its data", step_id));
  }
  if (!verify_signature(
          hop_.public_key,
          step_proof_message(session_id_, found.meta, found.output.shape, found.output.dtype),
          found.meta.signature())) {
    throw HopFailure(hop_.peer, ErrorKind::kMisbehaved,
                     fmt::format("step {}: bad signature", step_id));
  }
  return found;
}

}  // namespace brigade
