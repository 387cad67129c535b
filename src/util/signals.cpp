#include "util/signals.h"

#include <pthread.h>
#include <signal.h>

namespace brigade {
namespace {

sigset_t termination_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // A closed terminal stops a server as cleanly as SIGTERM does.
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void block_termination_signals() {
  const sigset_t set = termination_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_termination_signal() {
  const sigset_t set = termination_set();
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

}  // namespace brigade
