#pragma once
// Error kinds on the wire: a server answers each kind with its own gRPC
// status code, and a client reads the kind back from the code. Both ends use
// these two functions, so they cannot drift apart.
//   kInvalid     <-> INVALID_ARGUMENT
//   kRefused     <-> RESOURCE_EXHAUSTED
//   kUnavailable <-> UNAVAILABLE (and, read back, DEADLINE_EXCEEDED, CANCELLED)
//   kMisbehaved  <-> PERMISSION_DENIED

#include <grpcpp/grpcpp.h>

#include "util/error.h"

namespace brigade {

grpc::Status to_status(const Error& error);

// The kind of failure a peer's status means. REQUIRES: !status.ok().
ErrorKind kind_of(const grpc::Status& status);

}  // namespace brigade
