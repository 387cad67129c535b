#pragma once
// A hostile Brigade server in the test's own process: a gRPC service on
// 127.0.0.1 (a free port) with TLS under an identity of its own, so that it
// is exactly the peer a record or a route names, that answers pings (clients
// measure it as near and fast) and misbehaves at the session open as told.
// Used by the client's open tests and the end-to-end hostile-peer tests.
//
// Header-only, as swarm_fixture.h is: it needs the generated protocol
// headers, which only the component test binaries are built with.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "brigade.grpc.pb.h"
#include "net/identity.h"
#include "net/tls.h"

namespace brigade::test {

class HostileServer {
 public:
  // What it does with each session open, after reading it.
  enum class Mode {
    kHangAtOpen,  // nothing, until the client gives up or the server stops
    kWrongPeer,   // answers that it opened, as peer "someone-else", then hangs
    kRefuse,      // refuses as if its cache were full
  };

  explicit HostileServer(Mode mode) : service_(mode) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", server_credentials(identity_), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port == 0) throw std::runtime_error("cannot start a hostile server");
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~HostileServer() {
    service_.stopping = true;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  HostileServer(const HostileServer&) = delete;
  HostileServer& operator=(const HostileServer&) = delete;

  const Identity& identity() const { return identity_; }
  const std::string& address() const { return address_; }
  // Session opens it has read.
  int opens() const { return service_.opens; }

 private:
  class Service final : public rpc::Brigade::Service {
   public:
    explicit Service(Mode mode) : mode_(mode) {}

    grpc::Status Inference(
        grpc::ServerContext* context,
        grpc::ServerReaderWriter<rpc::InferenceResponse, rpc::InferenceRequest>* stream) override {
      rpc::InferenceRequest open;
      if (!stream->Read(&open)) return grpc::Status::OK;
      ++opens;
      if (mode_ == Mode::kRefuse) {
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "cache full");
      }
      if (mode_ == Mode::kWrongPeer) {
        rpc::InferenceResponse opened;
        opened.mutable_opened()->set_peer("someone-else");
        stream->Write(opened);
      }
      while (!context->IsCancelled() && !stopping) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return grpc::Status::CANCELLED;
    }
    grpc::Status Ping(grpc::ServerContext*, const rpc::PingRequest* request,
                      rpc::PingResponse* response) override {
      response->set_client_time_us(request->client_time_us());
      return grpc::Status::OK;
    }

    std::atomic<int> opens{0};
    std::atomic<bool> stopping{false};

   private:
    const Mode mode_;
  };

  const Identity identity_ = Identity::generate();
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace brigade::test
