#include "net/channels.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "net/limits.h"
#include "net/tensor_codec.h"
#include "util/error.h"

namespace brigade {

std::map<std::string, std::string> parse_connect_via(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t comma = text.find(',', begin);
    if (comma == std::string::npos) comma = text.size();
    const std::string pair = text.substr(begin, comma - begin);
    const size_t eq = pair.find('=');
    require(eq != std::string::npos && eq > 0 && eq + 1 < pair.size(),
            "--connect-via: '{}' is not ANNOUNCED=DIALLED", pair);
    out[pair.substr(0, eq)] = pair.substr(eq + 1);
    begin = comma + 1;
  }
  return out;
}

grpc::ChannelArguments channel_arguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(limits::kMaxMessageBytes));
  args.SetMaxSendMessageSize(static_cast<int>(limits::kMaxMessageBytes));
  // Each channel gets its own connection so that sessions to different
  // servers never queue behind each other.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

std::string ChannelPool::dial_address(const std::string& announced) const {
  auto it = connect_via_.find(announced);
  return it == connect_via_.end() ? announced : it->second;
}

std::shared_ptr<grpc::Channel> ChannelPool::channel(const std::string& announced,
                                                    const std::string& peer) {
  std::lock_guard lock(mutex_);
  // Addresses and peers may come from others' messages (a client's push
  // route): past kMaxChannels, channels nobody holds are dropped.
  if (channels_.size() >= kMaxChannels) {
    std::erase_if(channels_, [](const auto& entry) { return entry.second.use_count() == 1; });
  }
  auto& channel = channels_[{announced, peer}];
  if (!channel) channel = dial(dial_address(announced), peer, channel_arguments(), transport_);
  return channel;
}

double ChannelPool::ping_ms(const std::string& announced, const std::string& peer, int count,
                            std::chrono::milliseconds timeout) {
  auto stub = rpc::Brigade::NewStub(channel(announced, peer));
  std::vector<double> times;
  for (int i = 0; i < count; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    // A ping that finds the connection failed would fail at once; a loaded
    // server may drop one handshake, so the ping waits for a connection
    // within its deadline, as long as a silent server gets.
    context.set_wait_for_ready(true);
    rpc::PingRequest request;
    rpc::PingResponse response;
    const auto began = std::chrono::steady_clock::now();
    if (const grpc::Status status = stub->Ping(&context, request, &response); !status.ok()) {
      spdlog::warn("server {} at {} did not answer its ping: {} ({})", peer, announced,
                   status.error_message(), static_cast<int>(status.error_code()));
      return std::numeric_limits<double>::infinity();
    }
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began)
            .count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace brigade
