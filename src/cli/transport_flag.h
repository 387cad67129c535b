#pragma once
// `--plaintext`, shared by every command that talks to servers or is one
// (`server`, `generate`, `status`): without it every connection is TLS bound
// to the peer's identity (net/tls.h).

#include <CLI/CLI.hpp>

#include "net/tls.h"

namespace brigade::cli {

// Adds --plaintext; `plaintext` holds whether it was given.
void add_transport_flag(CLI::App* command, bool& plaintext);

inline Transport transport_of(bool plaintext) {
  return plaintext ? Transport::kPlaintext : Transport::kTls;
}

}  // namespace brigade::cli
