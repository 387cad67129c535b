#include "server/block_service.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "net/status.h"
#include "util/error.h"

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
    : open_timeout_(options.open_timeout),
      faults_(options.fault),
      sender_(served.identity, counters_, options.transport),
      host_(served, options, counters_, faults_.wrap(sender_)) {
  reaper_ = std::thread([this] { reap_idle_sessions(); });
}

BlockService::~BlockService() {
  {
    std::lock_guard lock(reaper_mutex_);
    stopping_ = true;
  }
  reaper_cv_.notify_all();
  reaper_.join();
}

void BlockService::reap_idle_sessions() {
  std::unique_lock lock(reaper_mutex_);
  while (!reaper_cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; }))
    host_.expire_idle();
}

std::optional<grpc::Status> BlockService::admit(grpc::ServerContext* context,
                                                PeerQuota::Claim* slot) {
  try {
    *slot = host_.admit_stream(context->peer());
  } catch (const Error& e) {
    return to_status(e);
  }
  return std::nullopt;
}

Watchdog::Timer BlockService::cancel_if_silent(grpc::ServerContext* context) {
  return watchdog_.arm(open_timeout_, [context] { context->TryCancel(); });
}

void BlockService::stop() {
  faults_.stop();
  host_.cancel_all();
}

grpc::Status BlockService::Inference(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<rpc::InferenceResponse, rpc::InferenceRequest>* stream) {
  PeerQuota::Claim slot;
  if (auto refused = admit(context, &slot)) return *refused;
  rpc::InferenceRequest request;
  {
    const Watchdog::Timer deadline = cancel_if_silent(context);
    if (!stream->Read(&request)) return invalid("stream ended before the session was opened");
  }
  if (faults_.refuse_sessions()) {
    return to_status(Error("fault injection: refusing sessions", ErrorKind::kUnavailable));
  }
  // Results are written from this thread and from push handlers; a gRPC
  // stream takes one writer at a time.
  std::mutex write_mutex;
  bool write_failed = false;
  const auto deliver = [&](const StepOutcome& outcome) {
    std::lock_guard lock(write_mutex);
    if (!write_failed && !write_result(stream, outcome)) write_failed = true;
  };
  std::unique_ptr<SessionHost::Stream> session;
  try {
    session = host_.open(context->peer(), request, faults_.wrap(deliver),
                         [context] { context->TryCancel(); });
  } catch (const Error& e) {
    return to_status(e);
  }
  rpc::InferenceResponse opened;
  *opened.mutable_opened() = session->opened();
  {
    std::lock_guard lock(write_mutex);
    if (!stream->Write(opened)) return grpc::Status::CANCELLED;
  }
  try {
    while (stream->Read(&request)) {
      session->on_request(request);
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

grpc::Status BlockService::Forward(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<rpc::ForwardResponse, rpc::ForwardRequest>* stream) {
  PeerQuota::Claim slot;
  if (auto refused = admit(context, &slot)) return *refused;
  rpc::ForwardRequest request;
  std::unique_ptr<ChunkAssembler> assembler;
  int answered = 0;
  // Every message of a Forward stream is due within open_timeout of the
  // previous one (or of the start): a silent stream holds a thread.
  Watchdog::Timer deadline = cancel_if_silent(context);
  try {
    while (stream->Read(&request)) {
      deadline.disarm();
      if (!assembler) assembler = host_.forward_assembler(request.hidden().dtype());
      if (!assembler->add(request.hidden())) {
        deadline = cancel_if_silent(context);
        continue;
      }
      const WireTensor tensor = assembler->take();
      assembler.reset();
      const ForwardResult result =
          host_.forward(context->peer(), request.start(), request.end(), tensor);
      for (const auto& chunk : split_chunks(result.output)) {
        rpc::ForwardResponse response;
        *response.mutable_hidden() = chunk;
        response.set_compute_ms(result.compute_ms);
        if (!stream->Write(response)) return grpc::Status::CANCELLED;
      }
      ++answered;
      deadline = cancel_if_silent(context);
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
  *response = host_.push(*request);
  return grpc::Status::OK;
}

grpc::Status BlockService::Info(grpc::ServerContext*, const rpc::InfoRequest*,
                                rpc::InfoResponse* response) {
  host_.info(response);
  return grpc::Status::OK;
}

grpc::Status BlockService::Ping(grpc::ServerContext*, const rpc::PingRequest* request,
                                rpc::PingResponse* response) {
  response->set_client_time_us(request->client_time_us());
  return grpc::Status::OK;
}

}  // namespace brigade
