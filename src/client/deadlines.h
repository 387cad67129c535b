#pragma once
// How long a client waits for a server. A fixed timeout lets a liar cost
// every client that much per failure; instead each wait is derived from what
// the server announced (compute speed, as the client's map corrects it with
// what it measured) and the round trip to it, with a margin for a busy
// machine, and it doubles for each stall the same server already had in this
// run, so that an honest but slow server still gets through on a retry.

#include <chrono>

namespace brigade {

// The longest a client ever waits for one step (`--step-timeout`).
inline constexpr std::chrono::milliseconds kDefaultStepTimeout{20000};

struct Deadlines {
  // The session open. A server answers at once, unless it makes the open
  // wait for cache (server/cache_budget.h); a client does better going
  // elsewhere than waiting, and comes back with a doubled deadline when no
  // other server is left.
  std::chrono::milliseconds open{2000};
  // Every step gets at least this (scheduling hiccups of a shared machine).
  std::chrono::milliseconds floor{1500};
  // ... and at most this (`--step-timeout`).
  std::chrono::milliseconds cap = kDefaultStepTimeout;
  // Multiples of the expected compute time a step may take.
  double slack = 8;

  // The deadline of a step of `tokens` tokens (batch x tokens) through
  // `blocks` blocks of a server that computes one token through one block in
  // `ms_per_block`, `rtt_ms` away, that stalled `stalls` times before.
  std::chrono::milliseconds step(double ms_per_block, int blocks, int tokens, double rtt_ms,
                                 int stalls) const;
  // The open's deadline for a server `rtt_ms` away that stalled `stalls`
  // times before (the open also pays for the connection and its TLS
  // handshake: a few round trips).
  std::chrono::milliseconds open_after(double rtt_ms, int stalls) const;
};

}  // namespace brigade
