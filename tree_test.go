package replay

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTreeRoundTripsRecordings(t *testing.T) {
	files, err := filepath.Glob("testdata/recordings/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			var events []Event // unpacks packed events
			require.NoError(t, json.Unmarshal(data, &events))
			require.NotEmpty(t, events)
			for _, e := range events {
				checkTree(t, e.Data)
				whole, err := e.MarshalJSON()
				require.NoError(t, err)
				checkTree(t, whole)
			}
			checkTree(t, data)
		})
	}
}
