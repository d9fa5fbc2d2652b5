#!/usr/bin/env bash
# Starts a single-node Slurm on this machine (munged, slurmctld, slurmd) for the scale-out tests,
# and waits until the node takes jobs. Idempotent: a cluster this script already started is left
# running and the script only checks it. Needs root (daemons run as root, as in CI containers).
#
#   scripts/slurm/start-local.sh [--install]     # --install: apt-get the packages when missing
#   scripts/slurm/start-local.sh --stop          # stops what it started
#
# Everything lives under $AGENTFORGE_SLURM_DIR (default /tmp/agentforge-slurm): its own
# slurm.conf, state, spool, logs and pid files. /etc/slurm is not touched, so a machine's real
# cluster configuration stays as it is; clients reach this cluster with SLURM_CONF=<dir>/slurm.conf
# (the last line of output says so). No cgroups (containers rarely allow them): processes are
# tracked by parentage (proctrack/linuxproc) and tasks are not confined (task/none).
set -euo pipefail

dir="${AGENTFORGE_SLURM_DIR:-/tmp/agentforge-slurm}"
conf="$dir/slurm.conf"
install=0
stop=0
for arg in "$@"; do
  case "$arg" in
    --install) install=1 ;;
    --stop) stop=1 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "start-local: $*" >&2; }

stop_pidfile() {
  local file="$1"
  if [ -s "$file" ]; then
    local pid
    pid="$(cat "$file")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$file"
  fi
}

if [ "$stop" = 1 ]; then
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/munged.pid"
  log "stopped"
  exit 0
fi

missing=()
for tool in munged slurmctld slurmd srun sinfo squeue scancel; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "not installed: ${missing[*]}; installing needs root"; exit 3
  fi
  if [ "$install" != 1 ]; then
    log "not installed: ${missing[*]} (run with --install, or: apt-get install slurmctld slurmd munge slurm-client)"; exit 4
  fi
  log "installing slurmctld slurmd munge slurm-client"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends slurmctld slurmd munge slurm-client >/dev/null
fi

node="$(hostname -s)"
export SLURM_CONF="$conf"

node_ready() {
  # idle, mixed or allocated: the node answers and takes jobs ("idle*" means not responding).
  local state
  state="$(sinfo -h -n "$node" -o '%t' 2>/dev/null | head -n1 || true)"
  case "$state" in
    idle|mix|alloc|comp) return 0 ;;
    *) return 1 ;;
  esac
}

# /proc rather than kill -0: a user other than root may check daemons root started.
running() { [ -s "$1" ] && [ -d "/proc/$(cat "$1")" ]; }

if running "$dir/slurmctld.pid" && running "$dir/slurmd.pid" && node_ready; then
  log "already running (node $node)"
  echo "SLURM_CONF=$conf"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  log "not running, and starting it needs root (the Slurm daemons run as root here)"; exit 3
fi

mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 755 "$dir"

# munge: the key comes with the package; create one if a previous cleanup removed it.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key 2>/dev/null || true
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge "$dir/munge"
chmod 755 /run/munge
if ! running "$dir/munged.pid" || ! munge -n </dev/null >/dev/null 2>&1; then
  stop_pidfile "$dir/munged.pid"
  # Daemons get no inherited stdout/stderr: a CI step waits for every holder of its pipe.
  runuser -u munge -- /usr/sbin/munged --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" </dev/null >/dev/null 2>&1
  for _ in $(seq 1 50); do [ -s "$dir/munge/munged.pid" ] && break; sleep 0.1; done
  cp "$dir/munge/munged.pid" "$dir/munged.pid"
fi
munge -n </dev/null | unmunge >/dev/null || { log "munge does not work; see $dir/munge/munged.log"; exit 5; }

# The node offers more CPUs than it has (config_overrides keeps slurmd from draining it for that)
# so that several worker slots, which mostly wait on a GPU or on stdin, run at once on a small machine.
cpus="$(nproc)"
slots=$(( cpus < 8 ? 8 : cpus ))
memory="$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)"
cat >"$conf" <<EOF
# Written by scripts/slurm/start-local.sh: a single-node cluster for tests.
ClusterName=agentforge
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
KillWait=5
InactiveLimit=0
MinJobAge=30
NodeName=$node CPUs=$slots RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

if ! running "$dir/slurmctld.pid"; then
  # -c: start clean (no jobs left from an earlier run of this script); -i: ignore state errors.
  /usr/sbin/slurmctld -c -i -f "$conf" </dev/null >>"$dir/slurmctld.out" 2>&1
fi
if ! running "$dir/slurmd.pid"; then
  /usr/sbin/slurmd -f "$conf" </dev/null >>"$dir/slurmd.out" 2>&1
fi

for _ in $(seq 1 120); do
  if node_ready; then
    log "node $node is up ($slots CPUs offered, $cpus real)"
    echo "SLURM_CONF=$conf"
    exit 0
  fi
  # A node left DOWN by an earlier run comes back once slurmd registers.
  scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true
  sleep 0.5
done
log "the node did not become idle in 60 s"
sinfo -N -l >&2 || true
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
exit 6
