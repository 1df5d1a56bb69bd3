#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the sweep's test
# (tests/sweep.rs): munge, slurmctld and slurmd as root, their state, logs
# and configuration in DIR, on ports of their own (so a cluster already
# running here is left alone).
#
#   scripts/slurm-cluster.sh start DIR   writes DIR/slurm.conf, starts the
#       daemons (munged too when it is not running), waits until the node
#       is idle; prints (alone on stdout) the configuration's path: use it
#       as SLURM_CONF=<path> for sbatch and sinfo
#   scripts/slurm-cluster.sh stop DIR    stops the daemons it started
#
# Needs Debian's slurmctld, slurmd, slurm-client and munge
# (scripts/install-tools.sh installs them) and root.
set -euo pipefail

command="${1:-}"
dir="${2:-}"
if [ -z "$command" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
dir="$(mkdir -p "$dir" && cd "$dir" && pwd)"
conf="$dir/slurm.conf"

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; do
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    fi
  done
}

if [ "$command" = stop ]; then
  stop
  exit 0
fi
if [ "$command" != start ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

for program in slurmctld slurmd munged sbatch sinfo; do
  if ! command -v "$program" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$program" ]; then
    echo "slurm-cluster: error: $program not found: run scripts/install-tools.sh (apt-get install slurmctld slurmd slurm-client munge)" >&2
    exit 1
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "slurm-cluster: error: the daemons run as root here; run as root" >&2
  exit 1
fi
export PATH="$PATH:/usr/sbin"

# munge: one daemon serves every cluster on the machine
if ! munge -n >/dev/null 2>&1; then
  [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; }
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- munged
  pgrep -n -x munged > "$dir/munged.pid"
  for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
fi

host="$(hostname)"
cpus="$(nproc)"
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
cat > "$conf" <<CONF
ClusterName=hwformer-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=4096 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$conf"
slurmd -f "$conf"
export SLURM_CONF="$conf"
for _ in $(seq 100); do
  if sinfo -h -o '%t' 2>/dev/null | grep -q idle; then
    echo "slurm-cluster: one node ($host, $cpus CPUs) idle; SLURM_CONF=$conf" >&2
    echo "$conf"
    exit 0
  fi
  sleep 0.2
done
echo "slurm-cluster: error: the node did not come up; logs in $dir/log" >&2
cat "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
stop
exit 1
