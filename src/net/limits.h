#pragma once
// The protocol's limits, in one place: what a server accepts from clients and
// peers, and what it holds for them. Each bounds memory or work that someone
// else can ask for; a request past one is refused naming the limit.

#include <chrono>
#include <cstddef>

namespace brigade::limits {

// gRPC messages are capped at kMaxMessageBytes on both ends; a chunk of
// tensor data stays well under it so that the rest of a message always fits.
inline constexpr size_t kChunkBytes = 1 << 20;
inline constexpr size_t kMaxMessageBytes = 4 << 20;

// A session id names a session in every message and log line.
inline constexpr size_t kMaxSessionIdBytes = 128;
// Sequences per session.
inline constexpr int kMaxBatch = 64;

// Pushes for steps after a session's next one wait in the session; more are
// dropped (the client's own copy of the input still arrives).
inline constexpr size_t kMaxWaitingPushes = 4;
// Pushes a server has yet to send to one next hop, over all its sessions.
inline constexpr size_t kMaxQueuedPushes = 16;
// Pushes that arrive before their session is open wait this long, up to this
// many and bytes per server.
inline constexpr size_t kMaxEarlyPushes = 32;
inline constexpr size_t kMaxEarlyPushBytes = 16 << 20;
inline constexpr std::chrono::milliseconds kEarlyPushExpiry{5000};

}  // namespace brigade::limits
