#!/usr/bin/env bash
# Installs what the SLURM end-to-end tests need on a Debian 12 machine: Slurm (slurmctld,
# slurmd, client commands), MUNGE, Lmod, MPICH, and PyYAML for the Spack file checks.
# A no-op when everything is there.
# Run as root (CI runs it before the test suite); prints what it installs.
set -euo pipefail

packages=(slurm-wlm slurm-client munge lmod mpich libmpich-dev python3-yaml)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: slurm, munge, lmod, mpich already installed"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packages' init scripts would start a system slurmd/slurmctld/munged; the test cluster
# (tests/slurm/cluster.sh) runs its own daemons, so keep service starts out of the install.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  made_policy=1
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}"
if ((made_policy)); then
  rm -f "$policy"
fi
echo "install-deps: done"
