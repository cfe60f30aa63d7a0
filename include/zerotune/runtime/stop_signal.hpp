// Stop signals: each one only sets a flag; the trainer checks it at each step boundary,
// agrees with the other ranks, writes a checkpoint (when a step was done) and exits. What the
// signal asks for decides the exit code and whether the job script requeues:
//
//   SIGUSR1  checkpoint, exit 85 (kExitRequeue): requeue and continue. SLURM's warning before
//            the time limit (--signal=B:USR1@N), `scancel --signal=USR1 --batch`, and the job
//            scripts when SLURM preempts the job.
//   SIGTERM  checkpoint, exit 143 (128 + 15): stopped for good. `scancel JOBID` (SLURM sends
//            SIGTERM to the job's steps, SIGKILL KillWait seconds later), `kill`, mpiexec
//            forwarding its own SIGTERM.
//   SIGINT   checkpoint, exit 130 (128 + 2): stopped for good. Ctrl-C to mpiexec (hydra
//            forwards it to the ranks) or to `srun -X`.
//
// 128 + signal is the shell's code for "ended by that signal"; RUN_DIR/status tells a
// stop with a checkpoint from a kill. When several arrive, the one that asks for a requeue
// wins (SIGUSR1, then SIGTERM, then SIGINT): a preempted job's ranks see SLURM's SIGTERM and
// the job script's SIGUSR1, and the job must come back.
#pragma once

namespace zerotune::runtime {

// A run stopped for good by a signal after its checkpoint exits with this plus the signal.
inline constexpr int kExitSignalBase = 128;

void install_stop_signal_handlers();

// 0 if no stop was requested, else the signal of highest precedence that asked for one.
int stop_signal_received();

// Precedence of a stop signal (0 for none or an unknown signal, 3 for SIGUSR1), for agreeing
// on one stop across ranks with an all-reduce max; stop_signal_of_precedence inverts it.
int stop_precedence(int signal_number);
int stop_signal_of_precedence(int precedence);

// The exit code of a run stopped by `signal_number`: kExitRequeue for SIGUSR1, else 128 plus
// the signal number. 0 for no signal.
int stop_exit_code(int signal_number);
// Whether a run that exits with `code` asks to be requeued (85) or was stopped for good by
// a signal after its checkpoint (130, 143).
bool is_requeue_exit_code(int code);
bool is_stopped_exit_code(int code);

const char* stop_signal_name(int signal_number);

// For tests: pretend a signal arrived (with the same precedence rule); 0 clears the request.
void request_stop(int signal_number);

}  // namespace zerotune::runtime
