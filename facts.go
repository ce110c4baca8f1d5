package replay

import (
	"encoding/json"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// updateFacts folds a batch into the session's facts.
func (r *Recorder) updateFacts(s *storage.Session, b *Batch, from Client, now time.Time) {
	s.LastSeen = now
	s.Ended = false
	s.EventCount += len(b.Events)
	s.Bytes += int64(b.Bytes)
	if !contains(s.WindowIDs, b.Window) {
		s.WindowIDs = append(s.WindowIDs, b.Window)
		s.Windows = len(s.WindowIDs)
	}
	for k, v := range b.Attrs {
		if s.Attrs == nil {
			s.Attrs = make(map[string]string)
		}
		s.Attrs[k] = v
	}
	for i := range b.Events {
		e := &b.Events[i]
		t := e.Time()
		if s.Start.IsZero() || t.Before(s.Start) {
			s.Start = t
		}
		if t.After(s.End) {
			s.End = t
		}
		if e.Type == Meta {
			var m struct {
				Href   string `json:"href"`
				Width  int    `json:"width"`
				Height int    `json:"height"`
			}
			if json.Unmarshal(e.Data, &m) == nil && m.Href != "" {
				if s.EntryURL == "" {
					s.EntryURL = m.Href
				}
				if len(s.Pages) == 0 || s.Pages[len(s.Pages)-1] != m.Href {
					s.Pages = append(s.Pages, m.Href)
				}
				s.Viewport = storage.Viewport{W: m.Width, H: m.Height}
			}
		}
	}
	s.DurationMs = s.End.Sub(s.Start).Milliseconds()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
