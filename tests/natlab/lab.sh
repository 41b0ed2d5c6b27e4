#!/usr/bin/env bash
# lab.sh — a real NAT lab on one machine: Linux network namespaces, a bridge for the "internet",
# iptables NAT for the routers. docs/NAT.md ("How the lab is built") draws it and says how.
#
# As a command:
#   lab.sh up [--prefix P] [--no-check] [--turn] SPEC...
#                                                build a topology, self-check it, print its prefix;
#                                                --turn also starts coturn (see "coturn" below)
#   lab.sh down PREFIX                           tear one topology down (processes, namespaces)
#   lab.sh run [--no-check] SPEC... -- CMD...    build, run CMD with LAB_PREFIX exported, tear down
#   lab.sh exec PREFIX NODE CMD...               run CMD inside node NODE of topology PREFIX
#   lab.sh list                                  list the lab namespaces that exist
#   lab.sh cleanup [PREFIX]                      remove every namespace whose name starts with
#                                                PREFIX (default "nl-": every lab run), and the
#                                                processes inside them
#   lab.sh selftest                              build every NAT type once, self-check, tear down
#                                                (with coturn, when it is installed)
# As a library (source it): lab_require; lab_up SPEC...; lab_turn_up [OPTIONS]; lab_exec NODE
# CMD...; lab_spawn ...; lab_block_direct CLIENT CLIENT / lab_unblock_direct; lab_turn_restart;
# lab_flush_nat CLIENT; lab_nat_mapping CLIENT IP PORT; lab_move_lan_address CLIENT; lab_down runs
# by itself on exit.
#
# SPEC is NAME:TYPE[:loss=P][:udp-timeout=S][:delay=MS]; NAME is a client (a namespace you run
# programs in).
#   public           client directly on the public segment, no NAT
#   full-cone        MASQUERADE + PREROUTING DNAT of all WAN UDP to the client
#   port-restricted  plain MASQUERADE (endpoint-independent mapping, address+port filtering)
#   symmetric        MASQUERADE --random-fully (a new port for every new destination)
#   same-router      port-restricted; every same-router client shares one router (no hairpin)
#   double           behind a port-restricted home router behind a port-restricted carrier-grade
#                    NAT (cone behind cone)
#   loss=P           drop a fraction P of forwarded WAN traffic, each way, on the client's routers
#   udp-timeout=S    nf_conntrack_udp_timeout and _stream = S seconds on the client's routers
#   delay=MS         every packet the client's routers forward waits MS milliseconds, each way
#                    (so a round trip through one router gains 2*MS). The environment's
#                    NL_DELAY_MS=MS does the same for every router of the lab. No netem here: an
#                    iptables NFQUEUE rule (FORWARD, --queue-bypass) hands the packets to
#                    natlab_delay, run in the router's namespace, which accepts each MS after it
#                    came, in order; the program is $NATLAB_DELAY_PROGRAM (built as
#                    natlab/natlab_delay when libnetfilter-queue-dev is installed). After the
#                    self-check, each delayed client's round trip to the server is measured and
#                    must be 2*MS per router on its path (+ a little).
#
# Addresses: the public segment is 203.0.113.0/24 (documentation range); "the internet" (the
# bridge's namespace) is .1, the server host .10 (and .11, a second public host for probes),
# coturn's host .20 (node "turn", only after lab_turn_up), routers' WAN .21+, public clients .101+. LANs are 10.N.0.0/24 (router .1, clients .10+); a
# carrier-grade NAT's inside is 172.16.N.0/24. Private ranges exist only inside our namespaces,
# which have no link to the host: nothing we send can leave them.
#
# Every namespace is named PREFIX+node, PREFIX = ${NATLAB_PREFIX_BASE:-nl-}<pid>-, so parallel runs
# and leftovers never collide. Exit code 77 (LAB_SKIP) means "cannot run here" (not root, no
# namespaces, no iptables): CTest reports it as skipped.
#
# coturn (lab_turn_up, `up --turn`): Debian's turnserver on its own public host, node "turn" at
# 203.0.113.20, port 3478, TURN-REST credentials (use-auth-secret) with a random secret per run.
# The secret is in the file $LAB_TURN_SECRET_FILE (no newline), its state (config, pid, secret)
# in ${NATLAB_STATE_DIR:-/run/natlab}/PREFIXturn/, removed with the lab; the log goes to the file
# given with --log, else $NATLAB_LOGDIR/turnserver.log, else that state directory.

LAB_SKIP=77         # registered as CTest's SKIP_RETURN_CODE
LAB_BROKEN=3        # the lab itself misbehaved: not a netcore result
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_lab_python=python3
[[ -x /usr/bin/python3 ]] && _lab_python=/usr/bin/python3  # not a version-manager shim: 10x faster to start
LAB_PROBE=("${NATLAB_PYTHON:-$_lab_python}" "$LAB_DIR/natprobe.py")

LAB_NET=203.0.113
LAB_INTERNET_IP=$LAB_NET.1   # the bridge's own address: the default gateway of public hosts
LAB_SERVER_IP=$LAB_NET.10    # the rendezvous server host
LAB_SERVER_IP2=$LAB_NET.11   # a second address on the server host, "another host" for probes
LAB_TURN_IP=$LAB_NET.20      # coturn's host (lab_turn_up)
LAB_TURN_PORT=3478           # coturn's default listening port (RFC 8656's default for turn:)
LAB_TURN_REALM=netcore.lab

declare -g LAB_PREFIX=""
declare -ga LAB_NODES=()          # namespaces we created, in creation order
declare -gA LAB_IP=()             # node -> its own address (client: LAN address)
declare -gA LAB_TYPE=()           # client -> NAT type
declare -gA LAB_PUBLIC_IP=()      # client -> the address the internet sees it behind
declare -gA LAB_ROUTERS=()        # client -> routers on its path, nearest first
declare -gA LAB_UPSTREAM=()       # router -> node that is its WAN side's neighbour to probe from
declare -gA LAB_LAN_HOST=()       # router -> a node on its LAN side
declare -gA LAB_ROUTER_LOSS=()    # router -> loss probability
declare -gA LAB_ROUTER_TIMEOUT=() # router -> UDP conntrack timeout (s)
declare -gA LAB_ROUTER_DELAY=()   # router -> wire delay each way (ms; natlab_delay)
declare -ga LAB_ON_EXIT=()        # commands run before teardown
declare -g LAB_NETNS_DIR=/run/netns  # where `ip netns add` names its namespaces (iproute2's NETNS_RUN_DIR)
declare -g LAB_PUBPORTS=0 LAB_ROUTERS_MADE=0 LAB_PUBLIC_CLIENTS=0
declare -g LAB_TURN_DIR="" LAB_TURN_SECRET_FILE="" LAB_TURN_LOG="" # set by lab_turn_up
declare -g LAB_TURN_PID=""         # coturn's pid (lab_turn_up, lab_turn_restart)
declare -g LAB_BLOCK_BASELINE=0   # the block's drop count after its self-check (lab_block_direct)

lab_log() { [[ ${NATLAB_VERBOSE:-0} == 1 ]] && echo "natlab: $*" >&2; return 0; }
lab_say() { echo "natlab: $*" >&2; }
lab_skip() {
    if [[ ${NATLAB_REQUIRE:-0} == 1 ]]; then
        echo "natlab: FAIL: NATLAB_REQUIRE=1 but the lab cannot run here: $*" >&2
        exit 1
    fi
    echo "natlab: SKIPPED: $*" >&2
    exit "$LAB_SKIP"
}
lab_broken() { echo "natlab: LAB BROKEN (not a netcore result): $*" >&2; exit "$LAB_BROKEN"; }

# ---------------------------------------------------------------------------------------------
# Prerequisites

# Exits with LAB_SKIP when this machine cannot run the lab.
lab_require() {
    [[ $EUID -eq 0 ]] || lab_skip "needs root (network namespaces, iptables)"
    local tool
    for tool in ip iptables "${LAB_PROBE[0]}"; do
        command -v "$tool" >/dev/null || lab_skip "'$tool' not found (CI: apt-get install iproute2 iptables python3)"
    done
    local ns="${NATLAB_PREFIX_BASE:-nl-}$$-require"
    ip netns add "$ns" 2>/dev/null || lab_skip "cannot create network namespaces"
    if ! ip netns exec "$ns" iptables -t nat -A POSTROUTING -o lo -j MASQUERADE --random-fully 2>/dev/null ||
        ! ip netns exec "$ns" iptables -A FORWARD -m statistic --mode random --probability 0.5 -j DROP 2>/dev/null ||
        ! ip netns exec "$ns" iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT 2>/dev/null; then
        ip netns del "$ns"
        lab_skip "iptables in a namespace lacks nat/MASQUERADE --random-fully/statistic/conntrack"
    fi
    ip netns del "$ns"
}

# ---------------------------------------------------------------------------------------------
# Teardown

# Every lab namespace whose name starts with $1: read from the directory `ip netns` keeps them
# in, not from `ip netns list`, which also opens a netlink socket (for the namespaces' ids) and
# prints nothing when that fails, which would read as "no namespace" and leave a lab behind.
lab_namespaces() {
    local f
    for f in "$LAB_NETNS_DIR/$1"*; do
        [[ -e $f ]] && echo "${f##*/}"
    done
    return 0
}

# Kill what runs inside the namespaces (only those: by the ids `ip netns pids` reports), then
# delete them; their veths and bridges go with them.
lab_remove_prefix() {
    local prefix=$1 ns pids
    [[ -n $prefix ]] || return 0
    local spaces
    spaces=$(lab_namespaces "$prefix")
    [[ -n $spaces ]] || return 0
    for ns in $spaces; do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        # shellcheck disable=SC2086 # a list of pids
        [[ -n $pids ]] && kill -TERM $pids 2>/dev/null
    done
    for _ in $(seq 20); do
        pids=""
        for ns in $spaces; do pids+=$(ip netns pids "$ns" 2>/dev/null); done
        [[ -z $pids ]] && break
        sleep 0.1
    done
    for ns in $spaces; do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        # shellcheck disable=SC2086 # a list of pids
        [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
    done
    local err
    for ns in $spaces; do
        # `ip netns del` can fail while the kernel still finishes what was killed, or a
        # namespace's file was mounted twice (each try unmounts one): tried for up to 3 s, and
        # a namespace still there is said, with why, so a leftover explains itself.
        for _ in $(seq 30); do
            err=$(ip netns del "$ns" 2>&1) && { err=""; break; }
            [[ -e $LAB_NETNS_DIR/$ns ]] || { err=""; break; }
            sleep 0.1
        done
        [[ -n $err ]] && lab_say "could not remove namespace $ns: $err"
        # coturn's state directory is named after its namespace (PREFIXturn): config, secret, pid.
        [[ -d ${NATLAB_STATE_DIR:-/run/natlab}/$ns ]] && rm -rf "${NATLAB_STATE_DIR:-/run/natlab}/$ns"
    done
    return 0
}

lab_down() {
    local cmd
    for cmd in "${LAB_ON_EXIT[@]}"; do eval "$cmd" || true; done
    LAB_ON_EXIT=()
    lab_remove_prefix "$LAB_PREFIX"
    local left
    left=$(lab_namespaces "$LAB_PREFIX")
    [[ -z $left ]] || lab_say "teardown left namespaces: $(tr '\n' ' ' <<<"$left")"
}

# Run a command (a string, eval'd) before the namespaces go, e.g. to save logs.
lab_on_exit() { LAB_ON_EXIT+=("$1"); }

_lab_trap() {
    local rc=$?
    trap - EXIT INT TERM
    lab_down
    exit "$rc"
}

# ---------------------------------------------------------------------------------------------
# Building

lab_ns() { echo "$LAB_PREFIX$1"; }

_lab_node() {
    local node=$1 ns
    ns=$(lab_ns "$node")
    ip netns add "$ns" || lab_broken "cannot add namespace $ns"
    LAB_NODES+=("$node")
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6;
        echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null
    # Bridges here are plain L2: keep the host's br_netfilter (if loaded) out of them.
    # shellcheck disable=SC2016 # expanded by the inner sh
    ip netns exec "$ns" sh -c 'f=/proc/sys/net/bridge/bridge-nf-call-iptables; [ -e $f ] && echo 0 > $f' 2>/dev/null
    return 0
}

# _lab_link NODE_A IF_A NODE_B IF_B: a veth pair between two nodes.
_lab_link() {
    ip -n "$(lab_ns "$1")" link add "$2" type veth peer name "$4" netns "$(lab_ns "$3")" ||
        lab_broken "cannot link $1:$2 to $3:$4"
}

# _lab_attach_public NODE IFNAME IP: plug NODE into the public bridge.
_lab_attach_public() {
    local node=$1 ifname=$2 ip=$3 port ns pub
    port="p$((++LAB_PUBPORTS))"
    ns=$(lab_ns "$node")
    pub=$(lab_ns pub)
    _lab_link "$node" "$ifname" pub "$port"
    ip -n "$pub" link set "$port" master br0 up
    ip -n "$ns" addr add "$ip/24" dev "$ifname"
    ip -n "$ns" link set "$ifname" up
    ip -n "$ns" route add default via "$LAB_INTERNET_IP"
    LAB_IP[$node]=$ip
    LAB_UPSTREAM[$node]=srv
}

_lab_make_internet() {
    _lab_node pub
    local pub
    pub=$(lab_ns pub)
    ip -n "$pub" link add br0 type bridge
    # The bridge's namespace stands for the rest of the internet: it answers nothing and, with
    # forwarding off, silently drops what is sent to addresses nobody here owns (private ones).
    ip -n "$pub" addr add "$LAB_INTERNET_IP/24" dev br0
    ip -n "$pub" link set br0 up
    _lab_node srv
    _lab_attach_public srv eth0 "$LAB_SERVER_IP"
    ip -n "$(lab_ns srv)" addr add "$LAB_SERVER_IP2/24" dev eth0
}

# _lab_router NAME KIND LAN_CIDR_BASE: a router namespace with a LAN bridge; its WAN is attached
# by the caller. KIND is port-restricted, full-cone or symmetric (full-cone's DNAT is added when
# its client is known).
_lab_router() {
    local name=$1 kind=$2 lan=$3 ns
    _lab_node "$name"
    ns=$(lab_ns "$name")
    ip -n "$ns" link add lan type bridge
    ip -n "$ns" addr add "$lan.1/24" dev lan
    ip -n "$ns" link set lan up
    ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
    # What a home router does: nothing from the WAN reaches the router itself unless it answers
    # something the router sent. Without this, an early probe that reaches the far router makes a
    # conntrack entry there, and that router then picks another port for its own client:
    # punching would fail for a reason no real router has.
    ip netns exec "$ns" iptables -A INPUT -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    ip netns exec "$ns" iptables -A INPUT -i wan -j DROP
    case $kind in
        symmetric) ip netns exec "$ns" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE --random-fully ;;
        *) ip netns exec "$ns" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE ;;
    esac
    LAB_IP["$name.lan"]=$lan.1
    LAB_IP["$name.clients"]=0
}

# _lab_plug_lan ROUTER NODE: put NODE (client or inner router) on ROUTER's LAN; prints nothing,
# sets LAB_IP[NODE] when NODE is a client.
_lab_plug_lan() {
    local router=$1 node=$2 ifname=$3 rns ns n lan ip
    rns=$(lab_ns "$router")
    ns=$(lab_ns "$node")
    n=$((LAB_IP["$router.clients"] + 1))
    LAB_IP["$router.clients"]=$n
    lan=${LAB_IP["$router.lan"]%.1}
    ip=$lan.$((9 + n))
    _lab_link "$node" "$ifname" "$router" "l$n"
    ip -n "$rns" link set "l$n" master lan up
    ip -n "$ns" addr add "$ip/24" dev "$ifname"
    ip -n "$ns" link set "$ifname" up
    ip -n "$ns" route add default via "$lan.1"
    LAB_IP[$node]=$ip
    [[ -n ${LAB_LAN_HOST[$router]:-} ]] || LAB_LAN_HOST[$router]=$node
}


lab_add_client() {
    local spec=$1 name type opt loss="" timeout="" delay=${NL_DELAY_MS:-} router idx cgn home r
    IFS=: read -r name type opt <<<"$spec"
    [[ $name =~ ^[a-z][a-z0-9]{0,11}$ ]] || lab_broken "bad client name '$name' (lowercase, 1-12 chars)"
    case $name in pub | srv | turn) lab_broken "'$name' is reserved" ;; esac
    [[ -z ${LAB_TYPE[$name]:-} ]] || lab_broken "client '$name' given twice"
    local -a opts=()
    [[ -n $opt ]] && IFS=: read -ra opts <<<"$opt"
    for opt in "${opts[@]}"; do
        case $opt in
            loss=*) loss=${opt#loss=} ;;
            udp-timeout=*) timeout=${opt#udp-timeout=} ;;
            delay=*) delay=${opt#delay=} ;;
            *) lab_broken "unknown option '$opt' in '$spec'" ;;
        esac
    done
    [[ -z $delay || $delay =~ ^[0-9]+$ ]] || lab_broken "delay '$delay' is not a whole number of milliseconds"
    LAB_TYPE[$name]=$type
    case $type in
        public)
            _lab_node "$name"
            _lab_attach_public "$name" eth0 "$LAB_NET.$((100 + ++LAB_PUBLIC_CLIENTS))"
            LAB_PUBLIC_IP[$name]=${LAB_IP[$name]}
            LAB_ROUTERS[$name]=""
            ;;
        full-cone | port-restricted | symmetric | same-router)
            router="$name-r"
            [[ $type == same-router ]] && router="same-r"
            if [[ -z ${LAB_IP["$router.lan"]:-} ]]; then
                idx=$((++LAB_ROUTERS_MADE))
                local kind=$type
                [[ $type == same-router ]] && kind="port-restricted"
                _lab_router "$router" "$kind" "10.$idx.0"
                _lab_attach_public "$router" wan "$LAB_NET.$((20 + idx))"
            fi
            _lab_node "$name"
            _lab_plug_lan "$router" "$name" eth0
            if [[ $type == full-cone ]]; then
                ip netns exec "$(lab_ns "$router")" iptables -t nat -A PREROUTING -i wan -p udp \
                    -j DNAT --to-destination "${LAB_IP[$name]}"
            fi
            LAB_PUBLIC_IP[$name]=${LAB_IP[$router]}
            LAB_ROUTERS[$name]=$router
            ;;
        double)
            cgn="$name-cgn"
            home="$name-home"
            idx=$((++LAB_ROUTERS_MADE))
            _lab_router "$cgn" port-restricted "172.16.$idx"
            _lab_attach_public "$cgn" wan "$LAB_NET.$((20 + idx))"
            idx=$((++LAB_ROUTERS_MADE))
            _lab_router "$home" port-restricted "10.$idx.0"
            _lab_plug_lan "$cgn" "$home" wan
            LAB_UPSTREAM[$home]=$cgn
            _lab_node "$name"
            _lab_plug_lan "$home" "$name" eth0
            LAB_PUBLIC_IP[$name]=${LAB_IP[$cgn]}
            LAB_ROUTERS[$name]="$home $cgn"
            ;;
        *) lab_broken "unknown NAT type '$type' in '$spec'" ;;
    esac
    for r in ${LAB_ROUTERS[$name]}; do
        [[ -n $loss ]] && LAB_ROUTER_LOSS[$r]=$loss
        [[ -n $timeout ]] && LAB_ROUTER_TIMEOUT[$r]=$timeout
        [[ -n $delay && $delay != 0 ]] && LAB_ROUTER_DELAY[$r]=$delay
    done
    return 0
}

# _lab_delay ROUTER MS: natlab_delay in ROUTER's namespace, then the rule that queues to it
# everything the router forwards, both ways (--queue-bypass: were the program gone, traffic would
# pass undelayed rather than stop). Its output lies in the state directory named after the
# router's namespace, which goes with the lab; the program goes with the namespace.
_lab_delay() {
    local r=$1 ms=$2 ns dir pid prog=${NATLAB_DELAY_PROGRAM:-}
    [[ -n $prog && -x $prog ]] ||
        lab_skip "a wire delay needs natlab_delay (NATLAB_DELAY_PROGRAM='$prog'; build it with libnetfilter-queue-dev installed: scripts/setup.sh --with-lab)"
    ns=$(lab_ns "$r")
    dir=${NATLAB_STATE_DIR:-/run/natlab}/$ns
    mkdir -p "$dir" || lab_broken "cannot create $dir"
    lab_spawn pid "$r" "$dir/delay.out" "$dir/delay.err" "$prog" --queue 0 --delay-ms "$ms"
    lab_wait_for "$dir/delay.out" '^ready' 10 ||
        lab_skip "natlab_delay cannot bind an NFQUEUE in a namespace here: $(cat "$dir/delay.err")"
    ip netns exec "$ns" iptables -A FORWARD -j NFQUEUE --queue-num 0 --queue-bypass ||
        lab_skip "iptables in a namespace lacks the NFQUEUE target (--queue-bypass)"
    lab_log "$r: wire delay ${ms} ms each way (natlab_delay pid $pid)"
}

# Loss, timeouts and delays go on after the self-check, so that the check sees the NAT type
# alone. The loss rules come first in FORWARD: a dropped packet is not delayed.
_lab_apply_options() {
    local r ns p t
    for r in "${!LAB_ROUTER_DELAY[@]}"; do _lab_delay "$r" "${LAB_ROUTER_DELAY[$r]}"; done
    for r in "${!LAB_ROUTER_LOSS[@]}"; do
        ns=$(lab_ns "$r")
        p=${LAB_ROUTER_LOSS[$r]}
        ip netns exec "$ns" iptables -I FORWARD 1 -i wan -m statistic --mode random --probability "$p" -j DROP
        ip netns exec "$ns" iptables -I FORWARD 1 -o wan -m statistic --mode random --probability "$p" -j DROP
    done
    for r in "${!LAB_ROUTER_TIMEOUT[@]}"; do
        ns=$(lab_ns "$r")
        t=${LAB_ROUTER_TIMEOUT[$r]}
        ip netns exec "$ns" sysctl -qw net.netfilter.nf_conntrack_udp_timeout="$t" \
            net.netfilter.nf_conntrack_udp_timeout_stream="$t" || lab_broken "cannot set UDP timeout on $r"
    done
}

# lab_up SPEC...: build the topology (internet, server host, clients with their routers), check
# every NAT type with natprobe, then apply loss and timeouts. Tears down on exit (trap), also
# after a failure half way.
lab_up() {
    local check=1
    if [[ ${1:-} == --no-check ]]; then check=0; shift; fi
    [[ -n $LAB_PREFIX ]] || LAB_PREFIX="${NATLAB_PREFIX_BASE:-nl-}$$-"
    if [[ -n $(lab_namespaces "$LAB_PREFIX") ]]; then
        lab_say "removing leftovers of an earlier run with prefix $LAB_PREFIX"
        lab_remove_prefix "$LAB_PREFIX"
    fi
    if [[ ${LAB_KEEP:-0} != 1 ]]; then
        trap _lab_trap EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
    fi
    _lab_make_internet
    local spec
    for spec in "$@"; do lab_add_client "$spec"; done
    [[ $check == 1 ]] && lab_check
    _lab_apply_options
    [[ $check == 1 ]] && lab_check_options
    lab_log "up: prefix $LAB_PREFIX, nodes ${LAB_NODES[*]}"
}

# ---------------------------------------------------------------------------------------------
# Running things inside

# lab_exec NODE CMD...: run CMD inside NODE's namespace.
lab_exec() {
    local node=$1
    shift
    ip netns exec "$(lab_ns "$node")" "$@"
}

# lab_spawn VAR NODE OUT ERR CMD...: start CMD in the background inside NODE (stdout to OUT,
# stderr to ERR); its pid goes into VAR. `ip netns exec` execs CMD, so the pid is CMD's own.
# CMD inherits no descriptor of ours but those three: a coturn restarted mid-session must not
# hold a punch's stdin FIFO open, or that punch never sees its input end.
lab_spawn() {
    local -n _pid=$1
    local node=$2 out=$3 err=$4
    shift 4
    (
        _lab_close_inherited
        exec ip netns exec "$(lab_ns "$node")" "$@" >"$out" 2>"$err" </dev/null
    ) &
    _pid=$!
}

# _lab_close_inherited: close every descriptor above 2 of this (sub)shell.
_lab_close_inherited() {
    local f n
    for f in /proc/"$BASHPID"/fd/*; do
        n=${f##*/}
        ((n > 2)) && eval "exec $n>&-" 2>/dev/null
    done
    return 0
}

# lab_wait_for FILE REGEX SECONDS: wait until a line of FILE matches REGEX (grep -E).
lab_wait_for() {
    local file=$1 re=$2 limit=$3 end
    end=$((SECONDS + ${limit%.*} + 1))
    while ((SECONDS < end)); do
        grep -Eq -- "$re" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    grep -Eq -- "$re" "$file" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# coturn: a real TURN server (RFC 8656) on its own public host

# lab_turn_up [--stale-nonce S] [--log FILE] [--option LINE]...: start Debian's turnserver on a new
# public host "turn" ($LAB_TURN_IP:$LAB_TURN_PORT) with TURN-REST credentials (coturn's
# use-auth-secret: username "expiry:user", password base64(HMAC-SHA1(secret, username))) under a
# secret made for this run, in $LAB_TURN_SECRET_FILE. Waits until it answers STUN. Lifetimes are
# coturn's defaults: allocation 600 s, permission 300 s, channel 600 s, nonce 600 s (--stale-nonce
# S shortens the last). --option adds a turnserver.conf line (e.g. "max-bps=1000000").
# shellcheck disable=SC2120 # options are optional; the command line passes none
lab_turn_up() {
    local stale="" log="" opt
    local -a extra=()
    while [[ $# -gt 0 ]]; do
        case $1 in
            --stale-nonce) stale=$2; shift 2 ;;
            --log) log=$2; shift 2 ;;
            --option) extra+=("$2"); shift 2 ;;
            *) lab_broken "lab_turn_up: unknown option '$1'" ;;
        esac
    done
    local tool
    for tool in turnserver turnutils_stunclient; do
        command -v "$tool" >/dev/null ||
            lab_skip "'$tool' not found (CI: apt-get install coturn, or scripts/setup.sh --with-lab)"
    done
    [[ -z ${LAB_TURN_DIR:-} ]] || lab_broken "lab_turn_up: coturn already runs in this lab"
    _lab_node turn
    _lab_attach_public turn eth0 "$LAB_TURN_IP"
    unset 'LAB_UPSTREAM[turn]' # a host, not a router: the routers' INPUT-drop check is not for it

    LAB_TURN_DIR="${NATLAB_STATE_DIR:-/run/natlab}/$(lab_ns turn)"
    rm -rf "$LAB_TURN_DIR"
    mkdir -p "$(dirname "$LAB_TURN_DIR")"
    mkdir -m 700 "$LAB_TURN_DIR" || lab_broken "cannot make $LAB_TURN_DIR"
    LAB_TURN_SECRET_FILE=$LAB_TURN_DIR/secret
    (umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$LAB_TURN_SECRET_FILE")
    [[ -s $LAB_TURN_SECRET_FILE ]] || lab_broken "cannot write the TURN secret"
    [[ -n $log ]] || log=${NATLAB_LOGDIR:+$NATLAB_LOGDIR/turnserver.log}
    LAB_TURN_LOG=${log:-$LAB_TURN_DIR/turnserver.log}
    mkdir -p "$(dirname "$LAB_TURN_LOG")"
    : >"$LAB_TURN_LOG"

    # Our own config file (-c), so that /etc/turnserver.conf (Debian's sends the log to syslog)
    # plays no part, and the secret stays out of `ps`. Nothing is written outside $LAB_TURN_DIR
    # and the log: the pid file and the SQLite user database (coturn opens one even with a static
    # secret; by default /var/lib/turn/turndb) are ours too.
    {
        echo "# natlab: coturn for lab $LAB_PREFIX (tests/natlab/lab.sh lab_turn_up)"
        echo "listening-ip=$LAB_TURN_IP"
        echo "relay-ip=$LAB_TURN_IP"
        echo "listening-port=$LAB_TURN_PORT"
        # Relayed transport addresses: one port per allocation (RFC 8656 §7.2).
        echo "min-port=49152"
        echo "max-port=49999"
        echo "use-auth-secret"
        echo "static-auth-secret=$(cat "$LAB_TURN_SECRET_FILE")"
        echo "realm=$LAB_TURN_REALM"
        echo "no-cli"
        echo "no-tls"
        echo "no-dtls"
        # coturn 4.6.1 denies only loopback peers by default (and multicast with
        # no-multicast-peers), so 203.0.113.0/24 is relayed as it is. Operators often deny the
        # private and documentation ranges, this one among them; here the lab says what it relays
        # to: its public segment and nothing else, so that a client asking for a peer's LAN
        # address gets a 403, as from a hardened coturn (allowed wins over denied).
        echo "denied-peer-ip=0.0.0.0-255.255.255.255"
        echo "allowed-peer-ip=$LAB_NET.0-$LAB_NET.255"
        [[ -n $stale ]] && echo "stale-nonce=$stale"
        # One line per session event: allocation, refresh, permission, channel bind, 4xx answer.
        echo "verbose"
        echo "log-file=$LAB_TURN_LOG"
        echo "simple-log"
        echo "no-stdout-log"
        echo "pidfile=$LAB_TURN_DIR/turnserver.pid"
        echo "userdb=$LAB_TURN_DIR/turndb"
        for opt in "${extra[@]}"; do echo "$opt"; done
    } >"$LAB_TURN_DIR/turnserver.conf"
    chmod 600 "$LAB_TURN_DIR/turnserver.conf"

    _lab_turn_start
    lab_log "coturn up at $LAB_TURN_IP:$LAB_TURN_PORT (secret in $LAB_TURN_SECRET_FILE, log $LAB_TURN_LOG)"
}

# _lab_turn_start: run turnserver with the config lab_turn_up wrote (its pid in LAB_TURN_PID);
# returns once it answers a STUN Binding from the server host.
_lab_turn_start() {
    local pid end ready=0
    # stdout/stderr hold only what coturn prints before its log is open (e.g. "socket: Protocol
    # not supported" when it tries SCTP, which this kernel lacks).
    lab_spawn pid turn "$LAB_TURN_DIR/turnserver.out" "$LAB_TURN_DIR/turnserver.out" \
        turnserver -c "$LAB_TURN_DIR/turnserver.conf"
    LAB_TURN_PID=$pid
    end=$((SECONDS + 15))
    while ((SECONDS < end)); do
        kill -0 "$pid" 2>/dev/null || break
        # A short bound per try (coturn listens ~0.7 s after its start): a Binding sent before
        # it listens waits for an answer that never comes.
        if lab_exec srv timeout 0.5 turnutils_stunclient -p "$LAB_TURN_PORT" "$LAB_TURN_IP" 2>&1 |
            grep -q "UDP reflexive addr: *$LAB_SERVER_IP:"; then
            ready=1
            break
        fi
        sleep 0.1
    done
    if ((!ready)); then
        cat "$LAB_TURN_DIR/turnserver.out" >&2
        tail -n 20 "$LAB_TURN_LOG" >&2
        lab_broken "coturn did not start on $LAB_TURN_IP:$LAB_TURN_PORT"
    fi
}

# lab_turn_restart: stop coturn (SIGTERM to the pid lab_turn_up started, SIGKILL after 5 s) and
# start it again with the same config: the same address, port and secret, and no allocation,
# permission or channel of before. Its log goes on in the same file (coturn appends).
lab_turn_restart() {
    local pid=${LAB_TURN_PID:-} tries
    [[ -n $pid ]] || lab_broken "lab_turn_restart: coturn was not started by this lab (lab_turn_up)"
    kill -TERM "$pid" 2>/dev/null || lab_broken "lab_turn_restart: coturn (pid $pid) is not running"
    for ((tries = 0; tries < 50; tries++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    _lab_turn_start
    lab_log "coturn restarted at $LAB_TURN_IP:$LAB_TURN_PORT (pid $pid, now $LAB_TURN_PID)"
}

# lab_turn_uclient NODE OUTFILE ARGS...: coturn's turnutils_uclient in NODE against the lab's
# coturn, with TURN-REST credentials from the secret (-W) for user NODE; its output goes to
# OUTFILE. Prints "SENT RECEIVED LOST" from its closing lines ("start_mclient:
# tot_send_msgs=N, tot_recv_msgs=M" and "Total lost packets K (...)"), "-" for each it did not
# print (e.g. the allocation failed).
lab_turn_uclient() {
    local node=$1 file=$2 sent recv lost
    shift 2
    lab_exec "$node" timeout 60 turnutils_uclient -W "$(cat "$LAB_TURN_SECRET_FILE")" -u "$node" \
        -p "$LAB_TURN_PORT" "$@" "$LAB_TURN_IP" >"$file" 2>&1
    sent=$(sed -n 's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=[0-9]*$/\1/p' "$file" | tail -n1)
    recv=$(sed -n 's/.*start_mclient: tot_send_msgs=[0-9]*, tot_recv_msgs=\([0-9]*\)$/\1/p' "$file" | tail -n1)
    lost=$(sed -n 's/.*Total lost packets \([0-9]*\) .*/\1/p' "$file" | tail -n1)
    echo "${sent:--} ${recv:--} ${lost:--}"
}

# lab_turn_check: coturn relays between public hosts with credentials from the secret: a
# turnutils_uclient on the server host allocates, and a turnutils_peer on the server's second
# address echoes 20 datagrams (and 20 on the RTCP-style second port) back through the relay.
lab_turn_check() {
    local tmp pid out sent recv lost
    if ! command -v turnutils_uclient >/dev/null || ! command -v turnutils_peer >/dev/null; then
        lab_skip "turnutils_uclient/turnutils_peer not found (CI: apt-get install coturn)"
    fi
    tmp=$(mktemp -d)
    lab_spawn pid srv "$tmp/peer.out" "$tmp/peer.out" timeout 60 turnutils_peer -L "$LAB_SERVER_IP2" -p 3480
    sleep 0.2
    out=$(lab_turn_uclient srv "$tmp/uclient.out" -n 20 -z 5 -e "$LAB_SERVER_IP2" -r 3480)
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    read -r sent recv lost <<<"$out"
    lab_log "check coturn: turnutils_uclient sent $sent, received $recv back through the relay, lost $lost"
    if [[ $sent != 40 || $recv != 40 || $lost != 0 ]]; then
        cat "$tmp/uclient.out" >&2
        tail -n 30 "$LAB_TURN_LOG" >&2
        rm -rf "$tmp"
        lab_broken "coturn did not relay 40 datagrams to a public peer and back: sent $sent, received $recv, lost $lost"
    fi
    rm -rf "$tmp"
}

# ---------------------------------------------------------------------------------------------
# The internet's filter: cut the path between public addresses

# lab_block NAME IP_A IP_B [IP_A IP_B]...: "the internet" drops everything between each pair of
# public addresses, both ways, until lab_unblock NAME. nftables' bridge family in the bridge's
# namespace (table "natlab_NAME"): traffic between public hosts crosses br0 at layer 2, where
# iptables never sees it (the lab keeps br_netfilter out, see _lab_node). Each rule counts.
lab_block() {
    local name=$1 rules="" a b
    shift
    command -v nft >/dev/null || lab_skip "'nft' not found (CI: apt-get install nftables)"
    while [[ $# -ge 2 ]]; do
        a=$1 b=$2
        shift 2
        [[ $a != "$b" ]] || lab_broken "lab_block $name: both ends are $a"
        rules+="        ip saddr $a ip daddr $b counter drop"$'\n'
        rules+="        ip saddr $b ip daddr $a counter drop"$'\n'
    done
    lab_exec pub nft -f - <<EOF || lab_broken "cannot add the nftables block '$name' to the internet"
table bridge natlab_$name {
    chain forward {
        type filter hook forward priority 0; policy accept;
$rules    }
}
EOF
    lab_log "block $name: $(tr '\n' ';' <<<"$rules" | tr -s ' ')"
}

# lab_blocked_count NAME: datagrams block NAME has dropped so far (all its rules).
lab_blocked_count() {
    lab_exec pub nft list table bridge "natlab_$1" 2>/dev/null |
        sed -n 's/.* packets \([0-9]*\) bytes.*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

lab_unblock() {
    lab_exec pub nft delete table bridge "natlab_$1" || lab_broken "cannot remove the nftables block '$1'"
    lab_log "unblocked $1"
}

# lab_block_direct CLIENT_A CLIENT_B: block "direct" between the two clients' public addresses
# (their routers' WAN); the rendezvous and coturn stay reachable. Checks itself: three datagrams
# from A to B's public address must hit it. LAB_BLOCK_BASELINE is its count after that.
lab_block_direct() {
    local a=${LAB_PUBLIC_IP[$1]} b=${LAB_PUBLIC_IP[$2]} before after
    lab_block direct "$a" "$b"
    before=$(lab_blocked_count direct)
    lab_exec "$1" "${LAB_PROBE[@]}" send --to "$b:40997" --message blocked --count 3
    after=$(lab_blocked_count direct)
    _lab_expect "the block between $a and $b did not see $1's datagrams (counted $before, then $after)" \
        test "$after" -ge $((before + 3))
    # shellcheck disable=SC2034 # for the scenarios that source us
    LAB_BLOCK_BASELINE=$after
}

lab_unblock_direct() { lab_unblock direct; }

# ---------------------------------------------------------------------------------------------
# A player's network changes under it (issue 13's "paths that break mid-session")

# lab_need_conntrack: skips (LAB_SKIP) without the conntrack tool. Call it in the scenario's
# own shell first: a skip inside $(...) would only end the substitution.
lab_need_conntrack() {
    command -v conntrack >/dev/null ||
        lab_skip "'conntrack' not found (CI: apt-get install conntrack, or scripts/setup.sh --with-lab)"
}

# lab_nat_mapping CLIENT DST_IP DST_PORT: the public address (IP:PORT) CLIENT's router maps
# CLIENT's UDP flow to DST_IP:DST_PORT onto, read from the reply side of the router's conntrack
# entry; empty when it has none. For clients behind one router (not public, not double).
lab_nat_mapping() {
    local client=$1 dst=$2 dport=$3 router
    lab_need_conntrack
    router=${LAB_ROUTERS[$client]%% *}
    [[ -n $router ]] || lab_broken "lab_nat_mapping: $client has no router"
    # Greedy: the last "src= dst= sport= dport=" group is the reply tuple, whose destination is
    # the router's public side of the flow.
    lab_exec "$router" conntrack -L -p udp -s "${LAB_IP[$client]}" -d "$dst" --dport "$dport" 2>/dev/null |
        sed -n 's/.* src=[^ ]* dst=\([0-9.]*\) sport=[0-9]* dport=\([0-9]*\) .*/\1:\2/p' | head -n1
}

# lab_flush_nat CLIENT: every router of CLIENT forgets all its NAT mappings (conntrack -F), as a
# router that reboots or rebinds does: the client's next datagram to anyone gets a new mapping
# (for a symmetric NAT, a new random port). Checks itself: the flush must have deleted entries.
lab_flush_nat() {
    local client=$1 r out n
    lab_need_conntrack
    for r in ${LAB_ROUTERS[$client]}; do
        n=$(lab_exec "$r" conntrack -C 2>/dev/null)
        out=$(lab_exec "$r" conntrack -F 2>&1)
        _lab_expect "conntrack -F on $r: '$out'" grep -q "table has been emptied" <<<"$out"
        _lab_expect "conntrack -F on $r: it held no mapping to forget (${n:-?} entries)" test "${n:-0}" -gt 0
        lab_log "flushed $r: $n conntrack entries"
    done
}

# lab_move_lan_address CLIENT: CLIENT's LAN address changes as a laptop's does when it gets a new
# DHCP lease: a new address on its interface (same subnet, last byte + 100), then the old one
# removed (secondaries promoted, so the new one stays), the default route kept. Sockets bound to
# the wildcard address live on and send from the new address; LAB_IP[CLIENT] becomes it.
lab_move_lan_address() {
    local client=$1 ns old new gw
    ns=$(lab_ns "$client")
    old=${LAB_IP[$client]}
    [[ -n ${LAB_ROUTERS[$client]:-} ]] || lab_broken "lab_move_lan_address: $client is not behind a router"
    new=${old%.*}.$((${old##*.} + 100))
    gw=$(ip -n "$ns" route show default | awk '{ print $3; exit }')
    lab_exec "$client" sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1 ||
        lab_broken "cannot set promote_secondaries on $client"
    ip -n "$ns" addr add "$new/24" dev eth0 || lab_broken "cannot add $new to $client"
    ip -n "$ns" addr del "$old/24" dev eth0 || lab_broken "cannot remove $old from $client"
    ip -n "$ns" route show default | grep -q . || ip -n "$ns" route add default via "$gw"
    LAB_IP[$client]=$new
    _lab_expect "$client: after the move its interface has '$(ip -n "$ns" -4 -o addr show dev eth0 | awk '{ print $4 }' | tr '\n' ' ')', wanted only $new/24" \
        test "$(ip -n "$ns" -4 -o addr show dev eth0 | awk '{ print $4 }')" = "$new/24"
    _lab_expect "$client: after the move, the way out does not leave from $new" \
        grep -q "src $new " <<<"$(ip -n "$ns" route get "$LAB_SERVER_IP")"
    lab_log "$client: LAN address $old -> $new"
}

# ---------------------------------------------------------------------------------------------
# Self-check: each NAT type behaves as its name says

_lab_expect() {
    local what=$1
    shift
    if ! "$@"; then
        lab_dump
        lab_broken "$what"
    fi
}

# Print each router's rules and conntrack table (for a failure report).
lab_dump() {
    local node
    for node in "${LAB_NODES[@]}"; do
        case $node in pub | srv | turn) continue ;; esac
        [[ -n ${LAB_TYPE[$node]:-} ]] && continue
        echo "---- $node: iptables-save" >&2
        lab_exec "$node" iptables-save 2>&1 | grep -v '^#' >&2
        if command -v conntrack >/dev/null; then
            echo "---- $node: conntrack -L -p udp" >&2
            lab_exec "$node" conntrack -L -p udp 2>&1 >&2
        fi
    done
}

lab_check() {
    local tmp client router out seen pokes s1 s2 s3 type pid
    tmp=$(mktemp -d)
    local refl_pid
    lab_spawn refl_pid srv "$tmp/refl.out" "$tmp/refl.err" "${LAB_PROBE[@]}" reflector \
        "$LAB_SERVER_IP:3478" "$LAB_SERVER_IP:3479" "$LAB_SERVER_IP2:3478" \
        --poke-from "$LAB_SERVER_IP:3480" "$LAB_SERVER_IP2:3480" --lifetime 30
    lab_wait_for "$tmp/refl.out" '^ready' 5 || { cat "$tmp/refl.err" >&2; lab_broken "probe reflector did not start"; }

    # Mapping and filtering, every client at once.
    # Each client probes from its own port: two clients behind one router that start a mapping
    # from the same port in the same instant race in conntrack, and one loses its first packets.
    local -a pids=()
    local -A port=()
    local n=0
    for client in "${!LAB_TYPE[@]}"; do port[$client]=$((40010 + n++)); done
    for client in "${!LAB_TYPE[@]}"; do
        lab_exec "$client" "${LAB_PROBE[@]}" map --port "${port[$client]}" \
            --reflector "$LAB_SERVER_IP:3478" "$LAB_SERVER_IP2:3478" "$LAB_SERVER_IP:3479" \
            --poke "$LAB_SERVER_IP:3478" --wait 0.4 >"$tmp/map.$client" 2>&1 &
        pids+=($!)
    done
    # Routers drop what their WAN sends to them; their LAN side still reaches them. The WAN's
    # datagrams go first, once the listener is bound; the LAN's follow until the listener has
    # one (it then stops: whatever the WAN let in is in its output before). Its 30 s bound is for
    # a broken lab only: at load 8-10, each probe can take seconds to start.
    for router in "${!LAB_UPSTREAM[@]}"; do
        [[ -n ${LAB_TYPE[$router]:-} || $router == srv ]] && continue
        (
            lab_spawn pid "$router" "$tmp/in.$router" /dev/null "${LAB_PROBE[@]}" listen \
                --bind 0.0.0.0:40999 --wait 30 --until from-lan
            lab_wait_for "$tmp/in.$router" '^ready' 30
            up=${LAB_UPSTREAM[$router]}
            wan_ip=${LAB_IP[$router]}
            lab_exec "$up" "${LAB_PROBE[@]}" send --to "$wan_ip:40999" --message from-wan --count 3
            lan_host=${LAB_LAN_HOST[$router]}
            lan_ip=${LAB_IP["$router.lan"]}
            while kill -0 "$pid" 2>/dev/null && ! grep -q from-lan "$tmp/in.$router"; do
                lab_exec "$lan_host" "${LAB_PROBE[@]}" send --to "$lan_ip:40999" --message from-lan --count 3
                lab_wait_for "$tmp/in.$router" from-lan 1
            done
            wait "$pid"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"

    for client in "${!LAB_TYPE[@]}"; do
        type=${LAB_TYPE[$client]}
        out=$(cat "$tmp/map.$client")
        lab_log "check $client ($type): $out"
        [[ $out =~ seen=([^ ]*)\ pokes=(.*)$ ]] || { lab_dump; lab_broken "$client: probe failed: $out"; }
        seen=${BASH_REMATCH[1]}
        pokes=${BASH_REMATCH[2]}
        IFS=, read -r s1 s2 s3 <<<"$seen"
        local pub_ip=${LAB_PUBLIC_IP[$client]}
        _lab_expect "$client ($type): the server should see it at ${pub_ip}, saw $s1" \
            test "${s1%:*}" = "$pub_ip"
        case $type in
            public)
                _lab_expect "$client (public): address changed on the way ($seen)" \
                    test "$s1" = "${LAB_IP[$client]}:${port[$client]}" -a "$s2" = "$s1" -a "$s3" = "$s1"
                _lab_expect "$client (public): unsolicited datagrams should arrive (got: '$pokes')" \
                    test "$pokes" = "$LAB_SERVER_IP:3480,$LAB_SERVER_IP2:3480"
                ;;
            full-cone)
                _lab_expect "$client (full cone): mapping should not depend on the destination ($seen)" \
                    test "$s2" = "$s1" -a "$s3" = "$s1"
                _lab_expect "$client (full cone): any host should get through the mapping (got: '$pokes')" \
                    test "$pokes" = "$LAB_SERVER_IP:3480,$LAB_SERVER_IP2:3480"
                ;;
            port-restricted | same-router | double)
                _lab_expect "$client ($type): mapping should not depend on the destination ($seen)" \
                    test "$s2" = "$s1" -a "$s3" = "$s1"
                _lab_expect "$client ($type): endpoints never contacted should be filtered (got: '$pokes')" \
                    test -z "$pokes"
                ;;
            symmetric)
                _lab_expect "$client (symmetric): each destination should get its own port ($seen)" \
                    test "$s1" != "$s2" -a "$s2" != "$s3" -a "$s1" != "$s3"
                _lab_expect "$client (symmetric): endpoints never contacted should be filtered (got: '$pokes')" \
                    test -z "$pokes"
                ;;
        esac
    done
    for router in "${!LAB_UPSTREAM[@]}"; do
        [[ -n ${LAB_TYPE[$router]:-} || $router == srv ]] && continue
        _lab_expect "$router: its WAN side reached the router itself (INPUT should drop it)" \
            not_grep from-wan "$tmp/in.$router"
        _lab_expect "$router: its LAN side could not reach the router (probe broken?)" \
            grep -q from-lan "$tmp/in.$router"
    done

    # Two clients on one router: no hairpin, but the LAN path works.
    local -a same=()
    for client in "${!LAB_TYPE[@]}"; do [[ ${LAB_TYPE[$client]} == same-router ]] && same+=("$client"); done
    if ((${#same[@]} >= 2)); then
        local c1=${same[0]} c2=${same[1]} hold_pid mapped
        # As above: the hairpin's datagrams first, then the LAN's until one is in (30 s bound).
        lab_spawn hold_pid "$c1" "$tmp/hold" "$tmp/hold.err" "${LAB_PROBE[@]}" hold --port 40002 \
            --reflector "$LAB_SERVER_IP:3478" --wait 30 --until via-lan
        lab_wait_for "$tmp/hold" '^seen ' 30 || lab_broken "$c1: hold probe got no mapping"
        mapped=$(sed -n 's/^seen //p' "$tmp/hold")
        lab_exec "$c2" "${LAB_PROBE[@]}" send --to "$mapped" --message via-wan --count 3
        while kill -0 "$hold_pid" 2>/dev/null && ! grep -q via-lan "$tmp/hold"; do
            lab_exec "$c2" "${LAB_PROBE[@]}" send --to "${LAB_IP[$c1]}:40002" --message via-lan --count 3
            lab_wait_for "$tmp/hold" via-lan 1
        done
        wait "$hold_pid"
        lab_log "check same-router: $(tr '\n' ' ' <"$tmp/hold")"
        _lab_expect "same-r: the router hairpinned $c2 -> $mapped -> $c1 (it should not)" \
            not_grep via-wan "$tmp/hold"
        _lab_expect "same-r: $c2 could not reach $c1 on the LAN" grep -q via-lan "$tmp/hold"
    fi
    kill "$refl_pid" 2>/dev/null
    wait "$refl_pid" 2>/dev/null
    rm -rf "$tmp"
    return 0
}

not_grep() { ! grep -q -- "$1" "$2"; }

# lab_path_delay CLIENT: the round trip (ms) the wire delay adds between CLIENT and a public
# host: each of its routers, both ways.
lab_path_delay() {
    local r total=0
    for r in ${LAB_ROUTERS[$1]}; do total=$((total + 2 * ${LAB_ROUTER_DELAY[$r]:-0})); done
    echo "$total"
}

# lab_rtt_ok MEASURED EXPECTED: a round trip (ms, median) is the wire delay's: at least EXPECTED
# (less 1 ms: the timer's granularity) and at most EXPECTED + 5 ms + 10% (scheduling on a busy
# machine; without the delay the lab's round trips are well under 5 ms).
lab_rtt_ok() { awk -v m="$1" -v e="$2" 'BEGIN { exit !(m >= e - 1 && m <= e + 5 + e / 10) }'; }

# Delays really delay; loss really drops about P each way; timeouts really are set.
lab_check_options() {
    local client r p n tmp refl_pid out sent answered expected
    if [[ ${#LAB_ROUTER_DELAY[@]} -gt 0 ]]; then
        tmp=$(mktemp -d)
        lab_spawn refl_pid srv "$tmp/refl.out" "$tmp/refl.err" "${LAB_PROBE[@]}" reflector "$LAB_SERVER_IP:3478" --lifetime 30
        lab_wait_for "$tmp/refl.out" '^ready' 5 || lab_broken "probe reflector did not start"
        for client in "${!LAB_TYPE[@]}"; do
            expected=$(lab_path_delay "$client")
            ((expected > 0)) || continue
            out=$(lab_exec "$client" "${LAB_PROBE[@]}" rtt --port 40005 --reflector "$LAB_SERVER_IP:3478" \
                --count 5 --timeout 2)
            lab_log "check delay $client: $out, expected $expected ms"
            read -r _ p _ <<<"$out"
            _lab_expect "$client: round trip to the server '$out' ms, expected $expected ms (the wire delay)" \
                lab_rtt_ok "$p" "$expected"
        done
        kill "$refl_pid" 2>/dev/null
        wait "$refl_pid" 2>/dev/null
        rm -rf "$tmp"
    fi
    [[ ${#LAB_ROUTER_LOSS[@]} -gt 0 || ${#LAB_ROUTER_TIMEOUT[@]} -gt 0 ]] || return 0
    for r in "${!LAB_ROUTER_TIMEOUT[@]}"; do
        out=$(lab_exec "$r" sysctl -n net.netfilter.nf_conntrack_udp_timeout net.netfilter.nf_conntrack_udp_timeout_stream | tr '\n' ' ')
        _lab_expect "$r: UDP timeouts are '$out', wanted ${LAB_ROUTER_TIMEOUT[$r]}" \
            test "$out" = "${LAB_ROUTER_TIMEOUT[$r]} ${LAB_ROUTER_TIMEOUT[$r]} "
    done
    [[ ${#LAB_ROUTER_LOSS[@]} -gt 0 ]] || return 0
    tmp=$(mktemp -d)
    lab_spawn refl_pid srv "$tmp/refl.out" "$tmp/refl.err" "${LAB_PROBE[@]}" reflector "$LAB_SERVER_IP:3478" --lifetime 30
    lab_wait_for "$tmp/refl.out" '^ready' 5 || lab_broken "probe reflector did not start"
    for client in "${!LAB_TYPE[@]}"; do
        # Expected round-trip success: every lossy router on the path, both ways.
        expected=1
        for r in ${LAB_ROUTERS[$client]}; do
            p=${LAB_ROUTER_LOSS[$r]:-0}
            expected=$(awk -v e="$expected" -v p="$p" 'BEGIN { print e * (1 - p) * (1 - p) }')
        done
        [[ $expected == 1 ]] && continue
        n=400
        out=$(lab_exec "$client" "${LAB_PROBE[@]}" burst --port 40003 --reflector "$LAB_SERVER_IP:3478" \
            --count "$n" --interval-ms 1 --wait 0.3)
        read -r _ sent _ answered <<<"$out"
        lab_log "check loss $client: $answered of $sent answered, expected $expected"
        # Binomial: 400 round trips, p ~ 0.8 -> sd ~ 0.02; allow 5 sd.
        _lab_expect "$client: $answered of $sent round trips got through, expected about $expected" \
            awk -v a="$answered" -v n="$sent" -v e="$expected" 'BEGIN { d = a / n - e; exit !(d < 0.1 && d > -0.1) }'
    done
    kill "$refl_pid" 2>/dev/null
    wait "$refl_pid" 2>/dev/null
    rm -rf "$tmp"
}

# lab_check_expiry CLIENT SECONDS: the client's routers really forget a mapping idle for longer
# than SECONDS (their short UDP timeout works). The server answers once after 1 s (the mapping
# is there; this refreshes it) and once more after SECONDS + 3 s of silence (it must be gone).
lab_check_expiry() {
    local client=$1 idle=$2 tmp refl_pid late ok=0
    tmp=$(mktemp -d)
    late=$((1 + idle + 3))
    lab_spawn refl_pid srv "$tmp/refl.out" "$tmp/refl.err" "${LAB_PROBE[@]}" reflector "$LAB_SERVER_IP2:3478" \
        --lifetime $((late + 5))
    lab_wait_for "$tmp/refl.out" '^ready' 5 || lab_broken "probe reflector did not start"
    lab_exec "$client" "${LAB_PROBE[@]}" hold --port 40004 --reflector "$LAB_SERVER_IP2:3478" \
        --then "later 1,$late" --wait $((late + 1)) >"$tmp/hold" 2>&1
    kill "$refl_pid" 2>/dev/null
    wait "$refl_pid" 2>/dev/null
    lab_log "check expiry $client: $(tr '\n' ' ' <"$tmp/hold")"
    grep -q 'got later-1 ' "$tmp/hold" && not_grep "got later-$late " "$tmp/hold" && ok=1
    [[ $ok == 1 ]] || { cat "$tmp/hold" >&2; lab_dump; }
    rm -rf "$tmp"
    [[ $ok == 1 ]] || lab_broken "$client: the server should reach a mapping 1 s old and not one idle ${idle}+3 s"
}

# ---------------------------------------------------------------------------------------------
# Command line

_lab_usage() {
    sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

_lab_main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
        up)
            lab_require
            local turn=0
            local -a up_args=()
            while [[ $# -gt 0 ]]; do
                case $1 in
                    --prefix) LAB_PREFIX=$2; shift 2 ;;
                    --turn) turn=1; shift ;;
                    *) up_args+=("$1"); shift ;;
                esac
            done
            LAB_KEEP=1
            # A failure half way still tears down what was built.
            trap '[[ $? -ne 0 ]] && lab_remove_prefix "$LAB_PREFIX"' EXIT
            lab_up "${up_args[@]}"
            if ((turn)); then
                # shellcheck disable=SC2119
                lab_turn_up
                lab_say "coturn at $LAB_TURN_IP:$LAB_TURN_PORT, realm $LAB_TURN_REALM, secret in $LAB_TURN_SECRET_FILE, log $LAB_TURN_LOG"
            fi
            trap - EXIT
            echo "$LAB_PREFIX"
            ;;
        down)
            [[ -n ${1:-} ]] || _lab_usage
            lab_remove_prefix "$1"
            ;;
        run)
            lab_require
            local -a specs=()
            while [[ $# -gt 0 && $1 != -- ]]; do specs+=("$1"); shift; done
            [[ ${1:-} == -- ]] || _lab_usage
            shift
            lab_up "${specs[@]}"
            LAB_PREFIX=$LAB_PREFIX "$@"
            ;;
        exec)
            [[ $# -ge 3 ]] || _lab_usage
            LAB_PREFIX=$1
            local node=$2
            shift 2
            lab_exec "$node" "$@"
            ;;
        list) lab_namespaces "${1:-nl-}" ;;
        cleanup) lab_remove_prefix "${1:-nl-}" ;;
        selftest)
            lab_require
            NATLAB_VERBOSE=1
            lab_up pc:public fc:full-cone pr:port-restricted sy:symmetric s1:same-router s2:same-router \
                dn:double lo:port-restricted:loss=0.1 to:port-restricted:udp-timeout=10
            lab_say "selftest: every NAT type behaves as named (prefix $LAB_PREFIX)"
            if command -v turnserver >/dev/null; then
                if [[ -n ${NATLAB_LOGDIR:-} ]]; then
                    lab_turn_up --log "$NATLAB_LOGDIR/selftest/turnserver.log"
                else
                    # shellcheck disable=SC2119
                    lab_turn_up
                fi
                lab_turn_check
                lab_say "selftest: coturn at $LAB_TURN_IP:$LAB_TURN_PORT relays with TURN-REST credentials"
            else
                lab_say "selftest: coturn not installed (apt-get install coturn): its check not run"
            fi
            ;;
        *) _lab_usage ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -uo pipefail
    _lab_main "$@"
fi
