package storage_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
)

func TestSessionJSONHasNoNullListsOrMaps(t *testing.T) {
	b, err := json.Marshal(storage.Session{ID: "visit-0001", Site: "shop", State: storage.StatePending})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, key := range []string{"matchedRules", "pages", "errorMessages", "windowIds"} {
		assert.Equal(t, []any{}, m[key], key)
	}
	for _, key := range []string{"events", "attrs"} {
		assert.Equal(t, map[string]any{}, m[key], key)
	}
	assert.NotContains(t, m, "Opaque")
	assert.NotContains(t, m, "opaque")
}

func TestSessionJSONKeepsValues(t *testing.T) {
	s := storage.Session{ID: "visit-0001", MatchedRules: []string{"errors"}, Events: map[string]int{"signup": 2}, Attrs: map[string]string{"userId": "u1"}}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var back storage.Session
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, s.MatchedRules, back.MatchedRules)
	assert.Equal(t, s.Events, back.Events)
	assert.Equal(t, s.Attrs, back.Attrs)
}
