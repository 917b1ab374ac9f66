//go:build !unix

package state

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// tryFlock is not implemented here: the local store's lock needs flock(2).
func tryFlock(*os.File) (bool, error) {
	return false, fmt.Errorf("locking the local state is not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
