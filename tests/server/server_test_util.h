#pragma once
// Helpers of the server tests: a swarm of real server processes over a test
// model, and a raw gRPC client that sends exactly the messages a test writes
// (no client-side checks in the way), then collects what the server answered.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "brigade.grpc.pb.h"
#include "common/swarm_fixture.h"
#include "common/test_util.h"
#include "model/block_span.h"
#include "net/channels.h"
#include "net/tensor_codec.h"
#include "swarm/local_swarm.h"

namespace brigade::test {

// Server swarms start like every other test swarm.
using swarm_fixture::start_swarm;

inline std::shared_ptr<grpc::Channel> raw_channel(const std::string& address) {
  return dial(address, kAnyPeer, channel_arguments());
}

inline rpc::TensorChunk tensor_chunk(const std::vector<int64_t>& shape, const std::string& bytes,
                                     rpc::WireDType dtype = rpc::WIRE_F32, uint32_t index = 0,
                                     uint32_t num_chunks = 1) {
  rpc::TensorChunk chunk;
  for (int64_t d : shape) chunk.add_shape(d);
  chunk.set_dtype(dtype);
  chunk.set_data(bytes);
  chunk.set_chunk_index(index);
  chunk.set_num_chunks(num_chunks);
  return chunk;
}

// `count` deterministic O(1) values.
inline std::vector<float> test_values(size_t count, int seed) {
  std::vector<float> out(count);
  for (size_t i = 0; i < count; ++i) {
    out[i] = 0.5f * static_cast<float>(((i * 37 + seed * 101) % 97)) / 97.0f - 0.25f;
  }
  return out;
}

inline rpc::InferenceRequest open_request(const std::string& id, int start, int end, int max_length,
                                          int batch = 1, rpc::WireDType dtype = rpc::WIRE_F32) {
  rpc::InferenceRequest request;
  auto* open = request.mutable_open();
  open->set_session_id(id);
  open->set_start(start);
  open->set_end(end);
  open->set_max_length(max_length);
  open->set_batch(batch);
  open->set_dtype(dtype);
  return request;
}

inline rpc::InferenceRequest step_request(int64_t step_id, int32_t position,
                                          const rpc::TensorChunk& hidden) {
  rpc::InferenceRequest request;
  auto* step = request.mutable_step();
  step->set_step_id(step_id);
  step->set_position(position);
  *step->mutable_hidden() = hidden;
  return request;
}

// A step of `tokens` tokens of test values for a batch-1 session.
inline rpc::InferenceRequest value_step(int64_t step_id, int32_t position, int tokens, int hidden,
                                        rpc::WireDType dtype = rpc::WIRE_F32) {
  const auto values = test_values(static_cast<size_t>(tokens) * hidden, static_cast<int>(step_id));
  return step_request(step_id, position,
                      tensor_chunk({1, tokens, hidden}, encode_values(values, dtype), dtype));
}

struct InferenceCall {
  grpc::Status status;
  std::vector<rpc::InferenceResponse> responses;
  int results() const {
    int n = 0;
    for (const auto& r : responses) n += r.has_result() ? 1 : 0;
    return n;
  }
};

// Sends `requests` on a fresh Inference stream (ignoring write failures: the
// server may have ended the call already), half-closes, reads every answer.
inline InferenceCall run_inference(const std::shared_ptr<grpc::Channel>& channel,
                                   const std::vector<rpc::InferenceRequest>& requests,
                                   std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto stub = rpc::Brigade::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  auto stream = stub->Inference(&context);
  for (const auto& r : requests) {
    if (!stream->Write(r)) break;
  }
  stream->WritesDone();
  InferenceCall call;
  rpc::InferenceResponse response;
  while (stream->Read(&response)) call.responses.push_back(response);
  call.status = stream->Finish();
  return call;
}

// An open Inference stream the test drives message by message.
struct LiveSession {
  std::unique_ptr<rpc::Brigade::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<rpc::InferenceRequest, rpc::InferenceResponse>> stream;
  int hidden = 64;

  LiveSession(const std::shared_ptr<grpc::Channel>& channel, const rpc::InferenceRequest& open,
              int hidden_size = 64)
      : stub(rpc::Brigade::NewStub(channel)), hidden(hidden_size) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stream = stub->Inference(&context);
    stream->Write(open);
  }
  // Reads the answer to the open; false when the server refused it.
  bool opened() {
    rpc::InferenceResponse response;
    return stream->Read(&response) && response.has_opened();
  }
  // Sends `request` and reads one answer; false unless it is the result of
  // `request`'s step (whose output lands in *output when given).
  bool answer(const rpc::InferenceRequest& request, std::vector<float>* output = nullptr) {
    rpc::InferenceResponse response;
    if (!stream->Write(request) || !stream->Read(&response) || !response.has_result() ||
        response.result().step_id() != request.step().step_id()) {
      return false;
    }
    if (output != nullptr)
      *output = decode_values(response.result().hidden().data(), rpc::WIRE_F32);
    return true;
  }
  // A step of `tokens` tokens of test values.
  bool step(int64_t step_id, int position, int tokens, int batch = 1) {
    const auto values = test_values(static_cast<size_t>(batch) * tokens * hidden, 1);
    return answer(
        step_request(step_id, position,
                     tensor_chunk({batch, tokens, hidden}, encode_values(values, rpc::WIRE_F32))));
  }
};

struct ForwardCall {
  grpc::Status status;
  std::vector<rpc::ForwardResponse> responses;
};

inline rpc::ForwardRequest forward_request(int start, int end, const rpc::TensorChunk& hidden) {
  rpc::ForwardRequest request;
  request.set_start(start);
  request.set_end(end);
  *request.mutable_hidden() = hidden;
  return request;
}

inline ForwardCall run_forward(const std::shared_ptr<grpc::Channel>& channel,
                               const std::vector<rpc::ForwardRequest>& requests) {
  auto stub = rpc::Brigade::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stub->Forward(&context);
  for (const auto& r : requests) {
    if (!stream->Write(r)) break;
  }
  stream->WritesDone();
  ForwardCall call;
  rpc::ForwardResponse response;
  while (stream->Read(&response)) call.responses.push_back(response);
  call.status = stream->Finish();
  return call;
}

inline grpc::Status ping(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = rpc::Brigade::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  rpc::PingRequest request;
  request.set_client_time_us(42);
  rpc::PingResponse response;
  grpc::Status status = stub->Ping(&context, request, &response);
  if (status.ok() && response.client_time_us() != 42) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "ping answered another time");
  }
  return status;
}

// Info, or a failed test.
inline rpc::InfoResponse server_info(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = rpc::Brigade::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  rpc::InfoResponse response;
  const grpc::Status status = stub->Info(&context, rpc::InfoRequest{}, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

// Sessions end asynchronously after their call: waits until the server
// reports `sessions` open sessions and `cache_tokens_left` free tokens.
// Returns the last Info seen.
inline rpc::InfoResponse wait_for_server_state(
    const std::shared_ptr<grpc::Channel>& channel, int sessions, int64_t cache_tokens_left,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  rpc::InfoResponse info = server_info(channel);
  while ((info.sessions() != sessions || info.cache_tokens_left() != cache_tokens_left) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    info = server_info(channel);
  }
  return info;
}

}  // namespace brigade::test
