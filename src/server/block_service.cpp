#include "server/block_service.h"

#include <spdlog/spdlog.h>

#include "net/limits.h"
#include "net/push.h"
#include "net/status.h"
#include "util/error.h"
#include "util/version.h"

namespace brigade {
namespace {

grpc::Status invalid(const std::string& message) { return to_status(Error(message)); }

// A step result whose output is larger than one message goes out in several,
// the first carrying every field and each later one its step id and chunk.
bool write_result(grpc::ServerReaderWriter<rpc::InferenceResponse, rpc::InferenceRequest>* stream,
                  const StepOutcome& outcome) {
  const auto chunks = split_chunks(outcome.output);
  for (size_t i = 0; i < chunks.size(); ++i) {
    rpc::InferenceResponse response;
    auto* result = response.mutable_result();
    if (i == 0) {
      *result = outcome.result;
    } else {
      result->set_step_id(outcome.result.step_id());
    }
    *result->mutable_hidden() = chunks[i];
    if (!stream->Write(response)) return false;
  }
  return true;
}

}  // namespace

BlockService::BlockService(const ServedModel& served, const ServerOptions& options)
    : served_(served),
      options_(options),
      budget_(options.cache_tokens),
      faults_(options.fault),
      sender_(served.identity, counters_) {
  reaper_ = std::thread([this] { reap_idle_sessions(); });
}

BlockService::~BlockService() {
  stopping_ = true;
  reaper_cv_.notify_all();
  reaper_.join();
}

void BlockService::reap_idle_sessions() {
  std::unique_lock lock(sessions_mutex_);
  while (!stopping_) {
    reaper_cv_.wait_for(lock, std::chrono::milliseconds(500));
    const auto now = std::chrono::steady_clock::now();
    for (auto& [id, entry] : sessions_) {
      if (now - entry.session->last_active() > options_.session_timeout) {
        spdlog::info("session {} idle for over {} s: closing it", id,
                     options_.session_timeout.count());
        entry.context->TryCancel();
      }
    }
  }
}

void BlockService::cancel_all() {
  std::lock_guard lock(sessions_mutex_);
  for (auto& [id, entry] : sessions_) entry.context->TryCancel();
}

grpc::Status BlockService::Inference(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<rpc::InferenceResponse, rpc::InferenceRequest>* stream) {
  rpc::InferenceRequest request;
  if (!stream->Read(&request)) return invalid("stream ended before the session was opened");
  if (!request.has_open()) return invalid("the first message of a session must open it");
  const rpc::OpenSession& open = request.open();
  std::shared_ptr<InferenceSession> session;
  if (faults_.refuse_sessions()) {
    return to_status(Error("fault injection: refusing sessions", ErrorKind::kUnavailable));
  }
  try {
    validate_open(open, served_.span);
    const int64_t tokens = int64_t{open.batch()} * open.max_length();
    budget_.acquire(tokens, options_.alloc_wait);
    auto reservation = std::make_unique<CacheReservation>(budget_, tokens);
    session =
        std::make_shared<InferenceSession>(open, served_.span, served_.identity, compute_mutex_,
                                           std::move(reservation), &counters_, &sender_, &faults_);
    std::lock_guard lock(sessions_mutex_);
    require(sessions_.count(open.session_id()) == 0, "session {} is already open",
            open.session_id());
    sessions_[open.session_id()] = {session, context};
  } catch (const Error& e) {
    return to_status(e);
  }
  // From here on the session is registered: remove it on every way out so
  // that its cache goes back to the budget.
  struct Unregister {
    BlockService* self;
    std::string id;
    ~Unregister() {
      std::lock_guard lock(self->sessions_mutex_);
      self->sessions_.erase(id);
    }
  } unregister{this, open.session_id()};

  rpc::InferenceResponse opened;
  opened.mutable_opened()->set_peer(served_.identity.peer_id());
  opened.mutable_opened()->set_cache_tokens_left(static_cast<int32_t>(budget_.left()));
  if (!stream->Write(opened)) return grpc::Status::CANCELLED;

  // Results are written from this thread and from push handlers; a gRPC
  // stream takes one writer at a time.
  std::mutex write_mutex;
  bool write_failed = false;
  session->attach([&](const StepOutcome& outcome) {
    std::lock_guard lock(write_mutex);
    if (!write_failed && !write_result(stream, outcome)) write_failed = true;
  });
  struct Detach {
    InferenceSession* session;
    ~Detach() { session->detach(); }
  } detach{session.get()};

  StepAssembler steps(session->dtype(), session->max_step_bytes(), session->id());
  try {
    while (stream->Read(&request)) {
      if (request.has_route()) {
        const auto& route = request.route();
        session->update_route({route.next().begin(), route.next().end()}, route.upstream_peer());
        // Pushes that came before the route was known can be judged now.
        for (auto& early : early_pushes_.take(session->id())) {
          std::string why;
          count(session->on_push(early.input, early.sender_peer, &why));
        }
        continue;
      }
      require(request.has_step(), "session {}: expected a step or a route, got {}", session->id(),
              request.has_open() ? "another open" : "an empty request");
      if (!steps.add(request.step())) continue;
      session->on_client_step(steps.take());
      std::lock_guard lock(write_mutex);
      if (write_failed) return grpc::Status::CANCELLED;
    }
  } catch (const Error& e) {
    spdlog::info("session {} ended: {}", session->id(), e.what());
    return to_status(e);
  }
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "session closed (idle timeout or shutdown)");
  }
  return grpc::Status::OK;
}

std::shared_ptr<InferenceSession> BlockService::find_session(const std::string& id) {
  std::lock_guard lock(sessions_mutex_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.session;
}

void BlockService::count(PushVerdict verdict) {
  switch (verdict) {
    case PushVerdict::kAccepted:
      ++counters_.accepted;
      break;
    case PushVerdict::kLate:
      ++counters_.late;
      break;
    case PushVerdict::kDropped:
      ++counters_.dropped;
      break;
  }
}

grpc::Status BlockService::Forward(
    grpc::ServerContext*,
    grpc::ServerReaderWriter<rpc::ForwardResponse, rpc::ForwardRequest>* stream) {
  rpc::ForwardRequest request;
  std::optional<ChunkAssembler> assembler;
  rpc::OpenSession open;
  int answered = 0;
  try {
    while (stream->Read(&request)) {
      if (!assembler) {
        open.set_session_id("forward");
        open.set_start(request.start());
        open.set_end(request.end());
        open.set_batch(1);
        open.set_max_length(1);
        open.set_dtype(request.hidden().dtype());
        // Batch and length come from the tensor; bound them by the budget.
        assembler.emplace(request.hidden().dtype(), static_cast<size_t>(budget_.capacity()) *
                                                        served_.span.config().hidden_size * 4);
      }
      if (!assembler->add(request.hidden())) continue;
      WireTensor tensor = assembler->take();
      assembler.reset();
      require(tensor.shape.size() == 3, "forward: hidden states must be [batch, tokens, hidden]");
      open.set_batch(static_cast<int32_t>(tensor.shape[0]));
      open.set_max_length(static_cast<int32_t>(tensor.shape[1]));
      validate_open(open, served_.span);
      const int64_t tokens = tensor.shape[0] * tensor.shape[1];
      budget_.acquire(tokens, options_.alloc_wait);
      InferenceSession session(open, served_.span, served_.identity, compute_mutex_,
                               std::make_unique<CacheReservation>(budget_, tokens));
      StepInput input;
      input.hidden = std::move(tensor);
      const StepOutcome outcome = session.run_once(input);
      const auto chunks = split_chunks(outcome.output);
      for (size_t i = 0; i < chunks.size(); ++i) {
        rpc::ForwardResponse response;
        *response.mutable_hidden() = chunks[i];
        response.set_compute_ms(outcome.result.compute_ms());
        if (!stream->Write(response)) return grpc::Status::CANCELLED;
      }
      ++answered;
    }
  } catch (const Error& e) {
    return to_status(e);
  }
  // A message that does not parse also ends the reads: never answer it OK.
  if (assembler) return invalid("forward: the stream ended inside a tensor");
  if (answered == 0) return invalid("forward: the stream ended before a complete request");
  return grpc::Status::OK;
}

grpc::Status BlockService::Push(grpc::ServerContext*, const rpc::PushRequest* request,
                                rpc::PushResponse* response) {
  auto refuse = [&](const std::string& reason) {
    ++counters_.dropped;
    response->set_accepted(false);
    response->set_reason(reason);
    return grpc::Status::OK;
  };
  StepInput input;
  input.step_id = request->step_id();
  input.position = request->position();
  try {
    input.hidden = verify_push(*request);
  } catch (const Error& e) {
    return refuse(e.what());
  }
  auto session = find_session(request->session_id());
  if (!session) {
    if (request->session_id().empty() ||
        request->session_id().size() > limits::kMaxSessionIdBytes ||
        !early_pushes_.add(request->session_id(), {std::move(input), request->sender_peer(),
                                                   std::chrono::steady_clock::now()})) {
      return refuse("unknown session");
    }
    response->set_accepted(true);
    response->set_reason("held until the session is ready");
    return grpc::Status::OK;
  }
  std::string why;
  const PushVerdict verdict = session->on_push(input, request->sender_peer(), &why);
  count(verdict);
  response->set_accepted(verdict == PushVerdict::kAccepted);
  response->set_reason(why);
  return grpc::Status::OK;
}

grpc::Status BlockService::Info(grpc::ServerContext*, const rpc::InfoRequest*,
                                rpc::InfoResponse* response) {
  response->set_model(served_.model_id);
  response->set_peer(served_.identity.peer_id());
  response->set_public_key(to_hex(served_.identity.public_key()));
  response->set_start(served_.span.start());
  response->set_end(served_.span.end());
  response->set_version(kVersion);
  response->set_cache_tokens_left(budget_.left());
  response->set_compute_ms_per_block(served_.compute_ms_per_block);
  response->set_family(options_.family);
  response->set_name(options_.name);
  counters_.fill(response->mutable_push());
  std::lock_guard lock(sessions_mutex_);
  response->set_sessions(static_cast<int32_t>(sessions_.size()));
  return grpc::Status::OK;
}

grpc::Status BlockService::Ping(grpc::ServerContext*, const rpc::PingRequest* request,
                                rpc::PingResponse* response) {
  response->set_client_time_us(request->client_time_us());
  return grpc::Status::OK;
}

}  // namespace brigade
