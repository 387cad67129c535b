// `brigade`: one binary for every role (model maker, local runner, DHT node,
// server, client, swarm launcher, benchmarks).

#include <fmt/format.h>

#include <cstdio>

#include "bench/commands.h"
#include "cli/commands.h"
#include "kernels/cpu.h"
#include "util/error.h"
#include "util/version.h"

int main(int argc, char** argv) {
  CLI::App app{"Brigade: run large language models across a swarm of machines"};
  // The release and, since a swarm mixes machines, the kernel path this one
  // computes with (servers on one path agree bitwise).
  app.set_version_flag("--version", [] {
    return fmt::format("{} (kernels: {})", brigade::kVersion,
                       brigade::kernels::isa_name(brigade::kernels::active_isa()));
  });
  app.require_subcommand(1);
  brigade::cli::add_make_model_command(app);
  brigade::cli::add_run_command(app);
  brigade::cli::add_dht_command(app);
  brigade::cli::add_server_command(app);
  brigade::cli::add_generate_command(app);
  brigade::cli::add_status_command(app);
  brigade::cli::add_swarm_command(app);
  brigade::cli::add_tokenize_command(app);
  brigade::cli::add_manifest_command(app);
  brigade::bench::add_bench_commands(app);
  std::string topic;
  auto* help = app.add_subcommand("help", "Show the commands, or one command's flags");
  help->add_option("command", topic, "A command, e.g. server");
  help->callback([&app, &topic] {
    const CLI::App* about = topic.empty() ? &app : nullptr;
    for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; }))
      if (command->get_name() == topic && topic != "help") about = command;
    brigade::require(about != nullptr, "brigade help: unknown command '{}'", topic);
    // The formatter itself: App::help() would show the parsed subcommand's
    // (this one's) help instead of the app's.
    std::printf("%s", about->get_formatter()
                          ->make_help(about, topic.empty() ? "brigade" : "brigade " + topic,
                                      CLI::AppFormatMode::Normal)
                          .c_str());
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
