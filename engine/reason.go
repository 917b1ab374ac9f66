package engine

import "fmt"

// ReasonCode says why a plan does what it does with a step instance. The
// sentences people read are made from it (and its Reason's parameters) by
// package views.
type ReasonCode int

const (
	_                      ReasonCode = iota
	ReasonNew                         // declarative: not in the state yet
	ReasonNeverRan                    // run-to-completion: has not run yet
	ReasonReplaceRequested            // -replace named it
	ReasonGone                        // its object was deleted outside ansflow
	ReasonDrift                       // Attrs[0] was changed outside ansflow, from Before to After
	ReasonFilesChanged                // the contents of File changed
	ReasonAttrsChanged                // Attrs changed (because of Causes); Unknown are known only after apply (Upstream changes)
	ReasonInputsChanged               // its inputs changed, and no attribute says which
	ReasonForceNew                    // Attrs cannot be changed in place
	ReasonFailedLastTime              // it failed last run (with ExitCode)
	ReasonUpstreamChanged             // Upstream instances change
	ReasonUpstreamFiles               // Upstream instances change and may change the files it reads
	ReasonWhenFalse                   // when is false (Kept: what it created is left as it is)
	ReasonNotTargeted                 // -target left it out
	ReasonOrphan                      // it is no longer in the configuration
	ReasonDestroy                     // destroy was requested
	ReasonRecordOnly                  // run-to-completion: only its record is removed
)

var reasonNames = [...]string{
	ReasonNew:              "new",
	ReasonNeverRan:         "never_ran",
	ReasonReplaceRequested: "replace_requested",
	ReasonGone:             "gone",
	ReasonDrift:            "drift",
	ReasonFilesChanged:     "files_changed",
	ReasonAttrsChanged:     "attrs_changed",
	ReasonInputsChanged:    "inputs_changed",
	ReasonForceNew:         "force_new",
	ReasonFailedLastTime:   "failed_last_time",
	ReasonUpstreamChanged:  "upstream_changed",
	ReasonUpstreamFiles:    "upstream_may_change_files",
	ReasonWhenFalse:        "when_false",
	ReasonNotTargeted:      "not_targeted",
	ReasonOrphan:           "orphan",
	ReasonDestroy:          "destroy",
	ReasonRecordOnly:       "record_only",
}

// ReasonCodes lists every reason code, in order.
func ReasonCodes() []ReasonCode {
	out := make([]ReasonCode, 0, len(reasonNames)-1)
	for c := ReasonNew; int(c) < len(reasonNames); c++ {
		out = append(out, c)
	}
	return out
}

func (c ReasonCode) String() string {
	if c > 0 && int(c) < len(reasonNames) {
		return reasonNames[c]
	}
	return fmt.Sprintf("ReasonCode(%d)", int(c))
}

// MarshalText encodes the code by name.
func (c ReasonCode) MarshalText() ([]byte, error) {
	if c <= 0 || int(c) >= len(reasonNames) {
		return nil, fmt.Errorf("unknown plan reason %d", int(c))
	}
	return []byte(reasonNames[c]), nil
}

// UnmarshalText decodes a code name.
func (c *ReasonCode) UnmarshalText(b []byte) error {
	for i, n := range reasonNames {
		if i > 0 && n == string(b) {
			*c = ReasonCode(i)
			return nil
		}
	}
	return fmt.Errorf("unknown plan reason %q (the plan may come from a newer ansflow; make a new plan)", b)
}

// Reason is one reason of a change: its code and what the code is about.
// Only the parameters the code names are set.
type Reason struct {
	Code ReasonCode `json:"code"`
	// Attrs are the attributes it is about: those changed (in the order of
	// the change's Attrs), those that force replacement, the one that
	// drifted.
	Attrs []string `json:"attrs,omitempty"`
	// Unknown are the changed attributes whose new values are known only
	// after apply.
	Unknown []string `json:"unknown,omitempty"`
	// Causes are the references whose values changed since the last apply,
	// for the changed attributes.
	Causes []Cause `json:"causes,omitempty"`
	// Upstream are the first few direct dependencies this plan changes;
	// MoreUpstream counts the rest.
	Upstream     []Upstream `json:"upstream,omitempty"`
	MoreUpstream int        `json:"more_upstream,omitempty"`
	// File is the file whose contents changed (a key of the step's file
	// hashes: a path, or a name the provider gives a set of files).
	File string `json:"file,omitempty"`
	// Before and After are a drifted attribute's value in the state and
	// in the real object, in display form.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// ExitCode is the exit code of the failed last run, when it had one.
	ExitCode *int `json:"exit_code,omitempty"`
	// Kept says that what the step created is left as it is.
	Kept bool `json:"kept,omitempty"`
}

// Cause is a reference whose value changed since the last apply, with
// both values in display form (sensitive ones hidden, long ones hashed).
type Cause struct {
	Ref    string `json:"ref"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Upstream is a dependency the plan changes, with what it does to it.
type Upstream struct {
	Addr   string `json:"addr"`
	Action Action `json:"action"`
}

// upstreamChanges are the direct dependencies a plan changes: the first
// few, and how many more.
type upstreamChanges struct {
	shown []Upstream
	more  int
}

// upstreamShown is how many changed dependencies a reason names.
const upstreamShown = 3

func (u upstreamChanges) any() bool { return len(u.shown) > 0 }

// reason is a reason of code naming the changed dependencies.
func (u upstreamChanges) reason(code ReasonCode) Reason {
	return Reason{Code: code, Upstream: u.shown, MoreUpstream: u.more}
}

// attrsReason says which attributes changed (none of them drift) and, when
// known, because of which references (causes); for those known only after
// apply, because of which upstream changes.
func attrsReason(attrs []AttrChange, upstream upstreamChanges, causes []Cause) Reason {
	r := Reason{Code: ReasonAttrsChanged}
	for _, a := range attrs {
		switch {
		case a.Drift:
		case a.Unknown:
			r.Unknown = append(r.Unknown, a.Path)
		default:
			r.Attrs = append(r.Attrs, a.Path)
		}
	}
	if len(r.Attrs) > 0 {
		r.Causes = causes
	}
	if len(r.Unknown) > 0 {
		r.Upstream, r.MoreUpstream = upstream.shown, upstream.more
	}
	return r
}
