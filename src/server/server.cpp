#include "server/server.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "dht/swarm_directory.h"
#include "kernels/format.h"
#include "net/limits.h"
#include "net/tensor_codec.h"
#include "server/block_selection.h"
#include "server/server_metrics.h"
#include "util/error.h"
#include "util/version.h"

namespace brigade {
namespace {

// Threads the server may use beyond one per stream: unary calls (Push, Info,
// Ping) and gRPC's own.
constexpr int kThreadsBesideStreams = 256;

// One token, batch 1 through the whole span, a few times: the speed a
// client will see per block when it routes a decode step here.
double measure_ms_per_block(const BlockSpan& span) {
  KvCache cache = span.make_cache(1, 8);
  std::vector<float> hidden(span.config().hidden_size, 0.01f);
  std::vector<double> times;
  for (int i = 0; i < 5; ++i) {
    const auto began = std::chrono::steady_clock::now();
    span.forward(hidden, 1, 1, i, cache);
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began)
            .count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2] / (span.end() - span.start());
}

// Uniform in [0, 1): the random parts of the waits.
double random_fraction() {
  static std::mutex mutex;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard lock(mutex);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      identity_(options_.identity_file.empty() ? Identity::generate()
                                               : Identity::load_or_create(options_.identity_file)),
      channels_({}, options_.transport) {
  checkpoint_config_ = ModelConfig::load(options_.model_dir);
  const ModelConfig& config = checkpoint_config_;
  checkpoint_ = Checkpoint::open(options_.model_dir);
  manifest_ = open_manifest(options_.model_dir, config, *checkpoint_);
  model_id_ = manifest_.model_id();
  model_name_ =
      options_.model_name.empty() ? model_name_of(options_.model_dir) : options_.model_name;
  require(is_record_text(model_name_, kMaxRecordNameBytes),
          "the model name '{}' is longer than {} bytes or has control characters (set another "
          "with --model-name)",
          model_name_, kMaxRecordNameBytes);
  expected_ = expected_model(manifest_);
  // Others dial what the server announces: never the wildcard, and only a
  // name that resolves.
  require(!is_wildcard(options_.listen.host) || !options_.announce.empty(),
          "--listen {} listens on every interface: give --announce HOST:PORT, the address "
          "clients and other servers dial",
          options_.listen.str());
  options_.listen.host = resolve_ipv4(options_.listen.host, "--listen");
  if (!options_.announce.empty()) {
    const HostPort announce = parse_host_port(options_.announce, "--announce");
    resolve_ipv4(announce.host, "--announce");
    require(!is_wildcard(announce.host) && announce.port > 0,
            "--announce {} is not an address others can dial", options_.announce);
  }
  // The flags are checked before the swarm is asked anything.
  require(options_.num_blocks <= config.num_hidden_layers,
          "--num-blocks {} exceeds the model's {} blocks", options_.num_blocks,
          config.num_hidden_layers);
  if (options_.num_blocks <= 0) check_blocks(options_.start, options_.end);
  dht_ = std::make_unique<DhtNode>(HostPort{options_.listen.host, 0}, options_.initial_peers);
  dht_->require_peers(std::chrono::seconds(5));
  records_ = std::make_unique<Announcer>(*dht_, identity_);

  int start = options_.start, end = options_.end;
  if (options_.num_blocks > 0) {
    // Servers started together would all see the same swarm and pick the
    // same span: each looks a random moment later.
    std::this_thread::sleep_for(random_fraction() * options_.rebalance_start_jitter);
    const SwarmView view = read_swarm(*dht_, expected_);
    start = choose_blocks(view, config.num_hidden_layers, options_.num_blocks);
    end = start + options_.num_blocks;
    check_blocks(start, end);
  }
  // Bound before the span is announced: a taken metrics port fails the
  // start before any client sees the server.
  if (options_.metrics_listen) {
    metrics_ = std::make_unique<MetricsEndpoint>(*options_.metrics_listen,
                                                 [this] { return metrics_text(); });
  }
  serve(load_span(start, end));
  refresher_ = std::thread([this] { announce_loop(); });
}

std::optional<HostPort> Server::metrics_address() const {
  if (!metrics_) return std::nullopt;
  return metrics_->address();
}

std::string Server::metrics_text() {
  std::lock_guard lock(serving_mutex_);
  // Between the spans of a move nothing is served: an empty page says so.
  return service_ ? prometheus_text(service_->metrics()) : std::string();
}

void Server::check_blocks(int start, int end) const {
  const int num_layers = checkpoint_config_.num_hidden_layers;
  require(start >= 0 && start < end && end <= num_layers,
          "blocks {}:{} are not a span of the model's {} blocks", start, end, num_layers);
  // A manifest shipped with a partial checkpoint (or copied from other
  // weights) must describe the blocks this server is about to serve.
  verify_manifest(manifest_, checkpoint_config_, *checkpoint_, ManifestUse{false, start, end});
}

std::unique_ptr<BlockSpan> Server::load_span(int start, int end) {
  auto span =
      std::make_unique<BlockSpan>(checkpoint_config_, *checkpoint_, start, end, options_.quant);
  compute_ms_per_block_ = measure_ms_per_block(*span);
  return span;
}

void Server::serve(std::unique_ptr<BlockSpan> span) {
  span_ = std::move(span);
  start_ = span_->start();
  end_ = span_->end();
  weight_format_ = kernels::format_name(span_->weight_format());
  numerics_ = span_->numerics_id();
  {
    std::lock_guard lock(serving_mutex_);
    service_ = std::make_unique<BlockService>(
        ServedModel{model_id_, *span_, identity_, compute_ms_per_block_}, options_);
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options_.listen.str(), server_credentials(identity_, options_.transport),
                           &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(limits::kMaxMessageBytes));
  builder.SetMaxSendMessageSize(static_cast<int>(limits::kMaxMessageBytes));
  // gRPC sets SO_REUSEPORT by default: a second server on a taken port would
  // listen too, and clients would reach either. A taken port is an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // The sync server holds a thread per open stream. BlockService refuses
  // streams past options_.max_streams at once; this quota, well above that
  // (room for unary calls and gRPC's pollers), keeps the process off the
  // OS's thread limit whatever arrives: past it gRPC itself answers
  // RESOURCE_EXHAUSTED.
  grpc::ResourceQuota threads("brigade-server-threads");
  threads.SetMaxThreads(options_.max_streams + kThreadsBesideStreams);
  builder.SetResourceQuota(threads);
  builder.RegisterService(service_.get());
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || port <= 0) {
    grpc_server_.reset();
    std::lock_guard lock(serving_mutex_);
    service_.reset();
    fail("cannot listen on {} (is the port taken?)", options_.listen.str());
  }
  if (address_.empty()) {
    options_.listen.port = port;  // a move serves on the same address
    address_ =
        options_.announce.empty() ? HostPort{options_.listen.host, port}.str() : options_.announce;
  }
  spdlog::info("serving blocks [{}, {}) of model {} ({}) at {} as {} ({:.2f} ms/block)",
               span_->start(), span_->end(), model_id_, model_name_, address_, identity_.peer_id(),
               compute_ms_per_block_);
  records_->announce(record(ServerState::kOnline));
}

void Server::stop_serving() {
  if (!grpc_server_) return;  // a move that failed left nothing served
  records_->announce(record(ServerState::kOffline));
  // Give the offline records a moment to reach the DHT before the sessions
  // end, so that clients failing over do not come back here.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  service_->stop();
  grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc_server_->Wait();
  grpc_server_.reset();
  std::lock_guard lock(serving_mutex_);
  service_.reset();
}

void Server::rebalance() {
  const int num_layers = checkpoint_config_.num_hidden_layers;
  const auto to = better_start(read_swarm(*dht_, expected_), identity_.peer_id(), num_layers,
                               start_, options_.num_blocks, options_.rebalance_margin);
  if (!to) return;
  // A warning: the span's sessions end (their clients fail over).
  spdlog::warn("moving from blocks [{}, {}) to [{}, {}): the swarm's weakest block gains", start_,
               end_, *to, *to + options_.num_blocks);
  std::unique_ptr<BlockSpan> next;
  try {
    check_blocks(*to, *to + options_.num_blocks);
    next = load_span(*to, *to + options_.num_blocks);
  } catch (const std::exception& e) {
    spdlog::warn("staying on blocks [{}, {}): cannot load the new span: {}", start_, end_,
                 e.what());
    return;
  }
  stop_serving();
  try {
    serve(std::move(next));
  } catch (const std::exception& e) {
    // Only a port taken in the moment between the two: nothing is served
    // (and nothing announced) from now on.
    spdlog::error("stopped serving: cannot serve the new span: {}", e.what());
  }
}

Server::~Server() { shutdown(); }

ServerRecord Server::record(ServerState state) const {
  ServerRecord r;
  r.model = model_id_;
  r.model_name = model_name_;
  r.num_blocks = span_->config().num_hidden_layers;
  r.start = span_->start();
  r.end = span_->end();
  r.address = address_;
  r.state = state;
  r.compute_ms_per_block = compute_ms_per_block_;
  r.cache_tokens_left = service_->cache_tokens_for_a_client();
  r.family = options_.family;
  r.name = options_.name;
  r.version = kVersion;
  for (int b = span_->start(); b < span_->end(); ++b)
    r.block_digests[b] = manifest_.block_digests[b];
  r.weight_format = weight_format_;
  r.numerics = numerics_;
  {
    std::lock_guard lock(mutex_);
    r.next_rtt_ms = next_rtt_ms_;
  }
  r.expires_at = unix_now() + static_cast<double>(options_.record_ttl.count());
  return r;
}

void Server::measure_next_rtts() {
  const int num_blocks = span_->config().num_hidden_layers;
  if (span_->end() >= num_blocks) return;
  const SwarmView view = read_swarm(*dht_, expected_);
  std::map<std::string, double> rtts;
  for (const auto& s : view.servers) {
    if (s.state != ServerState::kOnline || s.peer == identity_.peer_id()) continue;
    if (s.start <= span_->end() && span_->end() < s.end) {
      const double rtt = channels_.ping_ms(s.address, s.peer);
      if (std::isfinite(rtt)) rtts[s.peer] = rtt;
    }
  }
  std::lock_guard lock(mutex_);
  next_rtt_ms_ = std::move(rtts);
}

void Server::announce_loop() {
  using Clock = std::chrono::steady_clock;
  const auto ttl = std::chrono::duration_cast<Clock::duration>(options_.record_ttl);
  // With a family, the first hints go out soon after start, once the
  // neighbours had a chance to announce themselves.
  auto next_announce =
      Clock::now() + (options_.family.empty() ? ttl / 3 : Clock::duration(std::chrono::seconds(1)));
  const bool rebalances = options_.num_blocks > 0 && options_.rebalance_period.count() > 0;
  const auto next_check = [&] {
    if (!rebalances) return Clock::now() + std::chrono::hours(24);
    return Clock::now() + std::chrono::duration_cast<Clock::duration>((0.5 + random_fraction()) *
                                                                      options_.rebalance_period);
  };
  auto next_balance = next_check();
  std::unique_lock lock(mutex_);
  while (!wake_.wait_until(lock, std::min(next_announce, next_balance),
                           [this] { return stopping_; })) {
    lock.unlock();
    if (Clock::now() >= next_balance) {
      try {
        rebalance();
      } catch (const std::exception& e) {
        // Out of memory for the second span, a DHT hiccup: stay, try later.
        spdlog::warn("rebalancing failed: {}", e.what());
      }
      next_balance = next_check();
    }
    if (Clock::now() >= next_announce && grpc_server_) {
      if (!options_.family.empty()) measure_next_rtts();
      records_->announce(record(ServerState::kOnline));
      next_announce = Clock::now() + ttl / 3;
    }
    lock.lock();
  }
}

void Server::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  metrics_.reset();
  if (!span_ || !grpc_server_) return;
  stop_serving();
  records_.reset();
  dht_.reset();
}

}  // namespace brigade
