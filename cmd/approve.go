package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/state"
	"github.com/spf13/cobra"
)

// exitWaitingApproval is apply's exit code when it stopped before a step
// with an approval block that is not approved yet (and nothing failed).
const exitWaitingApproval = 3

// approveOptions are the flags of ansflow approve.
type approveOptions struct {
	reject bool
	by     string
	lock   lockOptions
}

func newApproveCommand(app *App, g *globalOptions) *cobra.Command {
	o := &approveOptions{}
	c := &cobra.Command{
		Use:   "approve ADDR [-reject] [-by=USER]",
		Short: "Approve (or reject) a step that waits for approval",
		Long: `A step with an approval block stops the apply before it runs: apply runs
everything that does not depend on it, then exits with code 3 and says
"ADDR is waiting for approval". approve records the decision, who took it and
when, in the state; the next apply resumes at the step (approved) or fails it
and skips its dependents (rejected).

An approval holds for the inputs the step had when it asked: if they change
before it runs, the next apply asks again. It is used up when the step has run.
When the approval block lists approvers, only they may decide; the user is
$USER, or -by. A request older than the block's timeout has expired and can
no longer be decided: apply again to ask again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApprove(cmd.Context(), app, g, o, args[0])
		},
	}
	c.Flags().BoolVar(&o.reject, "reject", false, "reject the step: the next apply fails it and skips its dependents")
	c.Flags().StringVar(&o.by, "by", "", "record the decision as taken by `USER` (default: $USER)")
	o.lock.register(c.Flags())
	return c
}

// runApprove records a decision on the pending request of addr.
func runApprove(ctx context.Context, app *App, g *globalOptions, o *approveOptions, addr string) error {
	who := o.by
	if who == "" {
		who = currentUser(app)
	}
	store, _, err := openStore(g.dir())
	if err != nil {
		return err
	}
	defer closeStore(store)
	lock, err := o.lock.lock(ctx, store, "approve")
	if err != nil {
		return lockError(err)
	}
	defer func() { _ = lock.Unlock() }()
	st, err := store.Read(ctx)
	if err != nil {
		return err
	}
	decided, err := decide(st.Approvals[addr], addr, who, o.reject, time.Now().UTC())
	if err != nil {
		return err
	}
	if err := store.Append(ctx, st.Lineage, state.Change{Approval: decided}); err != nil {
		return fmt.Errorf("cannot record the decision in the state: %w", err)
	}
	if o.reject {
		fmt.Fprintf(app.Stdout, "Rejected %s (by %s). The next apply fails it and skips the steps that depend on it.\n", addr, who)
		return nil
	}
	fmt.Fprintf(app.Stdout, "Approved %s (by %s). Run `ansflow apply` to resume at it.\n", addr, who)
	return nil
}

// decide checks that who may decide the request and returns the decided
// record.
func decide(req *state.Approval, addr, who string, reject bool, now time.Time) (*state.Approval, error) {
	fail := func(format string, args ...any) error {
		return &exitError{code: 1, msg: "Error: " + fmt.Sprintf(format, args...)}
	}
	switch {
	case req == nil:
		return nil, fail("%s has no approval request. A step asks for approval when apply reaches it; see `ansflow history` for past decisions.", addr)
	case req.Expired(now):
		return nil, fail("the approval request of %s expired at %s; run apply again to ask again.", addr, req.Expires.Local().Format(time.DateTime))
	case req.Status == state.ApprovalExpired:
		return nil, fail("the approval request of %s expired; run apply again to ask again.", addr)
	case !req.MayDecide(who):
		return nil, fail("%s may not decide on %s: its approvers are %s. Ask one of them.", who, addr, strings.Join(req.Approvers, ", "))
	case req.Status == state.ApprovalApproved && !reject:
		return nil, fail("%s is already approved (by %s); run `ansflow apply` to resume.", addr, req.By)
	case req.Status == state.ApprovalRejected && reject:
		return nil, fail("%s is already rejected (by %s).", addr, req.By)
	}
	d := *req
	d.Status, d.By, d.Decided = state.ApprovalApproved, who, now
	if reject {
		d.Status = state.ApprovalRejected
	}
	return &d, nil
}

// currentUser is the name approvals are recorded under: $USER, else the
// account name.
func currentUser(app *App) string {
	if u := app.getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	host, _ := os.Hostname()
	return "unknown@" + host
}

// reportWaiting tells which steps wait for approval and returns the exit
// code apply ends with: 3 when waiting was all that stopped it.
func reportWaiting(w io.Writer, res *engine.ApplyResult, failed bool) error {
	if len(res.Waiting) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	for _, addr := range res.Waiting {
		fmt.Fprintf(w, "%s is waiting for approval (ansflow approve %s)\n", addr, addr)
	}
	if failed || len(res.Failures) > 0 || len(res.Skipped) > 0 || res.Interrupted {
		return exitCode(1)
	}
	return exitCode(exitWaitingApproval)
}

// writeApprovals lists, for history, the requests waiting for a decision
// and the decisions taken, newest first.
func writeApprovals(w io.Writer, st *state.State) error {
	var pending []*state.Approval
	for _, a := range st.Approvals {
		if a.Status == state.ApprovalPending {
			pending = append(pending, a)
		}
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].Addr < pending[j].Addr })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(pending) > 0 {
		fmt.Fprintln(w, "\nWaiting for approval:")
		fmt.Fprintln(tw, "STEP\tASKED\tEXPIRES\tAPPROVERS\tASKED BY RUN")
		for _, a := range pending {
			expires := "never"
			if !a.Expires.IsZero() {
				expires = a.Expires.Local().Format(time.DateTime)
			}
			approvers := "anyone"
			if len(a.Approvers) > 0 {
				approvers = strings.Join(a.Approvers, ", ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", a.Addr, a.Requested.Local().Format(time.DateTime), expires, approvers, a.Run)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(st.ApprovalLog) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nApprovals:")
	fmt.Fprintln(tw, "STEP\tDECISION\tBY\tDECIDED\tASKED BY RUN")
	for i := len(st.ApprovalLog) - 1; i >= 0; i-- {
		a := st.ApprovalLog[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", a.Addr, a.Status, a.By, a.Decided.Local().Format(time.DateTime), a.Run)
	}
	return tw.Flush()
}

// writeApprovalNotes says, after a plan, which steps it runs have an
// approval block: approved for exactly the planned inputs, or not yet, so
// that apply will stop before them.
func writeApprovalNotes(w io.Writer, pl *planned) {
	var notes []string
	for _, c := range pl.plan.Changes {
		step := pl.p.StepAt(c.Step)
		if step == nil || step.Approval == nil || !c.Action.Changes() || c.Action == engine.Delete {
			continue
		}
		if a := pl.st.Approvals[c.Addr]; a != nil && a.Status == state.ApprovalApproved && c.Fingerprint != "" && a.Fingerprint == c.Fingerprint {
			notes = append(notes, fmt.Sprintf("  %s is approved (by %s) for these inputs.", c.Addr, a.By))
			continue
		}
		notes = append(notes, fmt.Sprintf("  %s needs approval: apply stops before it until `ansflow approve %s`.", c.Addr, c.Addr))
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nApprovals:\n%s\n", strings.Join(notes, "\n"))
	}
}
