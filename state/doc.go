// Package state holds the model of what ansflow has applied in a workspace and
// the stores that keep it: versioned JSON with a lineage and a serial, written
// atomically, locked against concurrent runs.
//
// A [State] belongs to one workspace. Its lineage is a random id fixed when
// the state is first created, so that a state from one pipeline is never
// written over another's; its serial grows by one on every change, so that a
// saved plan can tell whether the state moved since it was made.
//
// Stores implement [Store]. [Local], the default, keeps a workspace in the
// pipeline's .ansflow/state directory as a snapshot written atomically by
// Write plus an append-only journal of the changes recorded by Append since
// then; see [Local] for the files and the exact durability guarantees.
// Every store passes the conformance test in package storetest.
//
// Workspaces of a pipeline directory are managed with [CurrentWorkspace],
// [SelectWorkspace], [NewWorkspace], [ListWorkspaces] and [DeleteWorkspace].
package state
