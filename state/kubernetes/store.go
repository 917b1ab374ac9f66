package kubernetes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ansflow/ansflow/state"
)

// DefaultLeaseDuration is how long a lock outlives the last renewal of a
// holder that died, unless Config.LeaseDuration says otherwise.
const DefaultLeaseDuration = 15 * time.Second

// Sizes of the objects, below the 1 MiB limit of a Secret.
const (
	chunkSize    = 900 << 10 // compressed snapshot bytes per chunk Secret
	segmentLimit = 128 << 10 // uncompressed journal bytes per segment Secret
)

// Labels, annotations and the Secret type of the objects.
const (
	labelManagedBy  = "app.kubernetes.io/managed-by"
	labelState      = "ansflow.dev/state"
	labelWorkspace  = "ansflow.dev/workspace"
	labelPart       = "ansflow.dev/part" // pointer, chunk or journal
	labelGeneration = "ansflow.dev/generation"
	annWorkspace    = "ansflow.dev/workspace"
	annLockInfo     = "ansflow.dev/lock-info"
	managedBy       = "ansflow"
	secretType      = corev1.SecretType("ansflow.dev/state")

	partPointer = "pointer"
	partChunk   = "chunk"
	partJournal = "journal"
)

// Config says where a Store keeps its state.
type Config struct {
	// Namespace holding the objects; "" means the kubeconfig context's
	// namespace, else "default".
	Namespace string
	// Name of the state, shared by everyone applying the pipeline: a DNS
	// label (lowercase letters, digits and '-', at most 63).
	Name string
	// Kubeconfig is the path of the kubeconfig file ("~" expands); ""
	// means KUBECONFIG, then ~/.kube/config, as kubectl.
	Kubeconfig string
	// Context of the kubeconfig; "" means its current context.
	Context string
	// Workspace whose state the store keeps; "" means "default".
	Workspace string
	// LeaseDuration is how long the lock of a holder that stopped
	// renewing stays taken; 0 means DefaultLeaseDuration. Whole seconds,
	// at least one.
	LeaseDuration time.Duration
}

// Store keeps the state of one workspace in Secrets; see the package
// documentation for the objects and guarantees. A Store may be used by many
// goroutines at once.
type Store struct {
	client        kubernetes.Interface
	namespace     string
	name          string
	workspace     string
	key           string // workspace as used in object names and labels
	leaseDuration time.Duration

	mu sync.Mutex
	// known is the stored state's tail as this Store last saw or wrote
	// it; nil when it must be read again.
	known *tail
	// seen is the serial this Store last read or wrote, and whether it has
	// read or written at all: Write and Append are conditional on it.
	seen     uint64
	seenOnce bool
}

var _ state.Store = (*Store)(nil)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateName checks a state name: a DNS label of at most 63 characters.
func ValidateName(name string) error {
	if len(name) > 63 || !dnsLabel.MatchString(name) {
		return fmt.Errorf("invalid state name %q: use 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// New returns the store described by cfg, with a client built from the
// kubeconfig as kubectl would. It does not talk to the cluster yet.
func New(cfg Config) (*Store, error) {
	if err := ValidateName(cfg.Name); err != nil {
		return nil, err
	}
	client, ns, err := newClient(cfg.Kubeconfig, cfg.Context)
	if err != nil {
		return nil, err
	}
	if cfg.Namespace == "" {
		cfg.Namespace = ns
	}
	return NewWithClient(client, cfg)
}

// NewWithClient returns the store described by cfg using client; the
// Kubeconfig and Context of cfg are ignored, and an empty Namespace means
// "default".
func NewWithClient(client kubernetes.Interface, cfg Config) (*Store, error) {
	if err := ValidateName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.Workspace == "" {
		cfg.Workspace = state.DefaultWorkspace
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.LeaseDuration < time.Second {
		return nil, fmt.Errorf("lease duration %v is too short: use at least 1s", cfg.LeaseDuration)
	}
	return &Store{
		client:        client,
		namespace:     cfg.Namespace,
		name:          cfg.Name,
		workspace:     cfg.Workspace,
		key:           workspaceKey(cfg.Workspace),
		leaseDuration: cfg.LeaseDuration.Truncate(time.Second),
	}, nil
}

// String describes where the state is, for messages.
func (s *Store) String() string {
	return fmt.Sprintf("Secret %s/%s", s.namespace, s.pointerName())
}

// workspaceKey returns ws as it appears in object names and label values:
// unchanged when it is a short lowercase DNS label, else a lowercase
// version with a hash of the real name, so distinct workspaces never share
// objects.
func workspaceKey(ws string) string {
	if len(ws) <= 40 && dnsLabel.MatchString(ws) {
		return ws
	}
	var b strings.Builder
	for _, r := range strings.ToLower(ws) {
		if b.Len() == 30 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	sum := sha256.Sum256([]byte(ws))
	return strings.Trim(b.String(), "-") + "-" + hex.EncodeToString(sum[:4])
}

// Object names. The dot cannot appear in a state name or a workspace key,
// so names of different states and workspaces never collide.
func (s *Store) pointerName() string { return "ansflow-state-" + s.name + "." + s.key }
func (s *Store) leaseName() string   { return "ansflow-lock-" + s.name + "." + s.key }
func (s *Store) chunkName(gen uint64, i int) string {
	return fmt.Sprintf("%s.%d.%d", s.pointerName(), gen, i)
}
func (s *Store) segmentName(gen uint64, k int) string {
	return fmt.Sprintf("%s.%d.j%d", s.pointerName(), gen, k)
}

// labels returns the labels of an object of the given part.
func (s *Store) labels(part string, gen uint64, withGen bool) map[string]string {
	l := map[string]string{
		labelManagedBy: managedBy,
		labelState:     s.name,
		labelWorkspace: s.key,
		labelPart:      part,
	}
	if withGen {
		l[labelGeneration] = strconv.FormatUint(gen, 10)
	}
	return l
}

// selector selects this workspace's objects, plus the given terms.
func (s *Store) selector(terms ...string) string {
	base := []string{labelManagedBy + "=" + managedBy, labelState + "=" + s.name, labelWorkspace + "=" + s.key}
	return strings.Join(append(base, terms...), ",")
}

func (s *Store) secret(name, part string, gen uint64, withGen bool, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   s.namespace,
			Labels:      s.labels(part, gen, withGen),
			Annotations: map[string]string{annWorkspace: s.workspace},
		},
		Type: secretType,
		Data: data,
	}
}

// tail is what the stored state looked like when this Store last read or
// wrote it: enough to Append and Write without reading it all again.
type tail struct {
	exists    bool   // the pointer exists
	pointerRV string // its resourceVersion
	ptr       pointer
	serial    uint64 // serial of the stored state, snapshot plus journal
	empty     bool   // the stored state records nothing
	seg       *segment
}

// segment is the last journal segment of the current generation.
type segment struct {
	index   int
	rv      string
	records []byte // JSON lines, uncompressed
}

// Read returns the stored state: the snapshot with the journal replayed on
// top, or state.New when nothing is stored. A Write switching the
// generation while Read runs makes it read again.
func (s *Store) Read(ctx context.Context) (*state.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, _, err := s.load(ctx)
	return st, err
}

// errMoved means the objects of the generation being read changed while
// they were read: read again.
var errMoved = errors.New("the state changed while it was read")

func (s *Store) load(ctx context.Context) (*state.State, *tail, error) {
	s.known = nil
	var err error
	for range 3 {
		var st *state.State
		var t *tail
		st, t, err = s.loadOnce(ctx)
		if err == nil {
			s.known = t
			s.seen, s.seenOnce = t.serial, true
			return st, t, nil
		}
		if !errors.Is(err, errMoved) {
			return nil, nil, err
		}
	}
	return nil, nil, fmt.Errorf("reading state %s: %w (it keeps changing: is another run writing without the lock?)", s, err)
}

func (s *Store) loadOnce(ctx context.Context) (*state.State, *tail, error) {
	secrets := s.client.CoreV1().Secrets(s.namespace)
	obj, err := secrets.Get(ctx, s.pointerName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return state.New(s.workspace), &tail{empty: true}, nil
	}
	if err != nil {
		return nil, nil, s.apiError("reading", err)
	}
	p, err := decodePointer(obj)
	if err != nil {
		return nil, nil, fmt.Errorf("state %s: %w", s, err)
	}
	if p.FormatVersion > state.FormatVersion {
		return nil, nil, newerFormatError(s.String(), p.FormatVersion)
	}
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: s.selector(labelGeneration + "=" + strconv.FormatUint(p.Generation, 10))})
	if err != nil {
		return nil, nil, s.apiError("reading", err)
	}
	objs := sortParts(list.Items)
	st, err := s.decodeSnapshot(p, objs.chunks)
	if err != nil {
		return nil, nil, err
	}
	t := &tail{exists: true, pointerRV: obj.ResourceVersion, ptr: p}
	for _, seg := range objs.segments {
		records, err := replaySegment(st, p.Lineage, seg)
		if err != nil {
			return nil, nil, err
		}
		t.seg = &segment{index: seg.index, rv: seg.obj.ResourceVersion, records: records}
	}
	t.serial = st.Serial
	t.empty = isEmpty(st)
	return st, t, nil
}

// decodeSnapshot assembles, checks and decodes the chunks the pointer
// names; with none it returns an empty state of the pointer's lineage.
func (s *Store) decodeSnapshot(p pointer, chunks map[int]*corev1.Secret) (*state.State, error) {
	if p.Chunks == 0 {
		return &state.State{
			FormatVersion: state.FormatVersion, Lineage: p.Lineage, Serial: p.Serial,
			Workspace: s.workspace, Instances: map[string]*state.Instance{},
		}, nil
	}
	var data []byte
	for i := range p.Chunks {
		c := chunks[i]
		if c == nil {
			return nil, fmt.Errorf("chunk %d of generation %d is missing: %w", i, p.Generation, errMoved)
		}
		data = append(data, c.Data["data"]...)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != p.SHA256 {
		return nil, fmt.Errorf("generation %d does not match its checksum: %w", p.Generation, errMoved)
	}
	raw, err := gunzip(data)
	if err != nil {
		return nil, fmt.Errorf("state %s: decompressing: %w", s, err)
	}
	var st state.State
	if err := json.Unmarshal(raw, &st); err != nil {
		if v := probeFormatVersion(raw); v > state.FormatVersion {
			return nil, newerFormatError(s.String(), v)
		}
		return nil, fmt.Errorf("state %s is not valid JSON: %w", s, err)
	}
	if st.FormatVersion > state.FormatVersion {
		return nil, newerFormatError(s.String(), st.FormatVersion)
	}
	if st.Lineage != p.Lineage || st.Serial != p.Serial {
		return nil, fmt.Errorf("state %s: snapshot (lineage %s, serial %d) does not match its pointer (lineage %s, serial %d): %w",
			s, st.Lineage, st.Serial, p.Lineage, p.Serial, errMoved)
	}
	if st.Instances == nil {
		st.Instances = map[string]*state.Instance{}
	}
	return &st, nil
}

// Write replaces the stored state with s, setting s.Serial to one more
// than the stored serial, s.FormatVersion and, when empty, s.Workspace. It
// refuses a state of another lineage unless the stored state is empty, and
// fails when another run wrote since this Store last read.
func (s *Store) Write(ctx context.Context, st *state.State) error {
	if st == nil || st.Lineage == "" {
		return errors.New("cannot write a state without a lineage; start from Read or state.New")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Appends of another writer change journal segments, not the pointer
	// whose resourceVersion guards the switch: read the state afresh, so
	// that records another run appended since this Store last saw it
	// make a conflict rather than vanish. (The lock closes the window
	// between this read and the switch.)
	s.known = nil
	t, err := s.current(ctx)
	if err != nil {
		return err
	}
	if t.exists && !t.empty && st.Lineage != t.ptr.Lineage {
		return fmt.Errorf("refusing to overwrite state %s: it belongs to lineage %s, the state being written to lineage %s. "+
			"It looks like the state of another pipeline; use another workspace or state name",
			s, t.ptr.Lineage, st.Lineage)
	}
	out := *st
	out.Serial = t.serial + 1
	if err := s.replace(ctx, t, &out); err != nil {
		return err
	}
	st.FormatVersion, st.Serial, st.Workspace = out.FormatVersion, out.Serial, out.Workspace
	return nil
}

// Import replaces the stored state with st as it is, lineage included,
// whatever is stored: it is for migrations, whose caller checks lineages
// and holds the lock. The serial is st.Serial, or one more than the stored
// serial if that is not less, so that serials never go back.
func (s *Store) Import(ctx context.Context, st *state.State) error {
	if st == nil || st.Lineage == "" {
		return errors.New("cannot import a state without a lineage")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.current(ctx)
	if err != nil {
		return err
	}
	out := *st
	out.Serial = max(st.Serial, t.serial+1)
	if err := s.replace(ctx, t, &out); err != nil {
		return err
	}
	st.FormatVersion, st.Serial, st.Workspace = out.FormatVersion, out.Serial, out.Workspace
	return nil
}

// replace writes out, whose serial is set, as the next generation and
// switches the pointer to it.
func (s *Store) replace(ctx context.Context, t *tail, out *state.State) error {
	out.FormatVersion = state.FormatVersion
	if out.Workspace == "" {
		out.Workspace = s.workspace
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encoding the state: %w", err)
	}
	data := gzipBytes(raw)
	sum := sha256.Sum256(data)
	p := pointer{
		FormatVersion: state.FormatVersion,
		Lineage:       out.Lineage,
		Serial:        out.Serial,
		Generation:    t.ptr.Generation + 1,
		SHA256:        hex.EncodeToString(sum[:]),
		Size:          len(data),
		Empty:         isEmpty(out),
	}
	s.known = nil // until the switch is known to have happened
	chunks := split(data, chunkSize)
	p.Chunks = len(chunks)
	for i, c := range chunks {
		if err := s.putChunk(ctx, p.Generation, i, c); err != nil {
			return err
		}
	}
	rv, err := s.putPointer(ctx, t, p)
	if err != nil {
		return err
	}
	s.known = &tail{exists: true, pointerRV: rv, ptr: p, serial: p.Serial, empty: p.Empty}
	s.seen, s.seenOnce = p.Serial, true
	// The old generations are unreachable now; failing to delete them
	// leaves garbage that the next Write collects.
	_ = s.collect(ctx, p.Generation)
	return nil
}

// putChunk creates chunk i of generation gen, replacing one left by a
// Write that failed before switching the pointer.
func (s *Store) putChunk(ctx context.Context, gen uint64, i int, data []byte) error {
	secrets := s.client.CoreV1().Secrets(s.namespace)
	obj := s.secret(s.chunkName(gen, i), partChunk, gen, true, map[string][]byte{
		"index": []byte(strconv.Itoa(i)),
		"data":  data,
	})
	_, err := secrets.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = secrets.Update(ctx, obj, metav1.UpdateOptions{})
	}
	if err != nil {
		return s.apiError("writing", err)
	}
	return nil
}

// putPointer creates the pointer, or updates it if its resourceVersion is
// still the one in t, and returns the new resourceVersion.
func (s *Store) putPointer(ctx context.Context, t *tail, p pointer) (string, error) {
	secrets := s.client.CoreV1().Secrets(s.namespace)
	obj := s.secret(s.pointerName(), partPointer, 0, false, p.encode())
	var (
		res *corev1.Secret
		err error
	)
	if t.exists {
		obj.ResourceVersion = t.pointerRV
		res, err = secrets.Update(ctx, obj, metav1.UpdateOptions{})
	} else {
		res, err = secrets.Create(ctx, obj, metav1.CreateOptions{})
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) {
		return "", fmt.Errorf("state %s was changed by another run since this one read it; nothing was written. "+
			"Check that every run uses the lock, then run again", s)
	}
	if err != nil {
		return "", s.apiError("writing", err)
	}
	return res.ResourceVersion, nil
}

// collect deletes the chunks and journal segments of every generation but
// keep.
func (s *Store) collect(ctx context.Context, keep uint64) error {
	sel := s.selector(labelPart+" in ("+partChunk+","+partJournal+")",
		labelGeneration+" notin ("+strconv.FormatUint(keep, 10)+")")
	return s.client.CoreV1().Secrets(s.namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel})
}

// current returns the known tail, reading the state when there is none.
// When the stored serial is not the one this Store last read or wrote, it
// returns a *state.ConflictError (and stays in conflict until a Read).
func (s *Store) current(ctx context.Context) (*tail, error) {
	if s.known != nil {
		return s.known, nil
	}
	prev, once := s.seen, s.seenOnce
	_, t, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	if once && t.serial != prev {
		s.seen, s.known = prev, nil
		return nil, &state.ConflictError{Path: s.String(), Read: prev, Now: t.serial}
	}
	return t, nil
}

// Append records c as one more journal record; see the package
// documentation for its cost. The first Append to a workspace with nothing
// stored fixes its lineage. When another run changed the state since this
// Store read or wrote it, Append fails with a *state.ConflictError rather
// than build on a state this run has not seen.
func (s *Store) Append(ctx context.Context, lineage string, c state.Change) error {
	change, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding a state change: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		t, err := s.current(ctx)
		if err != nil {
			return err
		}
		if t.exists && lineage != t.ptr.Lineage {
			return fmt.Errorf("cannot record a change of lineage %s in state %s of lineage %s: the state was replaced since it was read; run again",
				lineage, s, t.ptr.Lineage)
		}
		err = s.appendOnce(ctx, t, lineage, change)
		if err == nil {
			return nil
		}
		s.known = nil
		if !errors.Is(err, errMoved) || attempt == 2 {
			return err
		}
	}
}

// appendOnce adds one record to the journal described by t and updates t.
// A conflict with another writer is errMoved.
func (s *Store) appendOnce(ctx context.Context, t *tail, lineage string, change []byte) error {
	if !t.exists {
		p := pointer{FormatVersion: state.FormatVersion, Lineage: lineage, Empty: true}
		rv, err := s.putPointer(ctx, t, p)
		if err != nil {
			return fmt.Errorf("%w: %w", errMoved, err)
		}
		*t = tail{exists: true, pointerRV: rv, ptr: p, empty: true}
	}
	serial := t.serial + 1
	rec, err := json.Marshal(record{Serial: serial, Change: change})
	if err != nil {
		return err
	}
	rec = append(rec, '\n')
	secrets := s.client.CoreV1().Secrets(s.namespace)
	gen := t.ptr.Generation
	seg := &segment{}
	if t.seg != nil && len(t.seg.records)+len(rec) <= segmentLimit {
		seg.index = t.seg.index
		seg.records = append(t.seg.records[:len(t.seg.records):len(t.seg.records)], rec...)
	} else {
		if t.seg != nil {
			seg.index = t.seg.index + 1
		}
		seg.records = rec
	}
	obj := s.secret(s.segmentName(gen, seg.index), partJournal, gen, true, map[string][]byte{
		"index":   []byte(strconv.Itoa(seg.index)),
		"lineage": []byte(lineage),
		"records": gzipBytes(seg.records),
	})
	var res *corev1.Secret
	if t.seg != nil && seg.index == t.seg.index {
		obj.ResourceVersion = t.seg.rv
		res, err = secrets.Update(ctx, obj, metav1.UpdateOptions{})
	} else {
		res, err = secrets.Create(ctx, obj, metav1.CreateOptions{})
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) {
		return fmt.Errorf("recording a change in state %s: %w", s, errMoved)
	}
	if err != nil {
		return s.apiError("recording a change in", err)
	}
	seg.rv = res.ResourceVersion
	t.seg, t.serial, t.empty = seg, serial, false
	s.seen, s.seenOnce = serial, true
	return nil
}

// apiError wraps an API error with what was being done and a hint.
func (s *Store) apiError(doing string, err error) error {
	hint := ""
	switch {
	case apierrors.IsForbidden(err):
		hint = fmt.Sprintf("; the state backend needs get, list, create, update, delete and deletecollection on secrets and leases in namespace %s", s.namespace)
	case apierrors.IsNotFound(err):
		hint = fmt.Sprintf("; does namespace %s exist?", s.namespace)
	}
	return fmt.Errorf("%s state %s: %w%s", doing, s, err, hint)
}

// isEmpty reports whether st records nothing.
func isEmpty(st *state.State) bool {
	return len(st.Instances) == 0 && len(st.Outputs) == 0 && len(st.Runs) == 0 && st.RunNumber == 0 &&
		len(st.Approvals) == 0 && len(st.ApprovalLog) == 0
}

// Workspaces returns the workspaces that have a state under this Store's
// name in its namespace, from the labelled pointer Secrets, sorted.
func (s *Store) Workspaces(ctx context.Context) ([]string, error) {
	sel := labelManagedBy + "=" + managedBy + "," + labelState + "=" + s.name + "," + labelPart + "=" + partPointer
	list, err := s.client.CoreV1().Secrets(s.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, s.apiError("listing the workspaces of", err)
	}
	var names []string
	for _, obj := range list.Items {
		if ws := obj.Annotations[annWorkspace]; ws != "" {
			names = append(names, ws)
		}
	}
	slices.Sort(names)
	return names, nil
}
