// Package config reads ansflow pipeline directories: it parses the HCL files,
// validates them statically (block and attribute names, literal types,
// references between steps, variables and locals) and evaluates expressions
// for the engine: variable values, locals, for_each, step inputs, meta-
// arguments and outputs.
//
// Every function that reads user files returns hcl.Diagnostics rather than
// error; each diagnostic has a short summary, a detail sentence saying how to
// fix the problem, and a subject range in the user's files.
package config
