#include "bench/swarm_setup.h"

#include "cli/commands.h"
#include "model/make_model.h"

namespace brigade::bench {

std::filesystem::path model_or_tiny(const std::string& model, const TempDir& work, int layers) {
  if (!model.empty()) return std::filesystem::absolute(model);
  MakeModelOptions m;
  m.layers = layers;
  m.hidden = 64;
  m.intermediate = 160;
  m.heads = 4;
  m.kv_heads = 2;
  m.vocab = 256;
  m.max_position_embeddings = 512;
  m.tokenizer = false;
  m.seed = 5;
  make_model(m, work / "model");
  return work / "model";
}

std::unique_ptr<LocalSwarm> start_swarm(const std::filesystem::path& model, int layers, int servers,
                                        const TempDir& work,
                                        const std::vector<std::string>& server_args) {
  LocalSwarmOptions options;
  options.binary = cli::self_binary();
  options.model_dir = model;
  options.servers = even_spans(layers, servers);
  for (auto& server : options.servers) server.extra_args = server_args;
  options.log_dir = work / "logs";
  return std::make_unique<LocalSwarm>(options);
}

}  // namespace brigade::bench
