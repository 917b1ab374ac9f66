package cmd

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// This file keeps cobra's and pflag's wording away from users: argument and
// flag mistakes are explained in ansflow's words, with the usage line, and
// help lists flags the way they are written (-out=FILE).

// usageError is a mistake on the command line: the message, then the usage
// line of the command.
func usageError(cmd *cobra.Command, msg string) error {
	if !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return &exitError{code: 1, msg: fmt.Sprintf("Error: %s\n\nUsage: %s\nRun '%s -help' for more.", msg, cmd.UseLine(), cmd.CommandPath())}
}

// exactArgs is cobra.ExactArgs with a message that names the arguments.
func exactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return usageError(cmd, argsProblem(cmd, args))
	}
}

// useArgs splits the arguments named in a command's Use line into required
// and optional ones (in [brackets]), leaving out [flags].
func useArgs(cmd *cobra.Command) (required, optional []string) {
	fields := strings.Fields(cmd.Use)
	for _, f := range fields[1:] {
		switch {
		case f == "[flags]":
		case strings.HasPrefix(f, "["):
			optional = append(optional, strings.Trim(f, "[]"))
		default:
			required = append(required, f)
		}
	}
	return required, optional
}

// argsProblem says what is wrong with the arguments given to cmd.
func argsProblem(cmd *cobra.Command, args []string) string {
	required, optional := useArgs(cmd)
	path := cmd.CommandPath()
	if len(args) < len(required) {
		return fmt.Sprintf("%s needs %s", path, strings.Join(required[len(args):], " "))
	}
	all := append(required, optional...)
	var extra []string
	for _, a := range args[min(len(args), len(all)):] {
		extra = append(extra, fmt.Sprintf("%q", a))
	}
	if len(all) == 0 {
		return fmt.Sprintf("%s takes no arguments, but got %s", path, strings.Join(extra, " "))
	}
	return fmt.Sprintf("%s takes only %s, but got also %s", path, strings.Join(all, " "), strings.Join(extra, " "))
}

// explainArgs wraps every command's argument check so that cobra's own
// messages ("accepts 1 arg(s), received 0") never reach the user, and makes
// commands that only group others print their help (exit 127) or refuse an
// unknown subcommand with a suggestion.
func explainArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		explainArgs(sub)
	}
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = unknownCommand
		c.RunE = func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Help()
			return exitCode(127)
		}
		return
	}
	check := c.Args
	if check == nil {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		err := check(cmd, args)
		var ee *exitError
		if err == nil || errors.As(err, &ee) {
			return err
		}
		return usageError(cmd, argsProblem(cmd, args))
	}
}

func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("Error: %s has no command %q.", cmd.CommandPath(), args[0])
	best, bestDist := "", 3
	for _, sub := range cmd.Commands() {
		if !sub.IsAvailableCommand() {
			continue
		}
		if d := levenshtein.Distance(args[0], sub.Name(), nil); d < bestDist {
			best, bestDist = sub.Name(), d
		}
	}
	if best != "" {
		msg += fmt.Sprintf(" Did you mean %q?", best)
	}
	return &exitError{code: 1, msg: fmt.Sprintf("%s\nRun '%s -help' for the list of commands.", msg, cmd.CommandPath())}
}

// flagError explains a flag pflag could not parse.
func flagError(cmd *cobra.Command, err error) error {
	var (
		notExist *pflag.NotExistError
		invalid  *pflag.InvalidValueError
		required *pflag.ValueRequiredError
		syntax   *pflag.InvalidSyntaxError
	)
	switch {
	case errors.As(err, &notExist):
		name := notExist.GetSpecifiedName()
		if name == "" {
			name = notExist.GetSpecifiedShortnames()
		}
		msg := fmt.Sprintf("%s has no flag -%s", cmd.CommandPath(), name)
		if s := closestFlag(cmd, name); s != "" {
			msg += fmt.Sprintf("; did you mean -%s?", s)
		}
		return usageError(cmd, msg)
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		return usageError(cmd, fmt.Sprintf("-%s=%s: %s", f.Name, invalid.GetValue(), valueProblem(f, errors.Unwrap(invalid))))
	case errors.As(err, &required):
		f := required.GetFlag()
		return usageError(cmd, fmt.Sprintf("-%s needs a value: -%s", f.Name, flagForm(f)))
	case errors.As(err, &syntax):
		return usageError(cmd, fmt.Sprintf("%q is not a flag; write flags as -name or -name=value", syntax.GetSpecifiedFlag()))
	}
	return usageError(cmd, err.Error())
}

// valueProblem says what a flag's value should look like.
func valueProblem(f *pflag.Flag, cause error) string {
	switch f.Value.Type() {
	case "int", "int64", "uint":
		return fmt.Sprintf("not a whole number; write e.g. -%s=4", f.Name)
	case "duration":
		return fmt.Sprintf("not a duration; write e.g. -%s=30s, 5m or 1h30m", f.Name)
	case "bool":
		return fmt.Sprintf("not true or false; write -%s or -%s=false", f.Name, f.Name)
	}
	if cause != nil {
		return cause.Error()
	}
	return "not a valid value"
}

func closestFlag(cmd *cobra.Command, name string) string {
	best, bestDist := "", 3
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if d := levenshtein.Distance(name, f.Name, nil); d < bestDist || strings.HasPrefix(f.Name, name) && bestDist > 1 {
			best, bestDist = f.Name, min(d, 1)
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	return best
}

// flagForm is a flag as users write it: auto-approve, out=FILE.
func flagForm(f *pflag.Flag) string {
	name, _ := pflag.UnquoteUsage(f)
	if f.Value.Type() == "bool" {
		return f.Name
	}
	if name == "" {
		name = "VALUE"
	}
	return f.Name + "=" + name
}

// writeFlags lists flags, one dash each, aligned.
func writeFlags(w io.Writer, fs *pflag.FlagSet) {
	type line struct{ name, form, usage string }
	var lines []line
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		form := "-" + flagForm(f)
		if f.Shorthand != "" {
			form = "-" + f.Shorthand + ", " + form
		}
		_, usage := pflag.UnquoteUsage(f)
		switch {
		case f.Value.Type() == "bool" && f.DefValue == "true":
			usage += fmt.Sprintf(" (default true; turn off with -%s=false)", f.Name)
		case f.Value.Type() != "bool" && f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "[]":
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		lines = append(lines, line{f.Name, form, usage})
		width = max(width, len(form))
	})
	sort.Slice(lines, func(i, j int) bool { return lines[i].name < lines[j].name })
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l.form, l.usage)
	}
}

// usageText is the usage of a command: its line, its subcommands, its flags.
func usageText(c *cobra.Command) string {
	var b strings.Builder
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "Usage: %s COMMAND [flags]\n", c.CommandPath())
		fmt.Fprintln(&b, "\nCommands:")
		pad := 0
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				pad = max(pad, len(sub.Name()))
			}
		}
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				fmt.Fprintf(&b, "  %-*s  %s\n", pad, sub.Name(), sub.Short)
			}
		}
	} else {
		fmt.Fprintf(&b, "Usage: %s\n", c.UseLine())
	}
	if c.HasAvailableLocalFlags() {
		fmt.Fprintln(&b, "\nFlags:")
		writeFlags(&b, c.LocalFlags())
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintln(&b, "\nGlobal flags:")
		writeFlags(&b, c.InheritedFlags())
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\nRun '%s COMMAND -help' for more about a command.\n", c.CommandPath())
	}
	return b.String()
}

// versionInfo is what `version -json` prints.
type versionInfo struct {
	Version  string `json:"ansflow_version"`
	Go       string `json:"go_version"`
	Platform string `json:"platform"`
}

func currentVersion() versionInfo {
	return versionInfo{Version: Version, Go: runtime.Version(), Platform: runtime.GOOS + "_" + runtime.GOARCH}
}
