#pragma once
// gRPC channels to servers, one per address and peer, shared by every session
// of a client (or every push of a server). Every channel is TLS and accepts
// only the peer it was asked for (net/tls.h), unless the pool is plaintext.
// `--connect-via A=B` makes the client dial B whenever a server announces A
// (a tunnel or a port forward).

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "brigade.grpc.pb.h"
#include "net/tls.h"

namespace brigade {

// Parses "A=B[,C=D...]"; throws Error naming a malformed pair.
std::map<std::string, std::string> parse_connect_via(const std::string& text);

class ChannelPool {
 public:
  explicit ChannelPool(std::map<std::string, std::string> connect_via = {},
                       Transport transport = Transport::kTls)
      : connect_via_(std::move(connect_via)), transport_(transport) {}

  // The address actually dialled for an announced one.
  std::string dial_address(const std::string& announced) const;
  // A channel to the server announced at `announced` that is peer `peer`
  // (kAnyPeer: whoever it is).
  std::shared_ptr<grpc::Channel> channel(const std::string& announced, const std::string& peer);

  // Median of `count` Ping round trips in ms; +inf when the server does not
  // answer within `timeout` (or is not `peer`).
  double ping_ms(const std::string& announced, const std::string& peer, int count = 3,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

 private:
  static constexpr size_t kMaxChannels = 256;
  std::map<std::string, std::string> connect_via_;
  Transport transport_;
  std::mutex mutex_;
  // By (announced address, peer).
  std::map<std::pair<std::string, std::string>, std::shared_ptr<grpc::Channel>> channels_;
};

// Channel arguments every Brigade channel uses (message size limits).
grpc::ChannelArguments channel_arguments();

}  // namespace brigade
