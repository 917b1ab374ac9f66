// Package kubernetes is a state.Store that keeps a workspace's state in
// Secrets of a Kubernetes cluster and locks it with a coordination.k8s.io
// Lease, so that a team applying one pipeline from several machines shares
// one state, the way Terraform's kubernetes backend and Helm's release
// Secrets do.
//
// # Objects
//
// For state name N and workspace W (W is used as is when it is a lowercase
// DNS label, else mangled with a hash; the real name is in an annotation),
// in one namespace:
//
//	ansflow-state-N.W              pointer: generation, chunk count, sha256, serial, lineage
//	ansflow-state-N.W.<gen>.<i>    chunk i of the snapshot of generation gen (gzip'd JSON, ≤ 900 KiB each)
//	ansflow-state-N.W.<gen>.j<k>   journal segment k: changes recorded by Append since the snapshot
//	ansflow-lock-N.W               the Lease held by the run that has the workspace locked
//
// Every object carries the labels app.kubernetes.io/managed-by=ansflow,
// ansflow.dev/state=N and ansflow.dev/workspace=W, so
// `kubectl get secrets,leases -l ansflow.dev/state=N` shows them all.
//
// # Guarantees and costs
//
// Write compresses the whole state, creates the chunks of a new
// generation, then switches the pointer with an Update checked against the
// resourceVersion it last saw (a conflict means another run wrote: Write
// fails and nothing changes), then deletes the older generations' chunks
// and journal segments. A reader reads the pointer first and only objects
// of the generation it names, checking the sha256, so it sees the old or
// the new state, never a mixture. Cost: one create per 900 KiB of
// compressed state, plus two requests.
//
// Append does not rewrite the state: it adds one record to the last
// journal segment of the current generation (an Update checked against the
// segment's resourceVersion), or creates a new segment when the last one
// holds 128 KiB of records. Once it returns, the record is in etcd. Cost:
// one request carrying the compressed segment, a few KiB to a few tens of
// KiB; in practice one etcd write, so its latency is etcd's fsync (17 to
// 21 ms per Append on the 2-core test control plane, against microseconds
// for the local store). Read replays the segments on top of the snapshot;
// the next Write compacts them away.
//
// Only the holder of the lock may Write or Append: the store detects
// concurrent writers through resourceVersions and fails, but it does not
// arbitrate between them.
//
// # Locking
//
// Lock creates or takes over the Lease: its holderIdentity is the lock ID
// and the ansflow.dev/lock-info annotation holds the whole state.LockInfo.
// While held, a goroutine renews it every third of the lease duration. A
// holder that dies stops renewing, and once renewTime plus the lease
// duration has passed, the next Lock takes the Lease over (an Update
// checked against its resourceVersion, so two runs cannot both win).
// Expiry compares the renewTime written by the holder with the local clock:
// machines sharing a backend need clocks within a few seconds of each other
// (NTP), or a lease duration long enough to cover the skew.
package kubernetes
