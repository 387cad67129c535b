#pragma once
// A Brigade server: hosts a span of blocks, serves sessions over gRPC and
// announces itself in the DHT until shut down.

#include <grpcpp/server.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "dht/dht_node.h"
#include "dht/server_record.h"
#include "dht/swarm_directory.h"
#include "model/block_span.h"
#include "model/manifest.h"
#include "net/channels.h"
#include "net/identity.h"
#include "server/block_service.h"
#include "server/metrics_endpoint.h"
#include "server/server_options.h"

namespace brigade {

class Server {
 public:
  // Opens the model's manifest (computing and caching it on first use),
  // joins the DHT, picks the span (when options.num_blocks > 0), checks the
  // span's weights against the manifest, loads only its blocks, measures its
  // compute speed, starts listening and announces. With options.num_blocks
  // it later moves to where the swarm needs it (options.rebalance_period):
  // it loads the new blocks, announces the old span offline, ends its
  // sessions (their clients fail over), serves the new span on the same
  // address and announces it. Throws Error on bad
  // options, a bad checkpoint, blocks whose digests differ from the manifest
  // (naming them) or a port in use.
  explicit Server(ServerOptions options);
  ~Server();  // shutdown()

  // Announces the server offline, ends open sessions and stops serving.
  // Idempotent.
  void shutdown();

  const std::string& address() const { return address_; }
  const std::string& peer_id() const { return identity_.peer_id(); }
  const std::string& model_id() const { return model_id_; }
  int start() const { return start_; }
  int end() const { return end_; }
  double compute_ms_per_block() const { return compute_ms_per_block_; }
  // Where /metrics is served (options.metrics_listen), or nullopt.
  std::optional<HostPort> metrics_address() const;
  // The /metrics page now (server/server_metrics.h).
  std::string metrics_text();

 private:
  ServerRecord record(ServerState state) const;
  // Throws Error unless [start, end) is a span of the model whose weights
  // match the manifest.
  void check_blocks(int start, int end) const;
  // Loads blocks [start, end) and measures their speed (nothing served yet).
  std::unique_ptr<BlockSpan> load_span(int start, int end);
  // Serves `span` on options_.listen; the first call keeps the port it
  // bound, so that a move serves on the same address.
  void serve(std::unique_ptr<BlockSpan> span);
  // Announces the span offline, ends its sessions and stops serving.
  void stop_serving();
  // --num-blocks: moves when better_start says the swarm gains by it.
  void rebalance();
  void announce_loop();
  // Family hint: RTTs to the servers that serve the block right after ours.
  void measure_next_rtts();

  ServerOptions options_;
  Identity identity_;
  Manifest manifest_;
  std::string model_id_;    // manifest_.model_id()
  ExpectedModel expected_;  // what this server looks for in the swarm (expected_model(manifest_))
  std::string model_name_;  // for people
  // What the record announces of the engine: the format weights are held in
  // for compute and the numerics id, from the loaded span.
  std::string weight_format_;
  std::string numerics_;
  std::unique_ptr<DhtNode> dht_;
  std::unique_ptr<Announcer> records_;  // this server's records in dht_ (refresher_ repeats them)
  ModelConfig checkpoint_config_;
  std::shared_ptr<const Checkpoint> checkpoint_;
  std::unique_ptr<BlockSpan> span_;
  std::atomic<int> start_{0}, end_{0};  // span_'s, readable from any thread
  double compute_ms_per_block_ = 0;
  std::unique_ptr<BlockService> service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  // Held while service_ is replaced (a move) and while /metrics reads it.
  std::mutex serving_mutex_;
  std::unique_ptr<MetricsEndpoint> metrics_;
  std::string address_;
  ChannelPool channels_;
  std::map<std::string, double> next_rtt_ms_;  // guarded by mutex_

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace brigade
