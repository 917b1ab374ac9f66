package crashtest

import (
	"os"
	"testing"

	"github.com/ansflow/ansflow/internal/clitest"
)

func TestMain(m *testing.M) { os.Exit(clitest.Main(m).Run()) }
