#include "zerotune/runtime/stop_signal.hpp"

#include <csignal>

#include "zerotune/base/error.hpp"

namespace zerotune::runtime {

namespace {
// sig_atomic_t is what a handler may write. The handlers block each other (sa_mask), so the
// read-compare-write below is not interleaved by another stop signal.
volatile std::sig_atomic_t g_stop_signal = 0;

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGUSR1};  // by increasing precedence

extern "C" void on_stop_signal(int signal_number) {
  if (stop_precedence(signal_number) > stop_precedence(g_stop_signal))
    g_stop_signal = signal_number;
}
}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  for (const int s : kStopSignals) sigaddset(&action.sa_mask, s);
  action.sa_flags = SA_RESTART;
  for (const int s : kStopSignals) sigaction(s, &action, nullptr);
}

int stop_signal_received() { return g_stop_signal; }

int stop_precedence(int signal_number) {
  int precedence = 0;
  for (const int s : kStopSignals) {
    ++precedence;
    if (s == signal_number) return precedence;
  }
  return 0;
}

int stop_signal_of_precedence(int precedence) {
  constexpr int n = sizeof(kStopSignals) / sizeof(kStopSignals[0]);
  return precedence >= 1 && precedence <= n ? kStopSignals[precedence - 1] : 0;
}

int stop_exit_code(int signal_number) {
  if (signal_number == 0) return kExitOk;
  if (signal_number == SIGUSR1) return kExitRequeue;
  return kExitSignalBase + signal_number;
}

bool is_requeue_exit_code(int code) { return code == kExitRequeue; }

bool is_stopped_exit_code(int code) {
  return code == kExitRequeue || code == kExitSignalBase + SIGTERM ||
         code == kExitSignalBase + SIGINT;
}

const char* stop_signal_name(int signal_number) {
  switch (signal_number) {
    case SIGUSR1:
      return "SIGUSR1";
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case 0:
      return "none";
    default:
      return "signal";
  }
}

void request_stop(int signal_number) {
  if (signal_number == 0) {
    g_stop_signal = 0;
  } else {
    on_stop_signal(signal_number);
  }
}

}  // namespace zerotune::runtime
