#!/bin/bash
# A real, minimal Slurm cluster on this machine, for the tests: one controller and one node on
# 127.0.0.1, authenticated by a private munged, everything (config, state, logs, sockets) in DIR.
#
#   scripts/local-slurm.sh start DIR   starts munged, slurmctld and slurmd; waits until the node is
#                                      idle; prints SLURM_CONF=DIR/slurm.conf. Exit 1 naming the
#                                      daemon and its last log line when one does not come up.
#   scripts/local-slurm.sh stop DIR    stops the three daemons by the pids in DIR.
#
# Needs Debian's slurm-wlm and munge (`make deps` installs them) and root (slurmd runs jobs as
# their user). Ports: 16000 + (pid mod 2000) and the next one, so parallel clusters do not clash.
set -uo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
dir=$(cd "$dir" && pwd) || exit 1

fail() { # daemon, log file
  echo "local-slurm: $1 did not start; last log line: $(tail -n 1 "$2" 2>/dev/null || echo '(no log)')" >&2
  exit 1
}

case "$cmd" in
start)
  for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || { echo "local-slurm: $tool not found: install slurm-wlm and munge (make deps)" >&2; exit 1; }
  done
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
  chmod 700 "$dir/munge"; chmod 711 "$dir"
  head -c 1024 /dev/urandom > "$dir/munge/munge.key"; chmod 400 "$dir/munge/munge.key"
  munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" \
         --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed" --force || fail munged "$dir/log/munged.log"
  port=$((16000 + ($$ % 2000) * 2))
  host=$(hostname)
  cat > "$dir/slurm.conf" <<CONF
ClusterName=workbench
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$SLURM_CONF" -i || fail slurmctld "$dir/log/slurmctld.log"
  slurmd -f "$SLURM_CONF" || fail slurmd "$dir/log/slurmd.log"
  for _ in $(seq 1 60); do
    state=$(sinfo -h -o %t 2>/dev/null | head -n 1)
    [ "$state" = "idle" ] && { echo "SLURM_CONF=$SLURM_CONF"; exit 0; }
    sleep 0.5
  done
  [ -s "$dir/slurmd.pid" ] && kill -0 "$(cat "$dir/slurmd.pid")" 2>/dev/null || fail slurmd "$dir/log/slurmd.log"
  fail "slurmctld (node state '${state:-none}', not idle)" "$dir/log/slurmctld.log"
  ;;
stop)
  status=0
  for name in slurmd slurmctld munged; do
    pidfile="$dir/$name.pid"
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null; echo "local-slurm: $name (pid $pid) needed SIGKILL" >&2; status=1; fi
  done
  exit $status
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
