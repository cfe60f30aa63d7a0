// SIGUSR1 / SIGTERM (what SLURM sends before preemption or the time limit) only set a flag;
// the trainer checks it at each step boundary, agrees with the other ranks, checkpoints and
// exits with kExitRequeue.
#pragma once

namespace zerotune::runtime {

void install_stop_signal_handlers();
// 0 if no stop was requested, else the signal number that asked for it.
int stop_signal_received();
const char* stop_signal_name(int signal_number);
// For tests: pretend a signal arrived.
void request_stop(int signal_number);

}  // namespace zerotune::runtime
