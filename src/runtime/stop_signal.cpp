#include "zerotune/runtime/stop_signal.hpp"

#include <csignal>

namespace zerotune::runtime {

namespace {
// sig_atomic_t is what a handler may write; lock-free int atomics are fine too.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int signal_number) { g_stop_signal = signal_number; }
}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stop_signal_received() { return g_stop_signal; }

const char* stop_signal_name(int signal_number) {
  switch (signal_number) {
    case SIGUSR1:
      return "SIGUSR1";
    case SIGTERM:
      return "SIGTERM";
    case 0:
      return "none";
    default:
      return "signal";
  }
}

void request_stop(int signal_number) { g_stop_signal = signal_number; }

}  // namespace zerotune::runtime
