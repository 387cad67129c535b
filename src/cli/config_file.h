#pragma once
// A command's flags from a TOML file (`brigade server --config FILE`), for
// operators who keep a server's settings in one place. Each key is a flag's
// long name without the dashes, each value a string, number or boolean:
//
//   model = "/models/llama"
//   num-blocks = 8
//   initial-peers = "swarm.example.org:31337"
//   plaintext = false
//
// A flag given on the command line overrides the file.

#include <CLI/CLI.hpp>
#include <filesystem>

namespace brigade::cli {

// Gives every option of `command` that the command line left unset the
// file's value for it. Throws Error naming the file (and the key, with its
// line) when it is not TOML, a key is no flag of `command`, a value is a
// table or an array, or a value is refused by the flag's own check.
// REQUIRES: `command` has been parsed (call it first in its callback).
void apply_config_file(CLI::App& command, const std::filesystem::path& path);

}  // namespace brigade::cli
