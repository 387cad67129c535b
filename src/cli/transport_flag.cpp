#include "cli/transport_flag.h"

namespace brigade::cli {

void add_transport_flag(CLI::App* command, bool& plaintext) {
  command->add_flag("--plaintext", plaintext,
                    "Talk to peers without TLS: no encryption and no check of who answers. "
                    "For measuring what TLS costs and for closed networks; every server and "
                    "client of the swarm must be given it");
}

}  // namespace brigade::cli
