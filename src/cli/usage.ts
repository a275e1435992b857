/** Help texts, one per subcommand. */

const CONNECTION = `Connection:
  --endpoints=LIST              comma-separated etcd client endpoints (host:port or http(s)://host:port)
  --cacert=FILE                 CA bundle that signed the members' serving certificates
  --cert=FILE --key=FILE        client certificate and key (mutual TLS)
  --server-name=NAME            TLS server name to verify (default: the endpoint host)
  --insecure-skip-tls-verify    do not verify the members' certificates
  --user=NAME[:PASSWORD]        etcd username (env ETCD_MONITOR_USER)
  --password=PASSWORD           etcd password (env ETCD_MONITOR_PASSWORD; prefer the env)
  --timeout=DURATION            per-member deadline for every probe call (default 5s)
  --cluster-name=NAME           the "cluster" label of every series (default "default")
  --log-level=LEVEL             error|warn|info|debug (default info)
  --log-format=json|text        default: text on a terminal, json otherwise`;

const ADVICE_THRESHOLDS = `Capacity and advice thresholds (status.capacity and status.advice; advice never changes the phase):
  --wal-fsync-p99-ms=N          SlowDisk above this WAL fsync p99 over the advice window (default 10, etcd's)
  --backend-commit-p99-ms=N     SlowBackendCommit above this backend commit p99 (default 25, etcd's)
  --heartbeat-interval-ms=N     the members' --heartbeat-interval: SlowPeerNetwork when peer RTT p99 reaches it (100)
  --quota-exhaustion-warning=D  QuotaExhaustionSoon when the quota is full within D (default 168h; critical:
  --quota-exhaustion-critical=D 24h); --quota-exhaustion-min-percent=N: not below N% of the quota (default 25)
  --defrag-fragmentation-percent=N --defrag-reclaimable-bytes=N  DefragmentRecommended over both (50, 104857600)
  --learner-promotion-timeout=D LearnerNotPromoted after D as a learner (default 10m)
  --hardware-tier=small|medium|large|xlarge  the etcd hardware-guide tier the members are sized for
  --advice-window=D             the window disk and network p99s and rates are taken over (default 5m)`;

export const MAIN_USAGE = `etcd-monitor — make the health of etcd clusters visible

Usage:
  etcd-monitor monitor --endpoints=a:2379,b:2379,c:2379 [flags]   probe one cluster, serve the API and /metrics
  etcd-monitor --endpoints=...                                      same as "monitor"
  etcd-monitor status --endpoints=... [-w table|json]               one-shot status table; exit 0 healthy, 1 not
  etcd-monitor operator [flags]                                     watch EtcdMonitor resources in Kubernetes
  etcd-monitor benchmark --endpoints=... [flags]                    load benchmark
  etcd-monitor snapshot save FILE --endpoints=... | verify FILE      save a verified snapshot / check one offline
  etcd-monitor check perf --endpoints=... [--load=s|m|l|xl]         etcdctl's performance check: PASS/FAIL, exit 0/1
  etcd-monitor advise --endpoints=... [--duration=D] [-w table|json] capacity and advice; exit 1 on any warning

Run "etcd-monitor <command> --help" for the flags of a command.
Exit codes: 0 ok, 1 unhealthy (status) or failure, 2 usage error.`;

export const MONITOR_USAGE = `Usage: etcd-monitor monitor --endpoints=LIST [flags]

Probe every member of one etcd cluster on an interval, and serve the JSON API, the live dashboard
and Prometheus /metrics.

Monitor:
  --interval=DURATION           probe period (alias --health-check-interval; default 10s); the
                                default --timeout is the smaller of 5s and half of it
  --api-host=HOST               listen address (default 0.0.0.0)
  --api-port=PORT               listen port (default 8080)
  --api-token=TOKEN             require "Authorization: Bearer TOKEN" on /api/* (env ETCD_MONITOR_API_TOKEN)
  --no-member-metrics           do not scrape the members' own /metrics
  --metrics-urls=LIST           per-member metrics URLs, in endpoint order (default <endpoint>/metrics)
  --write-probe                 time a put+delete under /etcd-monitor/probe/ each round (writes to etcd)
  --latency-warning-ms=N        p99 above this for 3 rounds and 30s marks the cluster Degraded (default 100)
  --db-quota-warning-percent=N  database above this share of its quota marks it Degraded (default 80)
  --leader-changes-warning-per-hour=N  more leader changes than this per hour marks it Degraded (default 3)

${ADVICE_THRESHOLDS}

Backups and defragmentation (opt-in; see "etcd-monitor snapshot --help"):
  --backup-schedule=CRON        5-field cron in UTC, @hourly/@daily/…, or "@every 30m"; a run missed while
                                the monitor was down runs once at start
  --backup-dir=PATH             store snapshots in PATH/<cluster>/<UTC time>-r<revision>.db (+ .sha256)
  --backup-s3-bucket=NAME       … or in S3 (multipart): --backup-s3-endpoint=URL --backup-s3-prefix=P
                                --backup-s3-region=R (default us-east-1) --backup-s3-virtual-hosted;
                                credentials from ETCD_MONITOR_BACKUP_S3_ACCESS_KEY_ID/_SECRET_ACCESS_KEY
                                (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)
  --backup-keep=N               keep the newest N (default 10); --backup-max-age=DURATION drops older ones;
                                the newest verified snapshot is never deleted
  --backup-member=follower|leader|any  which member to stream from (default a healthy follower)
  --defrag-schedule=CRON        defragment members over both thresholds, followers first, leader last, each
                                re-checked healthy; only when every voting member is healthy
  --defrag-fragmentation-percent=N  (default 50)   --defrag-reclaimable-bytes=N  (default 104857600)
  --defrag-disarm-nospace       disarm a NOSPACE alarm after a completed defragmentation

${CONNECTION}`;

export const STATUS_USAGE = `Usage: etcd-monitor status --endpoints=LIST [-w table|json]

Probe the cluster once and print each member's status and health, like
"etcdctl endpoint status" and "etcdctl endpoint health" together.
Exit 0 when the cluster is healthy, 1 when it is not, 2 on a usage error.

  -w, --write-out=table|json    output format (default table)

${CONNECTION}`;

export const ADVISE_USAGE = `Usage: etcd-monitor advise --endpoints=LIST [--duration=D] [--interval=D] [-w table|json]

Watch the cluster for a while (read-only) and print its capacity figures and the advice of SPEC §10:
what to change before etcd hurts, each with its evidence and the etcd documentation it follows.
Exit 0 when there is no warning or critical advice, 1 when there is, 2 on a usage error.

  --duration=D                  how long to watch (default 30s). Disk and network p99s need members'
                                /metrics over at least half the advice window (default: the duration);
                                growth trends need 30 rounds over 60s, so give --duration=70s or more
  --interval=D                  probe period while watching (default 1s)
  -w, --write-out=table|json    output format (default table)

${ADVICE_THRESHOLDS}

${CONNECTION}`;

export const OPERATOR_USAGE = `Usage: etcd-monitor operator [flags]

Watch EtcdMonitor resources (etcdmonitor.dev/v1alpha1) and write each cluster's health into its status.
Inside a pod the in-cluster configuration is used; elsewhere --kubeconfig, $KUBECONFIG or ~/.kube/config.

  --kubeconfig=FILE                   kubeconfig to use
  --namespace=NS                      watch only this namespace (default: all namespaces)
  --label-selector=SELECTOR           watch only EtcdMonitors matching this label selector
  --leader-elect                      run as one of several replicas; only the Lease holder probes and writes
  --leader-elect-namespace=NS         namespace of the Lease (default $POD_NAMESPACE, --namespace or default)
  --leader-elect-lease-duration=D     default 15s; --leader-elect-renew-deadline=D (10s); --leader-elect-retry-period=D (2s)
  --identity=NAME                     this replica's name in the Lease (default $POD_NAME or host_pid)
  --total-shards=N --shard=I          probe only the EtcdMonitors of shard I (FNV-1a of the UID mod N); with
                                      --leader-elect each shard elects its leader on Lease <name>-shard-I-of-N
  --shard-from-pod-name               shard I = trailing ordinal of $POD_NAME mod N (a StatefulSet)
  --api-host=HOST --api-port=PORT     HTTP API, dashboard and /metrics (default 0.0.0.0:8080)
  --api-token=TOKEN                   require a bearer token on /api/* (env ETCD_MONITOR_API_TOKEN)
  --max-concurrent-reconciles=N       default 8
  --status-heartbeat=D                rewrite an unchanged status at most this often (default 5m)
  --secret-refresh-interval=D         re-read TLS/auth Secrets this often (default 30s)
  --watch-watchdog=D                  restart a watch silent for this long (default 2m)
  --log-level=LEVEL --log-format=json|text`;

export const BENCHMARK_USAGE = `Usage: etcd-monitor benchmark --endpoints=LIST [flags]
       etcd-monitor --endpoints=LIST --run-benchmark [--benchmark-type=write|read|mixed] [--benchmark-ops=N]

Generate load like etcd's own benchmark tool, then print a summary (total, slowest, fastest,
average, stddev, requests/sec), a latency histogram, percentiles p10..p99.9 and the failed
requests by gRPC code. A failed request is counted, never retried. Keys are written under
PREFIX<run id>/ and deleted afterwards (also on Ctrl-C or error). This WRITES to the cluster.
Exit 0 when every request succeeded and the keys were deleted, 1 when any request failed,
the cleanup failed or no endpoint answered, 2 on a usage error, 130 when interrupted.

Benchmark:
  --type=write|read|mixed       put, range, or both (default write; alias --benchmark-type)
  --ops=N                       timed requests in total (default 10000; alias --total, --benchmark-ops)
  --clients=N                   concurrent clients, one request in flight each (default 50)
  --conns=N                     gRPC (TCP) connections shared round-robin by the clients, endpoints
                                spread round-robin over them (default: one per endpoint)
  --key-size=N                  characters of each key below the run prefix (default 8)
  --value-size=N                bytes of each value (default 256)
  --rate=N                      at most N requests per second in total (token bucket; default 0 = unlimited)
  --key-space-size=N            keys are chosen among N keys (default min(ops, 10000))
  --sequential-keys             walk the key space in order (default random keys)
  --consistency=l|s             linearizable or serializable reads (default l)
  --read-ratio=R                share of reads in a mixed run, 0..1 (default 0.5)
  --no-prepopulate              do not write the key space before a read or mixed run
                                (prepopulating is untimed but paced by --rate)
  --prefix=PREFIX               key prefix (default /etcd-monitor-bench/); a run id is always appended
  --seed=N                      reproducible key choice and value
  --json                        print the report as one JSON object
  --timeout=DURATION            deadline of every request (default 5s)

${CONNECTION}`;

export const SNAPSHOT_USAGE = `Usage:
  etcd-monitor snapshot save FILE --endpoints=LIST [--member=follower|leader|any] [--json]
  etcd-monitor snapshot verify FILE [--json]
  etcd-monitor snapshot fetch NAME FILE --backup-s3-bucket=B [--backup-s3-endpoint=URL ...]
  etcd-monitor snapshot count --endpoints=URL [--wait=DURATION] [--result-file=PATH]

save    streams a snapshot (Maintenance.Snapshot) from one member, checks etcd's trailing SHA-256
        while it streams, writes FILE atomically with mode 0600 (a temporary name, fsync, rename only
        when the hash matched and the bbolt file reads back sound), and prints size, revision, keys
        and hash. With several endpoints, --member picks which: a healthy follower (default), the
        leader, or the first that answers. Nothing is written to etcd.
verify  checks a saved FILE offline: etcd's trailing SHA-256 (when the file carries one), both bbolt
        meta pages and their checksums, and every page of every bucket; prints revision, keys and
        the CRC-32C hash \`etcdutl snapshot status\` prints. Exit 1 when the file is corrupt.
fetch   downloads the backup object NAME from S3 (credentials from ETCD_MONITOR_BACKUP_S3_ACCESS_KEY_ID
        and ETCD_MONITOR_BACKUP_S3_SECRET_ACCESS_KEY) to FILE and checks it against NAME.sha256.
count   asks etcd for its live key count and revision until it answers or --wait (default 2m) ends,
        prints {"keys":N,"revision":R} and writes it (or the error) to --result-file. fetch and count are
        the steps of the operator's restore-test Job.

Save:
  --member=follower|leader|any  which member to stream from when several endpoints are given
  --idle-timeout=DURATION       give up when no data arrived for this long (default 30s)
  --max-duration=DURATION       give up after this long in total (default 1h)
  --json                        print the result as one JSON object

${CONNECTION}`;

export const CHECK_PERF_USAGE = `Usage: etcd-monitor check perf --endpoints=LIST [--load=s|m|l|xl] [--json] [flags]

The performance check of "etcdctl check perf", with its workload and criteria: for 60 s, puts of
256-byte keys with 1024-byte values under PREFIX, paced at the load's rate by its number of clients
(one gRPC connection each, spread over the endpoints). It PASSES when no request failed, throughput
was above 90% of the rate, the slowest request took at most 0.5 s and the standard deviation of the
latencies was at most 0.1 s. The prefix must hold no key before the run; it is deleted afterwards
(also on Ctrl-C or failure). This WRITES to the cluster.
Exit 0 on PASS, 1 on FAIL (also when the keys could not be deleted, the prefix already held keys or
no endpoint answered), 2 on a usage error, 130 when interrupted.

  load   rate (puts/s)  clients
  s      150            50
  m      1000           200
  l      8000           500
  xl     15000          1000

Check perf:
  --load=s|m|l|xl               workload (default s; also small, medium, large, xLarge)
  --prefix=PREFIX               where the keys go (default /etcdctl-check-perf/)
  --auto-compact                compact at the revision of the final delete (physical)
  --auto-defrag                 defragment every endpoint after the run
  --duration=DURATION           how long puts are issued (default 60s; etcdctl's is always 60 s,
                                so a shorter run is not the same check)
  --json                        print the result (figures, checks[], pass) as one JSON object
  --timeout=DURATION            deadline of every request (default 5s; etcdctl sets none)

${CONNECTION}`;
