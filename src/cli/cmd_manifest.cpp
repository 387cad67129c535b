// `brigade manifest`: computes a checkpoint's manifest (its model id, the
// digest of every block and of the client-side tensors) and writes it beside
// the checkpoint, where servers and clients find it.

#include <fmt/ranges.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "model/config.h"
#include "model/manifest.h"
#include "util/error.h"
#include "util/log.h"

namespace brigade::cli {

void add_manifest_command(CLI::App& app) {
  struct Flags {
    std::string model;
    int threads = 0;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "manifest", "Hash a checkpoint and write DIR/brigade-manifest.json (its model id)");
  cmd->add_option("--model", flags->model, "Checkpoint directory (every shard present)")
      ->required();
  cmd->add_option("--threads", flags->threads, "Hashing threads (0: one per core)")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json,
                R"(Print {"model_id", "manifest", "num_blocks", "bytes", "seconds"})");
  cmd->callback([flags] {
    init_logging("manifest");
    require(flags->threads >= 0, "--threads must be >= 0, got {}", flags->threads);
    const std::filesystem::path dir = flags->model;
    const ModelConfig config = ModelConfig::load(dir);
    const auto checkpoint = Checkpoint::open(dir);
    const auto absent = absent_shards(dir);
    require(absent.empty(),
            "{} lacks shards [{}]: the manifest is computed from a complete checkpoint (a "
            "partial one uses the brigade-manifest.json shipped with it)",
            dir.string(), fmt::join(absent, ", "));
    uint64_t bytes = 0;
    for (const auto& name : checkpoint->names()) bytes += checkpoint->info(name).nbytes;
    const auto began = std::chrono::steady_clock::now();
    const Manifest manifest = compute_manifest(config, *checkpoint, flags->threads);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    write_manifest(dir, manifest);
    const auto path = dir / kManifestFile;
    if (flags->json) {
      std::cout << nlohmann::json{{"model_id", manifest.model_id()},
                                  {"manifest", path.string()},
                                  {"num_blocks", manifest.num_blocks()},
                                  {"bytes", bytes},
                                  {"seconds", seconds}}
                       .dump()
                << std::endl;
      return;
    }
    std::printf("model %s: %d blocks, %.2f GB hashed in %.2f s (%.2f GB/s); wrote %s\n",
                manifest.model_id().c_str(), manifest.num_blocks(), bytes / 1e9, seconds,
                seconds > 0 ? bytes / 1e9 / seconds : 0.0, path.c_str());
  });
}

}  // namespace brigade::cli
