#include "server/push_sink.h"

namespace brigade {

void PushCounters::fill(rpc::PushCounters* out) const {
  out->set_accepted(accepted);
  out->set_late(late);
  out->set_dropped(dropped);
  out->set_mismatched(mismatched);
  out->set_sent(sent);
  out->set_send_failed(send_failed);
}

}  // namespace brigade
