# NATS JetStream nodes on loopback for the cluster and benchmark scripts (sourced, not run).
# start_nats_nodes <dir> <nodes> <client port> <route port> <cluster name>
#   starts <nodes> nats-server processes (JetStream file store under <dir>/nats-<i>/store, 8 MB messages),
#   clustered through their routes when more than one, on ports <client port>+i and <route port>+i;
#   appends their pids to NATS_PIDS, sets BUS_URL to their comma-separated URLs, and waits until each listens.
start_nats_nodes() {
  local dir=$1 nodes=$2 client=$3 route=$4 name=$5 n r routes cluster
  BUS_URL=""
  for n in $(seq 0 $((nodes - 1))); do
    mkdir -p "$dir/nats-$n"
    routes=""
    for r in $(seq 0 $((nodes - 1))); do routes+="${routes:+, }nats-route://127.0.0.1:$((route + r))"; done
    cluster=""
    [ "$nodes" -gt 1 ] && cluster="cluster { name: $name, listen: 127.0.0.1:$((route + n)), routes: [$routes] }"
    cat > "$dir/nats-$n/nats.conf" <<CONF
server_name: nats-$n
listen: 127.0.0.1:$((client + n))
max_payload: 8MB
jetstream { store_dir: "$dir/nats-$n/store", max_file_store: 8GB, max_memory_store: 256MB }
$cluster
CONF
    nats-server -c "$dir/nats-$n/nats.conf" > "$dir/nats-$n/nats.log" 2>&1 &
    NATS_PIDS+=($!)
    BUS_URL+="${BUS_URL:+,}nats://127.0.0.1:$((client + n))"
  done
  for n in $(seq 0 $((nodes - 1))); do
    for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$((client + n))) 2>/dev/null && break; sleep 0.1; done
  done
}
