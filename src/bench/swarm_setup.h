#pragma once
// The model and the local swarm of real server processes that `bench load`
// and `bench sessions` run against.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "swarm/local_swarm.h"
#include "util/temp_dir.h"

namespace brigade::bench {

// `model` if given, else a tiny random model (hidden 64) of `layers` blocks
// made in `work`.
std::filesystem::path model_or_tiny(const std::string& model, const TempDir& work, int layers);

// A DHT node and `servers` servers of this binary, the `layers` blocks split
// evenly between them, each given `server_args` too; their logs go to
// `work`/logs.
std::unique_ptr<LocalSwarm> start_swarm(const std::filesystem::path& model, int layers, int servers,
                                        const TempDir& work,
                                        const std::vector<std::string>& server_args = {});

}  // namespace brigade::bench
