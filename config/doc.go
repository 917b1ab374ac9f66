// Package config reads ansflow pipeline directories: it parses the HCL files,
// validates them statically (block and attribute names, literal types,
// references between steps, variables and locals) and evaluates expressions
// for the engine: variable values, locals, for_each, step inputs, meta-
// arguments and outputs.
//
// The usual sequence is
//
//	p, diags := config.LoadWith(dir, config.Options{Schemas: schemas}) // parse and check
//	vars, diags := p.ResolveVariables(inputs)        // defaults < env < *.auto.vars.hcl < -var/-var-file
//	scope, diags := config.NewScope(p, opts)         // locals, registry/cluster/docker blocks
//	keys, _, diags := scope.ForEach(step)            // instances of a for_each step
//	inputs, meta, diags := scope.EvalStep(step, key, values)
//	outputs, diags := scope.EvalOutputs(values)
//
// Expressions see var.*, local.*, git.{commit,short_commit,branch,tag,dirty},
// run.{number,id}, workspace, path.{root,cwd}, each.{key,value} (in for_each
// steps), registry.NAME, cluster.NAME, docker, step values as TYPE.NAME.ATTR
// (TYPE.NAME["key"].ATTR for for_each steps), the functions of Functions
// and env(name [, default]).
//
// The step types come from the providers: each provider package declares
// the StepSchema of its types next to their implementation, and
// providers/builtin assembles them into the Schemas passed to LoadWith.
//
// Values that must not be shown carry the Sensitive mark; marks propagate
// through expressions, so a string template using a sensitive variable is
// itself sensitive.
//
// Every function that reads user files returns hcl.Diagnostics rather than
// error; each diagnostic has a short summary, a detail sentence saying how to
// fix the problem, and a subject range in the user's files. Bad-input
// fixtures live in testdata/bad (see its README).
package config
