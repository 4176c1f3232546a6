#!/usr/bin/env bash
# Installs the real components the tests run against (docs/architecture.md, "Real
# components, not mocks"): BGP daemons as member routers, StayRTR, pmacct,
# bgpdump, promtool, headless Chromium. A no-op when everything is present.
#
# Installing must not leave any daemon running as a system service: one
# listening on *:179 would take the port from the route server under test.
# So service start-up is blocked with policy-rc.d during the install, and any
# new listener on port 179 that appears anyway is stopped afterwards.
set -euo pipefail

packages=(bird2 gobgpd frr frr-rpki-rtrlib exabgp openbgpd stayrtr pmacct bgpdump prometheus chromium chromium-driver systemd)
binaries=(bird birdc gobgpd gobgp vtysh /usr/lib/frr/bgpd bgpd_rpki.so exabgp bgpd bgpctl stayrtr rtrdump pmbmpd bgpdump promtool chromium chromedriver systemd-analyze)

# have finds a binary in PATH or in the sbin directories, which a non-root
# PATH often lacks although Debian installs bird, bgpd and exabgp there.
have() {
	case $1 in
	*.so) compgen -G "/usr/lib/*/frr/modules/$1" >/dev/null ;; # an FRR module (frr-rpki-rtrlib: bgpd -M rpki)
	/*) [[ -x $1 ]] ;;
	*) command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 || -x /sbin/$1 ]] ;;
	esac
}

missing=()
for b in "${binaries[@]}"; do
	have "$b" || missing+=("$b")
done
if ((${#missing[@]} == 0)); then
	echo "install-test-deps: all test dependencies present"
	exit 0
fi
echo "install-test-deps: missing: ${missing[*]}"

# Not root: re-run through sudo if there is one, else say what to do.
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo --preserve-env=DEBIAN_FRONTEND bash "$0" "$@"
	fi
	echo "install-test-deps: not root and no sudo; as root run:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends ${packages[*]}" >&2
	exit 1
fi

# listeners179 prints "pid name" for every process listening on TCP port 179.
listeners179() {
	ss -Hltnp 'sport = :179' 2>/dev/null |
		grep -o 'users:(([^)]*))' |
		grep -o '"[^"]*",pid=[0-9]*' |
		sed -E 's/"([^"]*)",pid=([0-9]+)/\2 \1/' |
		sort -u || true
}
before=$(listeners179)

# policy-rc.d exit code 101 tells invoke-rc.d (which the packages' maintainer
# scripts use) not to start services. Only remove it if it is ours.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\n# Written by ixrs scripts/install-test-deps.sh for the duration of an install.\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=yes
fi
cleanup() {
	if [[ -n $created_policy ]]; then
		rm -f "$policy"
	fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"

# Whatever started listening on port 179 during the install is a service
# the packages started despite policy-rc.d (e.g. systemd presets on a booted
# system): stop it, and keep it from starting at boot.
after=$(listeners179)
new=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d' || true)
if [[ -n $new ]]; then
	echo "install-test-deps: stopping services that the install left on port 179:"
	echo "$new"
	while read -r pid name; do
		unit=""
		case $name in
		bird) unit=bird ;;
		bgpd)
			# FRR's and OpenBGPD's daemons are both called bgpd.
			if [[ $(readlink -f "/proc/$pid/exe" 2>/dev/null) == /usr/lib/frr/* ]]; then
				unit=frr
			else
				unit=openbgpd
			fi
			;;
		gobgpd) unit=gobgpd ;;
		exabgp | python3*) unit=exabgp ;;
		esac
		if [[ -n $unit && -d /run/systemd/system ]] && systemctl stop "$unit" 2>/dev/null; then
			systemctl disable "$unit" 2>/dev/null || true
			continue
		fi
		# No systemd (containers): stop the daemon by the PID ss reported,
		# which is the process that holds the port.
		kill -TERM "$pid" 2>/dev/null || true
	done <<<"$new"
	sleep 2
	if [[ -n $(comm -13 <(echo "$before") <(listeners179) | sed '/^$/d') ]]; then
		echo "install-test-deps: something still listens on port 179:" >&2
		ss -ltnp 'sport = :179' >&2 || true
		exit 1
	fi
fi

still=()
for b in "${binaries[@]}"; do
	have "$b" || still+=("$b")
done
if ((${#still[@]} > 0)); then
	echo "install-test-deps: still missing after install: ${still[*]}" >&2
	exit 1
fi
echo "install-test-deps: done"
