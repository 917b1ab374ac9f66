package cmd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// completionShells are the shells ansflow writes completion scripts for.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

func newCompletionCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Prints a script that makes your shell complete ansflow's commands and flags.

  bash:        source <(ansflow completion bash)
               (or save it as /etc/bash_completion.d/ansflow; needs bash-completion v2)
  zsh:         ansflow completion zsh > "${fpath[1]}/_ansflow"
               (with compinit enabled; start a new shell)
  fish:        ansflow completion fish > ~/.config/fish/completions/ansflow.fish
  powershell:  ansflow completion powershell | Out-String | Invoke-Expression`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && !slices.Contains(completionShells, args[0]) {
				return usageError(cmd, fmt.Sprintf("ansflow writes completion scripts for %s, not %q", strings.Join(completionShells, ", "), args[0]))
			}
			if len(args) != 1 {
				return usageError(cmd, "ansflow completion needs the shell: one of "+strings.Join(completionShells, ", "))
			}
			return nil
		},
		ValidArgs: completionShells,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(app.Stdout, true)
			case "zsh":
				return root.GenZshCompletion(app.Stdout)
			case "fish":
				return root.GenFishCompletion(app.Stdout, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(app.Stdout)
			}
			return fmt.Errorf("unknown shell %q; use one of bash, zsh, fish, powershell", args[0])
		},
	}
}
