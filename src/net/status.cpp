#include "net/status.h"

namespace brigade {

grpc::Status to_status(const Error& error) {
  switch (error.kind()) {
    case ErrorKind::kRefused:
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, error.what());
    case ErrorKind::kUnavailable:
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, error.what());
    case ErrorKind::kMisbehaved:
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, error.what());
    case ErrorKind::kInvalid:
      break;
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, error.what());
}

ErrorKind kind_of(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return ErrorKind::kRefused;
    case grpc::StatusCode::PERMISSION_DENIED:
      return ErrorKind::kMisbehaved;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return ErrorKind::kInvalid;
    default:
      // Unreachable, timed out, cancelled, or a code this version does not
      // send: the peer did not do the work, which is all a client can tell.
      return ErrorKind::kUnavailable;
  }
}

}  // namespace brigade
