#!/usr/bin/env bash
# A two-node SLURM cluster on this one machine, for the end-to-end tests:
# one munged, one slurmctld and two slurmd (`slurmd -N node1`, `slurmd -N node2`) that share
# one slurm.conf, both nodes at 127.0.0.1 on distinct ports. Runs as root; no cgroups, no
# systemd, nothing written outside the state directory.
#
#   tests/slurm/cluster.sh start    start it (a no-op when it is up); waits until both nodes are idle
#   tests/slurm/cluster.sh stop     cancel its jobs, stop the daemons, remove the state directory
#   tests/slurm/cluster.sh status   exit 0 and show `sinfo` when it is up, exit 3 when it is not
#   tests/slurm/cluster.sh env      print `export SLURM_CONF=...` for eval in a shell
#
# Client commands (sinfo, sbatch, srun, scontrol) find it through SLURM_CONF:
#   eval "$(tests/slurm/cluster.sh env)"
#
# Environment: ZT_SLURM_DIR     state directory (default /tmp/zerotune-slurm)
#              ZT_SLURM_PORT    slurmctld port; the nodes use the next two (default 16817)
#              ZT_SLURM_CPUS    CPUs per node (default 4: two 2-rank jobs at once)
set -euo pipefail

state=${ZT_SLURM_DIR:-/tmp/zerotune-slurm}
ctld_port=${ZT_SLURM_PORT:-16817}
cpus=${ZT_SLURM_CPUS:-4}
nodes=(node1 node2)
conf=$state/etc/slurm.conf
munge_socket=$state/munge/munge.socket
lock_file=${state}.lock

log() { echo "cluster: $*"; }
die() { echo "cluster: error: $*" >&2; exit 1; }

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

daemons_alive() {
  pid_alive "$state/run/munged.pid" && pid_alive "$state/run/slurmctld.pid" || return 1
  local n
  for n in "${nodes[@]}"; do pid_alive "$state/run/slurmd-$n.pid" || return 1; done
}

# nodes_up [STATES]: both nodes registered and in one of STATES (a regex; default: usable,
# i.e. idle or running jobs).
nodes_up() {
  local states=${1:-idle|alloc|mix|comp} out n
  out=$(SLURM_CONF=$conf sinfo -h -N -o '%N %t' 2>/dev/null) || return 1
  for n in "${nodes[@]}"; do
    grep -Eq "^$n ($states)\$" <<<"$out" || return 1
  done
}

write_config() {
  mkdir -p "$state"/{etc,munge,run,log,ctld} "${nodes[@]/#/$state/spool/}"
  chmod 755 "$state/munge"
  local host
  host=$(hostname -s)
  cat >"$conf" <<EOF
# Written by tests/slurm/cluster.sh: two slurmd on one machine, test use only.
ClusterName=zerotune-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits before it may start again (SLURM's
# default: 120 s); 10 s keeps the preempt-requeue test short.
AuthInfo=socket=$munge_socket,cred_expire=10
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool/%n
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd-%n.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
# Containers have no cgroup delegation: track processes by parent pid, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=2
MpiDefault=none
ReturnToService=2
JobRequeue=1
# Trust the node lines below over what slurmd finds (both nodes share this machine's CPUs).
SlurmdParameters=config_overrides
# Fast turnaround for tests: quick kill after SIGTERM, job records kept 10 minutes.
KillWait=5
MinJobAge=600
MessageTimeout=20
SlurmdTimeout=120
SlurmctldTimeout=120
InactiveLimit=0
MailProg=/bin/true
NodeName=node1 NodeAddr=127.0.0.1 NodeHostname=$host Port=$((ctld_port + 1)) CPUs=$cpus RealMemory=1000 State=UNKNOWN
NodeName=node2 NodeAddr=127.0.0.1 NodeHostname=$host Port=$((ctld_port + 2)) CPUs=$cpus RealMemory=1000 State=UNKNOWN
# Preemption as sites set it up, for the stop tests: a job in urgent (higher PriorityTier)
# preempts jobs in debug, which get SIGTERM and GraceTime seconds before SLURM requeues them.
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
PartitionName=debug Nodes=node1,node2 Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=20
PartitionName=urgent Nodes=node1,node2 Default=NO MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF
EOF
}

start_munge() {
  local key=$state/munge/munge.key
  if [[ ! -s $key ]]; then
    dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
    chmod 400 "$key"
  fi
  munged --force --socket="$munge_socket" --key-file="$key" --pid-file="$state/run/munged.pid" \
    --log-file="$state/log/munged.log" --seed-file="$state/munge/munged.seed" 8>&-
  munge -n -S "$munge_socket" | unmunge -S "$munge_socket" >/dev/null ||
    die "munged does not answer on $munge_socket (see $state/log/munged.log)"
}

start() {
  if daemons_alive && nodes_up; then
    log "already running (SLURM_CONF=$conf)"
    return 0
  fi
  if [[ -d $state ]]; then
    log "found a partial cluster in $state; stopping it first"
    stop
  fi
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    die "slurmctld/slurmd/munged not found: run tests/slurm/install-deps.sh"
  fi
  [[ $(id -u) -eq 0 ]] || die "the test cluster runs its daemons as root"
  write_config
  start_munge
  # The daemons must not inherit the lock's descriptor (fd 8), or they would hold the lock.
  slurmctld -c -f "$conf" 8>&-
  local n
  for n in "${nodes[@]}"; do
    slurmd -N "$n" -f "$conf" 8>&-
  done
  local waited=0
  until nodes_up idle; do
    if ((waited >= 60)); then
      SLURM_CONF=$conf sinfo -N 2>&1 || true
      tail -n 20 "$state"/log/*.log >&2 || true
      die "nodes not idle after 60 s (logs in $state/log)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "up after ${waited}s: SLURM_CONF=$conf"
  SLURM_CONF=$conf sinfo -N
}

# TERM the daemons named by the pid files, all at once; KILL what is left after 10 s.
stop_pid_files() {
  local file pids=() i
  for file in "$@"; do
    [[ -f $file ]] && pids+=("$(cat "$file")")
  done
  if ((${#pids[@]} > 0)); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "${pids[@]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  rm -f "$@"
}

# slurmstepd and job processes outlive slurmd. Ours: processes with files open in the state
# directory (slurmstepd), and job tasks (SLURM_JOB_ID set) of this cluster's SLURM_CONF.
leftover_pids() {
  local p
  for p in /proc/[0-9]*; do
    local pid=${p#/proc/}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    if { tr '\0' '\n' <"$p/environ" | awk -v c="SLURM_CONF=$conf" '
          $0 == c { conf = 1 } /^SLURM_JOB_ID=/ { job = 1 } END { exit !(conf && job) }'; } 2>/dev/null; then
      echo "$pid"
      continue
    fi
    local fd
    for fd in "$p"/fd/*; do
      if [[ $(readlink "$fd" 2>/dev/null) == "$state"/* ]]; then
        echo "$pid"
        break
      fi
    done
  done
}

stop() {
  if [[ ! -d $state ]]; then
    log "not running"
    return 0
  fi
  if pid_alive "$state/run/slurmctld.pid"; then
    SLURM_CONF=$conf scancel --quiet --user=root 2>/dev/null || true
    sleep 1
  fi
  local files=("$state/run/slurmctld.pid") n
  for n in "${nodes[@]}"; do files+=("$state/run/slurmd-$n.pid"); done
  stop_pid_files "${files[@]}"
  local pids
  pids=$(leftover_pids)
  if [[ -n $pids ]]; then
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
  fi
  stop_pid_files "$state/run/munged.pid"
  rm -rf "$state"
  log "stopped"
}

status() {
  if daemons_alive && nodes_up; then
    SLURM_CONF=$conf sinfo -N
    return 0
  fi
  log "not running"
  return 3
}

cmd=${1:-}
case $cmd in
  start | stop)
    # One start or stop at a time (tests may run in parallel under ctest -j).
    exec 8>"$lock_file"
    flock 8
    "$cmd"
    ;;
  status) status ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
