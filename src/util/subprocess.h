#pragma once
// Child processes: the local swarm launcher, the benchmarks and the tests
// start real DHT nodes, servers and clients. A ChildProcess is stopped
// (SIGTERM, then SIGKILL) when it goes out of scope, so an error or a failing
// test assertion never leaves a server running; and every child gets SIGTERM
// when its parent dies, even by SIGKILL (PR_SET_PDEATHSIG: strictly, when the
// thread that started it ends, so start long-lived children from a thread
// that outlives them).

#include <chrono>
#include <string>
#include <vector>

namespace brigade {

class ChildProcess {
 public:
  // Starts `argv` with stdout and stderr redirected to `log_path`.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  bool running();
  // Sends `signal` and waits up to `timeout` for the exit; returns the exit
  // status (or -signal), or SIGKILLs and returns -9 on timeout.
  int stop(int signal = 15, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string log() const;

 private:
  int pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::string log_path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `argv` to completion (killed after `timeout`) and captures its output.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace brigade
