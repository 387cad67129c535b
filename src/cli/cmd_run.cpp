// `brigade run`: generation with every block in this process, the local
// reference for what the swarm computes.

#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/generation_flags.h"
#include "model/block_span.h"
#include "model/local_runner.h"
#include "util/error.h"

namespace brigade::cli {

void add_run_command(CLI::App& app) {
  struct Flags {
    std::string model;
    GenerationFlags generation;
    EngineFlags engine;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("run", "Generate with all blocks in this process");
  cmd->add_option("--model", flags->model, "Checkpoint directory")->required();
  add_generation_flags(cmd, flags->generation);
  add_engine_flags(cmd, flags->engine);
  cmd->callback([flags] {
    const auto start = std::chrono::steady_clock::now();
    const auto quant = apply_engine_flags(flags->engine);
    const auto config = ModelConfig::load(flags->model);
    const auto checkpoint = Checkpoint::open(flags->model);
    const auto tokenizer = Tokenizer::open(flags->model);
    const auto defaults = GenerationConfig::load(flags->model, config);
    auto request = make_request(flags->generation, flags->model, config, defaults, tokenizer.get());
    const int max_length = static_cast<int>(request.prompt_ids.size()) + request.max_new_tokens;
    config.require_context(max_length,
                           fmt::format("prompt ({} tokens) + --max-new-tokens ({}) =",
                                       request.prompt_ids.size(), request.max_new_tokens));
    const ModelHead head(config, *checkpoint, quant);
    const BlockSpan span(config, *checkpoint, 0, config.num_hidden_layers, quant);
    LocalBlockRunner runner(span, 1, max_length);
    const double load_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const auto result = generate(head, tokenizer.get(), runner, request);
    if (flags->generation.json) {
      const auto json = result_json(result, request, load_s, flags->generation);
      std::printf("%s\n",
                  json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::printf("\n");
    }
  });
}

}  // namespace brigade::cli
