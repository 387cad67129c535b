#pragma once
// Clean shutdown on SIGINT, SIGTERM and SIGHUP for long-running commands (dht, server,
// swarm). block_termination_signals() must run before any thread starts so
// that every thread inherits the mask and the signal is only ever consumed by
// wait_for_termination_signal().

namespace brigade {

void block_termination_signals();
// Returns the signal number received.
int wait_for_termination_signal();

}  // namespace brigade
