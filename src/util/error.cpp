#include "util/error.h"

namespace brigade {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalid:
      return "invalid";
    case ErrorKind::kRefused:
      return "refused";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kMisbehaved:
      return "misbehaved";
  }
  return "?";
}

}  // namespace brigade
